"""An age given as a birth year or date: "nací en 1985", "soy del 90", "15 de marzo de 1985", "1990".

People answer "¿qué edad tienes?" with when they were born as often as with a number. The year alone
leaves the age one of two (the birthday may still be ahead this year), so it is read as that pair and
only an option holding both takes it: "soy del 66" in 2026 is 59 or 60 and the bot asks again. A full
date gives the exact age. Anything else in the message ("mi hijo nació en 2010", "tengo 3 hijos") leaves
it alone: only birth words, a day and a month may surround the year. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.core.text import normalise

_MONTHS = {name: number for number, names in enumerate((
    ("enero", "ene", "january", "jan"), ("febrero", "feb", "february"), ("marzo", "mar", "march"),
    ("abril", "abr", "april", "apr"), ("mayo", "may"), ("junio", "jun", "june"), ("julio", "jul", "july"),
    ("agosto", "ago", "august", "aug"), ("septiembre", "setiembre", "sep", "sept", "september"),
    ("octubre", "oct", "october"), ("noviembre", "nov", "november"), ("diciembre", "dic", "december", "dec"),
), start=1) for name in names}
# Words that say the number is when the applicant was born; a two-digit year needs one of them ("55" is an age).
_BORN = frozenset({"naci", "nacido", "nacida", "nacimiento", "born", "del"})
# Words that may surround a birth year or date without changing what it means.
_AROUND = _BORN | frozenset({"yo", "pues", "soy", "fue", "fui", "de", "el", "en", "ano", "mi", "fecha", "es", "i",
                             "was", "in", "on", "the", "my", "birth", "date", "year", "is"})
_OLDEST = 120
# The age question's options (flows/steps/eligibility.py): key, youngest, oldest.
AGE_BRACKETS = (("under_18", 0, 17), ("18_59", 18, 59), ("60_64", 60, 64), ("65_plus", 65, _OLDEST))


def age_bracket(age: int) -> str | None:
    """The age question's option an age falls in ("18_59"), so a CURP's age can be set against the answer."""
    return next((key for key, youngest, oldest in AGE_BRACKETS if youngest <= age <= oldest), None)


def age_differs(data: Mapping[str, Any]) -> bool:
    """The CURP's age (once known) is not in the option chosen at "how old are you?": staff confirm eligibility."""
    age, chosen = data.get("age"), data.get("elig_age")
    return isinstance(age, int) and bool(chosen) and age_bracket(age) != chosen


def birth_age(text: str, today: date) -> str | None:
    """The age a birth year or date gives today, as words the age options read ("tengo 40 a 41 años"); else None."""
    words = normalise(text).split()
    if not words or any(w not in _AROUND and w not in _MONTHS and not w.isdigit() for w in words):
        return None
    numbers = [w for w in words if w.isdigit()]
    month = next((_MONTHS[w] for w in words if w in _MONTHS), None)
    if month is not None and len(numbers) in (1, 2) and len(numbers[-1]) in (2, 4):
        day, year = (int(numbers[0]), numbers[-1]) if len(numbers) == 2 else (None, numbers[-1])
    elif len(numbers) == 3 and len(numbers[2]) in (2, 4):  # 15/03/1985, day first as in Mexico
        day, month, year = int(numbers[0]), int(numbers[1]), numbers[2]
    elif len(numbers) == 1 and (len(numbers[0]) == 4 or (len(numbers[0]) == 2 and _BORN & set(words))):
        day, year = None, numbers[0]
    else:
        return None
    born = _full_year(year, today)
    if born is None or (month is not None and not 1 <= month <= 12):
        return None
    if day is not None and month is not None:
        try:
            birthday = date(born, month, day)
        except ValueError:
            return None
        if birthday > today:
            return None
        age = today.year - born - ((today.month, today.day) < (month, day))
        return f"tengo {age} anos"
    return f"tengo {max(0, today.year - born - 1)} a {today.year - born} anos"


def _full_year(year: str, today: date) -> int | None:
    """ "1985" -> 1985; "85" -> 1985 and "05" -> 2005 (a year not yet reached this century is the last one)."""
    if len(year) == 2:
        century = today.year // 100 * 100
        full = century + int(year) if century + int(year) <= today.year else century - 100 + int(year)
    else:
        full = int(year)
    return full if today.year - _OLDEST <= full <= today.year else None
