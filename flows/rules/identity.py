"""How Mexican identifiers relate to each other and to a name, so a typo is caught before IMSS rejects it.

A CURP starts with letters taken from the name (RENAPO's rules), an RFC shares the CURP's first 10
characters, and an NSS carries the birth year. These helpers compare them generously: a mismatch here
becomes a gentle note or a specific error in `flows.rules.validators`, never a guess about someone's identity.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.mx import curp as stdnum_curp

# Words RENAPO skips in compound names and surnames ("de la Cruz", "del Valle", "Mc Gregor").
_PARTICLES = frozenset(
    "DA DAS DE DEL DER DI DIE DD EL LA LOS LAS LE LES MAC MC VAN VON Y".split()
)
# A first given name RENAPO skips when a second one follows ("María Fernanda" counts as Fernanda).
_COMMON_FIRST_NAMES = frozenset({"MARIA", "MA", "M", "MX", "JOSE", "J"})
_VOWELS = frozenset("AEIOU")


def today_from(data: Mapping[str, Any]) -> date:
    """The conversation's date: the engine stores it as `_today` because parsers receive no clock."""
    value = data.get("_today")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    return date.today()


def age_on(birth: date, today: date) -> int:
    """Whole years lived on `today`."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _key(word: str) -> str:
    """A word as RENAPO writes it: upper case, Ñ as X, no accents, apostrophes or hyphens."""
    upper = word.upper().replace("Ñ", "X")
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", upper) if not unicodedata.combining(ch))
    return "".join(ch for ch in bare if "A" <= ch <= "Z")


def _words(full_name: str) -> list[str]:
    keys = [key for key in (_key(word) for word in full_name.split()) if key]
    kept = [key for key in keys if key not in _PARTICLES]
    return kept if len(kept) >= 2 else keys


def _initials(given: Sequence[str], paterno: str, materno: str | None) -> str:
    first = given[1] if len(given) > 1 and given[0] in _COMMON_FIRST_NAMES else given[0]
    vowel = next((ch for ch in paterno[1:] if ch in _VOWELS), "X")
    return paterno[0] + vowel + (materno[0] if materno else "?") + first[0]


def _same_initials(expected: str, curp: str) -> bool:
    # "?" stands for a mother's surname the person did not type; RENAPO replaces the second letter of
    # an offensive word ("BUEY") with X, so an X there is always acceptable.
    return all(want in ("?", got) or (index == 1 and got == "X")
               for index, (want, got) in enumerate(zip(expected, curp, strict=True)))


def name_matches_curp(full_name: str, curp: str) -> bool:
    """Whether the CURP's first four letters fit the name, read as "names surnames" or "surnames names".

    With only two words the mother's surname is unknown, so its letter is not compared.
    """
    words = _words(full_name)
    if len(words) < 2 or len(curp) < 4:
        return True  # nothing sensible to compare; the name validator already asks for two words
    readings: list[tuple[list[str], str, str | None]]
    if len(words) == 2:
        readings = [([words[0]], words[1], None), ([words[1]], words[0], None)]
    else:
        readings = [(words[:-2], words[-2], words[-1]), (words[2:], words[0], words[1])]
    return any(_same_initials(_initials(given, paterno, materno), curp[:4].upper())
               for given, paterno, materno in readings)


def rfc_matches_curp(rfc: str, curp: str) -> bool:
    """Whether an RFC's first 10 characters agree with the CURP's.

    The CURP writes Ñ and & as X; for an offensive word RENAPO puts X in the second letter and SAT in
    the fourth, so those positions may legitimately differ.
    """
    mine = rfc[:10].upper().replace("Ñ", "X").replace("&", "X")
    theirs = curp[:10].upper()
    if len(mine) < 10 or len(theirs) < 10 or mine[4:] != theirs[4:]:
        return False
    return all(a == b or (index == 1 and b == "X") or (index == 3 and a == "X")
               for index, (a, b) in enumerate(zip(mine[:4], theirs[:4], strict=True)))


def curp_birth_date(curp: str) -> date | None:
    """The birth date a well-formed CURP encodes, or None when those six digits are not a real date."""
    try:
        return stdnum_curp.get_birth_date(curp)
    except (ValidationError, ValueError):
        return None


def nss_birth_year_matches(nss: str, curp: str) -> bool:
    """Whether an NSS's digits 5-6 (the birth year) agree with the CURP's; True when there is no CURP to compare.

    A mismatch is only a plausibility doubt (DOMAIN.md "Identifiers"): some real NSS do not follow the
    layout, so it is confirmed by the applicant and checked by staff, never refused.
    """
    return len(curp) < 6 or nss[4:6] == curp[4:6]


def nss_example(birth_year: str) -> str:
    """A made-up NSS with the given birth year that passes the Luhn check, to show as an example."""
    body = f"1234{birth_year}5678"
    return body + luhn.calc_check_digit(body)
