"""Typed answers read the way people type them on a phone, so a typo is caught kindly before IMSS sees it.

Each parser is pure: cleaned value, or an English msgid saying what is wrong plus an example to copy.
Doubtful but possibly right answers (check digits some real documents fail) pass with a note instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from rapidfuzz.distance import DamerauLevenshtein
from stdnum import luhn
from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

from bot.core.text import normalise, spelled_out_numbers, without_symbols
from flows.model import Parsed
from flows.rules.ages import age_differs
from flows.rules.border_zone import zone_of_postal_code
from flows.rules.identity import (
    age_on,
    curp_birth_date,
    name_matches_curp,
    nss_birth_year_matches,
    rfc_matches_curp,
    today_from,
)
from locales import N_

Data = Mapping[str, Any]

NAME_EXAMPLE = "María López Hernández"
CURP_EXAMPLE = "GODE561231HDFMZD08"
RFC_EXAMPLE = "GODE561231GR8"
NSS_EXAMPLE = "12345678903"
EMAIL_EXAMPLE = "ana.lopez@gmail.com"
PHONE_EXAMPLE = "55 1234 5678"
POSTAL_CODE_EXAMPLE = "06600"
ADDRESS_EXAMPLE = "Av. Juárez 123, Col. Centro, Cuauhtémoc"
INCOME_EXAMPLE = "$12,500"
MAX_INCOME = 10_000_000
LOWEST_MONTHLY = 1_000  # below this no one's month is meant (a day's or a week's pay is); the base is a minimum wage

_SEPARATORS = re.compile(r"[\s\-_.]+")
_NAME_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "van", "von", "da", "di"})
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*|[^\W\d_]{1,2}\.", re.UNICODE)
_NO_NSS = frozenset({"no", "ninguno", "ninguna", "nada", "omitir", "saltar", "skip", "none", "nope", "nop", "nel",
                     "nunca"})
COMMON_DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "yahoo.com", "yahoo.com.mx", "icloud.com", "live.com",
                  "live.com.mx", "hotmail.es", "outlook.es", "prodigy.net.mx", "mail.com", "aol.com", "msn.com",
                  "me.com", "protonmail.com", "proton.me", "gmx.com", "ymail.com")
_EMAIL_TYPOS = {
    "gmial.com": "gmail.com", "gmal.com": "gmail.com", "gmai.com": "gmail.com", "gamil.com": "gmail.com",
    "gnail.com": "gmail.com", "gmail.co": "gmail.com", "gmail.cm": "gmail.com", "gmail.com.mx": "gmail.com",
    "gmail": "gmail.com", "hotmial.com": "hotmail.com", "hotmal.com": "hotmail.com", "hotmai.com": "hotmail.com",
    "hotmail.co": "hotmail.com", "hotmail": "hotmail.com", "outlok.com": "outlook.com",
    "outllok.com": "outlook.com", "yaho.com": "yahoo.com", "yahoo.com.mz": "yahoo.com.mx",
}
_INCOME_NOISE = re.compile(r"\$|\b(?:mxn|m\.?n\.?|pesos?|al mes|mensual(?:es)?|aprox\w*\.?|como|unos|unas|gano|"
                           r"mas o menos|m[aá]s o menos|alrededor de|around|about|a month|per month|monthly|i earn|"
                           r"i make|pues|netos?|libres?|me va|me queda|en|y cacho|y pico|y feria)(?=\s|$)")
_PER_YEAR = re.compile(r"\b(?:al a[ñn]o|por a[ñn]o|cada a[ñn]o|anual(?:es)?|a year|per year|yearly)\b")
# "entre 8 y 10 mil", "de 10 a 12 mil", "10-12 mil": the bot asked for "más o menos", so the middle, with a note.
_INCOME_RANGE = re.compile(r"(?:entre|de|between)?\s*(\d[\d.,]*)\s*(mil|k)?\s*(?:y|a|-|–|and|to)\s*(\d[\d.,]*)"
                           r"\s*(mil|k)?")
_NO_INCOME = re.compile(r"\b(?:no gano nada|no gano ahorita|no tengo ingresos?|nada ahorita|cero|i earn nothing|"
                        r"no income)\b")
# An income said per week or per fortnight: counted per month (52 weeks ÷ 12; two fortnights), with a note.
_PER_WEEK = re.compile(r"\b(?:a la semana|por semana|cada semana|semanal(?:es)?|a week|per week|weekly)\b")
_PER_FORTNIGHT = re.compile(r"\b(?:a la quincena|por quincena|cada quincena|quincenal(?:es)?)\b")
# "S/N", "sin número", "domicilio conocido" (a usual rural address: the town knows the house)
_NO_NUMBER = re.compile(r"\bs\s*/\s*n\b|\bsin n[uú]m|\bconocido\b", re.IGNORECASE)
_INCOME = re.compile(r"(-?)\s*(\d[\d.,\s]*?)\s*(mil|k)?")
_THOUSANDS_AND = re.compile(r"\b(\d{1,3})\s*mil\s+(\d{1,3})\b")  # "12 mil 500"
# "No gano fijo", "varía", "depende del mes": an income that changes, with no number to read.
_CHANGING_INCOME = re.compile(r"\b(?:fijo|fija|varia|variable|depende|a veces|cambia|no es igual|it varies|depends)\b")
_RELATIONSHIPS = {
    "spouse": {"esposa", "esposo", "conyuge", "pareja", "concubina", "concubino", "marido", "mujer", "senora",
               "wife", "husband", "spouse", "partner"},
    "child": {"hijo", "hija", "son", "daughter", "child"},
    "father": {"padre", "papa", "father", "dad"},
    "mother": {"madre", "mama", "mother", "mom"},
}


def _error(msgid: str, **values: Any) -> Parsed:
    return Parsed(error=msgid, error_values=values)


def _collapse(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _title(word: str, first: bool) -> str:
    if not first and word.lower() in _NAME_PARTICLES:
        return word.lower()
    return re.sub(r"[^\W\d_]+", lambda part: part.group().capitalize(), word.lower())


def parse_full_name(text: str, data: Data) -> Parsed:
    """A person's name and surnames, title-cased ("maría DE la cruz" -> "María de la Cruz")."""
    name = _collapse(without_symbols(text)).replace("’", "'")
    words = name.split()
    if not all(_NAME_WORD.fullmatch(word) for word in words):
        return _error(N_("Please write your name with letters only (accents, ñ, apostrophes and hyphens "
                         "are fine), for example: *%(example)s*"), example=NAME_EXAMPLE)
    if len(words) < 2:
        return _error(N_("I need your first name and your surnames, for example: *%(example)s*"),
                      example=NAME_EXAMPLE)
    if not 5 <= len(name) <= 120:
        return _error(N_("Your full name should have between 5 and 120 characters, for example: "
                         "*%(example)s*"), example=NAME_EXAMPLE)
    return Parsed(value=" ".join(_title(word, index == 0) for index, word in enumerate(words)))


def parse_curp(text: str, data: Data) -> Parsed:
    """An 18-character CURP; stores the birth date, age, sex (H/M) and birth state it encodes."""
    curp = _SEPARATORS.sub("", text).upper()
    if len(curp) != 18:
        return _error(N_("Your CURP has %(count)s characters, but it should have 18. Please check it, "
                         "for example: *%(example)s*"), count=len(curp), example=CURP_EXAMPLE)
    if "Ñ" in curp:
        return _error(N_("In the CURP the letter Ñ is always written as X. Please send it again with X "
                         "instead of Ñ, for example: *%(example)s*"), example=CURP_EXAMPLE)
    bad_date = _error(N_("The birth date in your CURP (characters 5 to 10: year, month, day) is not a "
                         "real date. Please check it, for example: *%(example)s*"), example=CURP_EXAMPLE)
    try:
        stdnum_curp.validate(curp)
    except InvalidChecksum:
        return _error(N_("The last digit of your CURP doesn't match the rest. Please check each character "
                         "(watch out for O and 0, I and 1), for example: *%(example)s*"), example=CURP_EXAMPLE)
    except ValidationError as problem:
        if isinstance(problem, InvalidComponent) and curp_birth_date(curp) is None:
            return bad_date
        return _error(N_("That doesn't look like a CURP: 4 letters, 6 digits, H or M, 5 letters, then a "
                         "letter or digit and a final digit. For example: *%(example)s*"), example=CURP_EXAMPLE)
    birth = stdnum_curp.get_birth_date(curp)
    today = today_from(data)
    if birth > today and curp[16] == "O":  # a letter there means born in 2000 or later: most likely a zero
        return _error(N_("Character 17 of your CURP is the letter O: if it is a zero, write 0. For example: "
                         "*%(example)s*"), example=CURP_EXAMPLE)
    if birth > today:
        return bad_date
    notes: tuple[str, ...] = ()
    if data.get("full_name") and not name_matches_curp(str(data["full_name"]), curp):
        notes = (N_("Please check that your CURP and your name are written exactly as in your RENAPO "
                    "record: the first letters of the CURP don't seem to match your name."),)
    sex = {"M": "H", "F": "M"}[stdnum_curp.get_gender(curp)]  # stdnum says M/F; the CURP says H/M
    age = age_on(birth, today)
    note_values: dict[str, Any] = {}
    if age_differs({**data, "age": age}):  # the questionnaire's age is not the CURP's: staff are told too
        notes += (N_("Your CURP says you are %(age)s years old: an advisor will confirm your eligibility with that "
                     "age."),)
        note_values["age"] = age
    return Parsed(value=curp, notes=notes, note_values=note_values, updates={
        "birth_date": birth.isoformat(), "age": age, "sex": sex, "birth_state": curp[11:13],
    })


def parse_rfc(text: str, data: Data) -> Parsed:
    """A persona física RFC (13 characters) that agrees with the CURP; a doubtful check digit is a note."""
    rfc = _SEPARATORS.sub("", text).upper()
    if len(rfc) == 12:
        return _error(N_("An RFC with 12 characters belongs to a company. I need your personal RFC, which "
                         "has 13, for example: *%(example)s*"), example=RFC_EXAMPLE)
    if len(rfc) == 10:
        return _error(N_("Your RFC is missing its last 3 characters (the homoclave). You'll find them on "
                         "your Constancia de Situación Fiscal, for example: *%(example)s*"), example=RFC_EXAMPLE)
    if len(rfc) != 13:
        return _error(N_("Your RFC has %(count)s characters, but a personal RFC has 13, for example: "
                         "*%(example)s*"), count=len(rfc), example=RFC_EXAMPLE)
    if not stdnum_rfc.is_valid(rfc, validate_check_digits=False):
        return _error(N_("That doesn't look like a valid RFC: 4 letters, your birth date in 6 digits and 3 "
                         "letters or digits, for example: *%(example)s*"), example=RFC_EXAMPLE)
    curp = str(data.get("curp") or "")
    if curp and not rfc_matches_curp(rfc, curp):
        return _error(N_("The first 10 characters of your RFC should be the same as in your CURP: "
                         "*%(expected)s*. Please check your RFC and send it again."), expected=curp[:10])
    if stdnum_rfc.is_valid(rfc, validate_check_digits=True):
        return Parsed(value=rfc, updates={"rfc_check_digit_ok": True})
    return Parsed(value=rfc, updates={"rfc_check_digit_ok": False}, notes=(N_(
        "I saved your RFC, but its last characters don't pass the usual check. Please double-check them "
        "against your Constancia de Situación Fiscal."),))


GENERAL_PUBLIC_RFC = "XAXX010101000"  # SAT's generic RFC for an invoice to the general public
_OWN_RFC = re.compile(r"\b(?:el mio|el mismo|mi rfc|al mismo|a mi nombre|el de arriba|el que te di|mine|my rfc|"
                      r"the same)\b")
_GENERAL_PUBLIC = re.compile(r"\b(?:publico en general|general public)\b")


def parse_invoice_rfc(text: str, data: Data) -> Parsed:
    """The RFC an invoice goes to: the applicant's ("el mío"), someone else's, a company's (12 characters) or the
    general public's; checked like the applicant's, without comparing it with the applicant's CURP."""
    said = normalise(text)
    if _GENERAL_PUBLIC.search(said):
        return Parsed(value=GENERAL_PUBLIC_RFC)
    if _OWN_RFC.search(said) and data.get("rfc"):
        return Parsed(value=str(data["rfc"]))
    rfc = _SEPARATORS.sub("", text).upper()
    if len(rfc) == 12 and stdnum_rfc.is_valid(rfc, validate_check_digits=False):
        return Parsed(value=rfc)  # a company's
    if not any(ch.isdigit() for ch in rfc):
        return _error(N_("Write the RFC the invoice goes to (13 characters for a person, 12 for a company), or "
                         "*público en general*, for example: *%(example)s*"), example=RFC_EXAMPLE)
    parsed = parse_rfc(text, {})
    return Parsed(value=parsed.value, error=parsed.error, error_values=parsed.error_values)


def parse_nss(text: str, data: Data) -> Parsed:
    """The optional 11-digit NSS; "no lo tengo" skips it, a failed Luhn check is flagged for staff."""
    said = normalise(text)
    if said == "n a" or (not any(ch.isdigit() for ch in said) and set(said.split()) & _NO_NSS):
        return Parsed(value=None, updates={"nss_status": "none", "flag_nss_birth_year": False})
    nss = _SEPARATORS.sub("", text)
    if not nss.isascii() or not nss.isdigit():
        return _error(N_("An NSS has only numbers: 11 digits, for example *%(example)s*. If you don't have "
                         "it, just write *no*."), example=NSS_EXAMPLE)
    if len(nss) != 11:
        return _error(N_("Your NSS has %(count)s digits, but it should have 11, for example *%(example)s*. "
                         "If you don't have it, just write *no*."), count=len(nss), example=NSS_EXAMPLE)
    # A birth year that differs from the CURP's is a doubt, not an error (DOMAIN.md "Identifiers"): the
    # applicant confirms it in the next step and the case is flagged for staff.
    year_differs = not nss_birth_year_matches(nss, str(data.get("curp") or ""))
    flags = {"flag_nss_birth_year": year_differs}
    if luhn.is_valid(nss):
        return Parsed(value=nss, updates={"nss_status": "ok", **flags})
    return Parsed(value=nss, updates={"nss_status": "luhn_failed", "flag_nss_check": True, **flags}, notes=(N_(
        "I saved your NSS, but it doesn't pass the usual check. Please double-check it; our team will "
        "confirm it too."),))


def parse_email(text: str, data: Data) -> Parsed:
    """An email address (syntax only, no network); common domain typos are pointed out."""
    address = text.strip()
    if any(ch.isspace() for ch in address):
        return _error(N_("Email addresses have no spaces. Please send it again without them, for example: "
                         "*%(example)s*"), example=EMAIL_EXAMPLE)
    if "@" not in address:
        return _error(N_("Your email is missing the *@*. Please send it like this: *%(example)s*"),
                      example=EMAIL_EXAMPLE)
    domain = address.rpartition("@")[2].lower()
    suggestion = _EMAIL_TYPOS.get(domain) or (domain[:-4] + ".com" if domain.endswith(".con") else None)
    if suggestion:
        return _error(N_("I think there's a typo: did you mean *%(suggestion)s* instead of *%(typed)s*? "
                         "Please send your email again, for example: *%(example)s*"),
                      suggestion=suggestion, typed=domain, example=EMAIL_EXAMPLE)
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return _error(N_("That email doesn't look right. Please check it and send it like this: "
                         "*%(example)s*"), example=EMAIL_EXAMPLE)
    near = _near_common_domain(domain)
    if near is None:
        return Parsed(value=checked.normalized)
    # One letter off a common provider ("gmil.com"): said before the address is confirmed, not refused, since a
    # company's own domain may be that close.
    return Parsed(value=checked.normalized, notes=(N_("Check the end of it: did you mean *%(suggestion)s*?"),),
                  note_values={"suggestion": near})


def _near_common_domain(domain: str) -> str | None:
    """The common provider a domain is one or two typos away from ("yhaoo.com" -> "yahoo.com"), if only one."""
    if domain in COMMON_DOMAINS or len(domain) < 6:
        return None
    distances = sorted((DamerauLevenshtein.distance(domain, known), known) for known in COMMON_DOMAINS)
    (closest, known), (runner_up, _) = distances[0], distances[1]
    return known if closest <= 2 and closest < runner_up else None


def parse_phone(text: str, data: Data) -> Parsed:
    """A phone number, Mexican unless it starts with another +country code; stored in E.164."""
    digits = re.sub(r"\D", "", text)
    # Mexico dropped the mobile "1" after +52 and the 044/045 prefixes in 2019; people still type them.
    if len(digits) == 13 and digits.startswith("521"):
        text = "+52" + digits[3:]
    elif len(digits) == 13 and digits[:3] in ("044", "045"):
        text = digits[3:]
    elif len(digits) == 12 and digits.startswith("01"):  # the old long-distance prefix: "01 55 1234 5678"
        text = digits[2:]
    try:
        number = phonenumbers.parse(text, "MX")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return _error(N_("That doesn't look like a valid phone number. Please send your 10-digit number, "
                         "for example: *%(example)s*"), example=PHONE_EXAMPLE)
    return Parsed(value=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def parse_postal_code(text: str, data: Data) -> Parsed:
    """A 5-digit Mexican postal code ("C.P." and spaces are ignored)."""
    code = re.sub(r"^c\.?\s*p\.?:?", "", "".join(text.split()), flags=re.IGNORECASE)
    # Mexican codes start with a state prefix from 01 to 99, so "00..." cannot exist.
    if not (code.isascii() and code.isdigit() and len(code) == 5) or code.startswith("00"):
        return _error(N_("A postal code has exactly 5 digits, for example: *%(example)s*"),
                      example=POSTAL_CODE_EXAMPLE)
    # The postal code settles the border zone when its municipality is known (issue 15); else the bot asks.
    zone = zone_of_postal_code(code)
    return Parsed(value=code, updates={"border_zone": zone} if zone else {})


def parse_address(text: str, data: Data) -> Parsed:
    """A street address with a street name and a number ("S/N" counts: many homes have none)."""
    address = _collapse(text)
    if _NO_NUMBER.search(address) and len(address.split()) <= 2:  # "domicilio conocido" alone: which town?
        return _error(N_("Please add your town and municipality, for example: *Domicilio conocido, San Pedro, "
                         "Oaxaca*"))
    if not 10 <= len(address) <= 200:
        return _error(N_("Please write your address in 10 to 200 characters: street, number, neighbourhood "
                         "and municipality, for example: *%(example)s*"), example=ADDRESS_EXAMPLE)
    if not any(ch.isalpha() for ch in address):
        return _error(N_("Please include the name of your street, for example: *%(example)s*"),
                      example=ADDRESS_EXAMPLE)
    if not (any(ch.isdigit() for ch in spelled_out_numbers(address)) or _NO_NUMBER.search(address)):
        return _error(N_("Please include your street number (or *S/N* if it has none), for example: "
                         "*%(example)s*"), example=ADDRESS_EXAMPLE)
    return Parsed(value=address)


def parse_occupation(text: str, data: Data) -> Parsed:
    """What the person does for a living, in their own words."""
    occupation = _collapse(text)
    if set(normalise(occupation).split()) <= _NO_OCCUPATION:  # "nada ahorita": no occupation to record
        return _error(N_("Tell me what you do for a living in a few words (3 to 80 characters), for "
                         "example: *carpenter* or *I sell food*"))
    if not 3 <= len(occupation) <= 80 or not any(ch.isalpha() for ch in occupation):
        return _error(N_("Tell me what you do for a living in a few words (3 to 80 characters), for "
                         "example: *carpenter* or *I sell food*"))
    return Parsed(value=occupation)


def _amount(number: str, thousands: bool) -> float | None:
    """Read "12,500.50", "12.500,50", "9 500" or, with a "mil"/"k" multiplier, "12.5" and "12,5"."""
    if " " in number and not re.fullmatch(r"\d{1,3}( \d{3})+([.,]\d{1,2})?", number):
        return None
    number = number.replace(" ", "")
    marks = [ch for ch in number if ch in ".,"]
    if not marks:
        return float(number)
    decimal = marks[-1]
    whole, _, fraction = number.rpartition(decimal)
    group = "." if decimal == "," else ","
    if len(set(marks)) == 1 and not thousands and re.fullmatch(rf"[1-9]\d{{0,2}}(\{decimal}\d{{3}})+", number):
        return float(number.replace(decimal, ""))  # "12,500" or "12.500": thousands, not cents
    if re.fullmatch(rf"\d{{1,3}}(\{group}\d{{3}})*|\d+", whole) and re.fullmatch(r"\d{1,2}", fraction):
        return float(whole.replace(group, "") + "." + fraction)
    return None


WEEKLY_INCOME = N_("I counted %(amount)s a week as about %(monthly)s a month. If that is not right, write your "
                   "monthly income.")
FORTNIGHTLY_INCOME = N_("I counted %(amount)s a fortnight as %(monthly)s a month. If that is not right, write your "
                        "monthly income.")
YEARLY_INCOME = N_("I counted %(amount)s a year as %(monthly)s a month. If that is not right, write your monthly "
                   "income.")
RANGE_INCOME = N_("I took the middle of %(low)s and %(high)s: %(monthly)s a month. If that is not right, write your "
                  "monthly income.")
CHANGING_INCOME = N_("If your income changes from month to month, write about what you earn in a usual month, "
                     "just the number, for example: *%(example)s*")


def parse_income(text: str, data: Data) -> Parsed:
    """A monthly income in pesos: "$12,500", "12 mil", "12.5k", "$ 9 500", "ocho mil". Not clamped here."""
    said = spelled_out_numbers(text.lower())
    per, times = (WEEKLY_INCOME, 52 / 12) if _PER_WEEK.search(said) else \
        (FORTNIGHTLY_INCOME, 2.0) if _PER_FORTNIGHT.search(said) else \
        (YEARLY_INCOME, 1 / 12) if _PER_YEAR.search(said) else (None, 1.0)
    said = _PER_YEAR.sub(" ", _PER_FORTNIGHT.sub(" ", _PER_WEEK.sub(" ", said)))
    cleaned = _INCOME_NOISE.sub(" ", said).strip().rstrip(".").strip()
    cleaned = _THOUSANDS_AND.sub(lambda m: str(int(m.group(1)) * 1000 + int(m.group(2))), cleaned)
    if per is None and (ranged := _income_range(cleaned)) is not None:
        return ranged
    match = _INCOME.fullmatch(cleaned)
    amount = _amount(match.group(2), bool(match.group(3))) if match else None
    if (match is None or amount is None) and _NO_INCOME.search(normalise(text)):
        return _error(N_("IMSS enrolls you on a declared monthly income of at least one minimum wage. Write what you "
                         "usually earn in a month, for example: *%(example)s*"), example=INCOME_EXAMPLE)
    if (match is None or amount is None) and _CHANGING_INCOME.search(normalise(text)):
        return _error(CHANGING_INCOME, example=INCOME_EXAMPLE)
    if match is None or amount is None:
        return _error(N_("Please write your monthly income in pesos, just the number, for example: "
                         "*%(example)s*"), example=INCOME_EXAMPLE)
    # "8", "12,5": thousands, most likely; never stored as pesos
    if not match.group(1) and not match.group(3) and 0 < amount < 100:
        return _error(N_("Is that %(thousands)s a month? Please write the whole amount in pesos, for example: "
                         "*%(example)s*"), thousands=f"${amount * 1000:,.0f}", example=INCOME_EXAMPLE)
    amount *= 1000 if match.group(3) else 1
    if match.group(1) or amount <= 0:
        return _error(N_("Your monthly income should be more than zero. Please write it in pesos, for "
                         "example: *%(example)s*"), example=INCOME_EXAMPLE)
    if per is None and 100 <= amount < LOWEST_MONTHLY:
        return _error(N_("%(amount)s seems low for a whole month. If it is per day or per week, say so (e.g. *2 mil a "
                         "la semana*), or write your monthly income, for example: *%(example)s*"),
                      amount=f"${amount:,.0f}", example=INCOME_EXAMPLE)
    monthly = round(amount * times, 2)
    if monthly > MAX_INCOME:
        return _error(N_("That amount seems too high for a monthly income. Please check it, for example: "
                         "*%(example)s*"), example=INCOME_EXAMPLE)
    if per is None:
        return Parsed(value=monthly)
    return Parsed(value=monthly, notes=(per,), note_values={"amount": f"${amount:,.0f}", "monthly": f"${monthly:,.0f}"})


def _income_range(cleaned: str) -> Parsed | None:
    """ "entre 8 y 10 mil" -> 9,000 with a note; None when the text is not a range of two amounts."""
    match = _INCOME_RANGE.fullmatch(cleaned)
    if match is None:
        return None
    low, high = _amount(match.group(1), True), _amount(match.group(3), True)
    if low is None or high is None:
        return None
    thousands = bool(match.group(4) or match.group(2))
    low *= 1000 if match.group(2) or (match.group(4) and low < 1000) else 1
    high *= 1000 if match.group(4) or (match.group(2) and high < 1000) else 1
    if not thousands and high < 100 or not 0 < low < high <= MAX_INCOME:
        return None
    monthly = round((low + high) / 2, 2)
    return Parsed(value=monthly, notes=(RANGE_INCOME,),
                  note_values={"low": f"${low:,.0f}", "high": f"${high:,.0f}", "monthly": f"${monthly:,.0f}"})


def _relationship(text: str) -> str | None:
    said = normalise(text).removeprefix("mi ").removeprefix("my ")
    return next((key for key, words in _RELATIONSHIPS.items() if said in words), None)


def parse_beneficiary(text: str, data: Data) -> Parsed:
    """ "María López, esposa": a beneficiary's full name and relationship (spouse, child, father, mother)."""
    parts = [part.strip() for part in re.split(r"[,;()]| [-–] ", text) if part.strip()]
    if len(parts) > 2:  # "Sofía Pérez López, hija, 5 años": an age said with it is not needed here
        parts = [part for part in parts if not any(ch.isdigit() for ch in part)]
    words = text.split()
    if len(words) > 2 and normalise(words[0]) in ("mi", "my") and _relationship(words[1]):  # "mi esposa María López"
        words = words[1:]
    if len(parts) == 1 and _relationship(words[-1]):  # no separator: "María López esposa"
        parts = [" ".join(words[:-1]), words[-1]]
    elif len(parts) == 1 and _relationship(words[0]):  # "esposa María López"
        parts = [words[0], " ".join(words[1:])]
    if len(parts) != 2 or not all(parts):
        return _error(N_("Please write the person's full name and their relationship to you, separated by a "
                         "comma, for example: *María López, wife*"))
    name, relation = parts if _relationship(parts[1]) or not _relationship(parts[0]) else parts[::-1]
    relationship = _relationship(relation)
    if relationship is None:
        return _error(N_("The relationship can be: spouse or partner, son or daughter, father or mother. "
                         "For example: *María López, wife*"))
    cleaned = parse_full_name(name, data)
    if not cleaned.ok:
        return _error(N_("Please include the person's full name (first name and surname), for example: "
                         "*María López, wife*"))
    return Parsed(value={"name": cleaned.value, "relationship": relationship})


# -- refusing what is obviously not an answer -----------------------------------------------------------------
# A question's parser only sees text the intent layer did not recognise; these checks stop the rest of the
# non-answers ("no sé", "¿y eso para qué?", "cuánto cobran ustedes") from being stored as a name or a number.
_GREETING_LEAD = (r"(?:(?:hola|buenas noches|buenas tardes|buenos d[ií]as|buenas|qu[eé] onda|qu[eé] tal|hi|hello)"
                  r"[\s,.!]+)?")
_NAME_LEAD = re.compile(_GREETING_LEAD + r"(?:mi nombre completo es|mi nombre es|me llamo|mi nombre|my full name is|"
                        r"my name is|i am|i'm|im|soy|nombre|ah[ií] va|aqu[ií] va|va)[\s:,]+", re.IGNORECASE)
_ADDRESS_LEAD = re.compile(_GREETING_LEAD + r"(?:mi direcci[oó]n es|mi domicilio es|mi direcci[oó]n|mi domicilio|"
                           r"direcci[oó]n|domicilio:|vivo en|my address is|i live (?:at|in))[\s:,]+", re.IGNORECASE)
# "curp:GODE…", "correo: ana@…": a label glued to the answer.
_LABEL = re.compile(r"^\s*(?:mi\s+)?(?:curp|rfc|nss|correo|email|e-mail|mail|cel|celular|tel|tel[eé]fono|c\.?p\.?)"
                    r"\s*[:=]\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’«»`"
_REFUSAL = re.compile(r"\b(?:no (?:te|se) (?:lo |la )?(?:voy a|vamos a) (?:dar|decir|pasar)|no (?:te|se) (?:lo |la )?"
                      r"(?:doy|digo|paso)|no te importa|que te importa|(?:no es|ninguna) de (?:tu|su) incumbencia|"
                      r"prefiero no (?:dar|decir|darlo|darla|decirlo)|no quiero (?:dar|decir)(?:lo|la|te)?\b|"
                      r"none of your business|i (?:won ?t|will not|do not want to|don ?t want to) (?:give|tell|say))")
# Someone else's identifier is not the applicant's: "el de mi esposo es 43127807204".
_SOMEONE_ELSE = frozenset({word for words in _RELATIONSHIPS.values() for word in words} | {
    "papas", "padres", "hijos", "hermano", "hermana", "suegra", "suegro", "abuela", "abuelo", "novio", "novia",
    "senora", "mujer", "tio", "tia", "amigo", "amiga"})
# Titles are not part of the name IMSS records: "la sra. Guadalupe Ramírez" is Guadalupe Ramírez.
_HONORIFIC = re.compile(r"^(?:(?:la|el)\s+)?(?:sra|sr|srita|se[ñn]ora|se[ñn]or|se[ñn]orita|don|do[ñn]a|lic|ing|dr|dra|"
                        r"mtro|mtra|profe?|maestra|maestro)\.?\s+", re.IGNORECASE)
_PLEASANTRY_TAIL = re.compile(r"(?:[\s,.!]+(?:muchas\s+)?(?:gracias|por\s+favor|porfa|saludos|thanks|thank\s+you|ok|"
                              r"okay|s[ií]|ya|listo|mucho gusto|soy yo|es todo|eso es todo))+[\s.!]*$", re.IGNORECASE)
_NOT_NAME_WORDS = frozenset({
    "quiero", "tengo", "cuanto", "cuanta", "cobran", "cuesta", "ustedes", "usted", "que", "como", "porque", "para",
    "pero", "no", "se", "si", "gracias", "hola", "donde", "cuando", "es", "son", "esta", "estoy", "mi",
    "tu", "su", "nombre", "llamo", "the", "want", "how", "what", "is", "my", "your", "you", "ok", "nose", "sabe",
    "ayuda", "favor", "por", "necesito", "puedo", "pagar", "curp", "rfc", "nss", "imss", "dinero", "ya", "dije",
    "luego", "despues", "ahorita", "aqui", "eso", "esto", "algo", "nada", "name", "and", "hay", "cual", "mismo",
    "misma", "whats", "whatsapp", "telegram", "igual",
})
_NO_OCCUPATION = frozenset({"nada", "ahorita", "no", "ninguna", "ninguno", "por", "el", "momento", "se", "nose",
                            "nothing", "none", "ya", "ok"})
_EMAIL_LEAD_IN = frozenset({
    "", "mi", "correo", "email", "mail", "e mail", "electronico", "es", "este", "seria", "aqui", "esta", "va", "te",
    "lo", "paso", "dejo", "el", "my", "is", "its", "here", "gracias", "ok", "listo", "personal", "de", "y",
    *_SOMEONE_ELSE,  # "el de mi hija es lupita@gmail.com": an address the applicant can open
})
# Words around an identifier that are not part of it: "PEHJ 901105 K77 es mi rfc", "3312345678 gracias".
_FILLER = frozenset({
    "mi", "es", "el", "la", "este", "esta", "seria", "aqui", "va", "te", "lo", "paso", "dejo", "gracias", "porfa",
    "ok", "listo", "numero", "num", "no", "de", "curp", "rfc", "nss", "cel", "celular", "tel", "telefono", "cp",
    "codigo", "postal", "homoclave", "con", "my", "is", "its", "here", "number", "phone", "zip", "code", "y", "ya",
})
_DICTATED_EMAIL = {"arroba": "@", "punto": ".", "guion bajo": "_", "guion": "-", "at": "@", "dot": "."}
_DONT_HAVE = re.compile(r"\b(?:no tengo|no uso|no me acuerdo|no me lo se|no lo tengo|no la tengo|don ?t have|"
                       r"do not have|no email)\b")
# A message that only acknowledges ("ok", "sí", "va, gracias"): not an identifier, however short.
_ACKNOWLEDGEMENTS = frozenset({"ok", "okay", "oki", "si", "va", "sale", "listo", "claro", "gracias", "thanks", "ya",
                               "bueno", "perfecto", "yes", "sure", "de", "acuerdo", "esta", "bien", "muchas"})
_DONT_KNOW = re.compile(r"\b(?:no se|no lo se|no me lo se|no me acuerdo|no recuerdo|ni idea|como lo busco|donde lo veo|"
                        r"donde lo busco|dont know|do not know)\b")
_NOT_MY_PHONE = re.compile(r"\b(?:este mismo|el mismo|este numero|este de aqui|same|this one|this number)\b")
_DIGIT_FIELDS = frozenset({"curp", "rfc", "nss", "phone", "postal_code", "monthly_income", "invoice_rfc",
                           "invoice_postal_code"})
_IDENTIFIERS = frozenset({"curp", "rfc", "nss", "phone", "postal_code", "invoice_rfc", "invoice_postal_code"})
_SHAPES = {  # a token that is clearly the answer inside a sentence: "mi curp es GODE561231HDFNZD03"
    "curp": re.compile(r"[A-Za-zÑñ]{4}\d{6}[A-Za-z]{6}[A-Za-z0-9]\d"),
    "rfc": re.compile(r"[A-Za-zÑñ&]{4}\d{6}[A-Za-z0-9]{3}"),
    "invoice_rfc": re.compile(r"[A-Za-zÑñ&]{3,4}\d{6}[A-Za-z0-9]{3}"),
    "invoice_postal_code": re.compile(r"\d{5}"),
    "nss": re.compile(r"\d{11}"),
    "postal_code": re.compile(r"\d{5}"),
    "email": re.compile(r"\S+@\S+"),
}


def screen_answer(text: str, field: str) -> tuple[str, str | None]:
    """Before a question's parser: the part of `text` that answers, or an error msgid when it answers nothing.

    "Mi nombre es José Luis Pérez" gives "José Luis Pérez"; "mi correo es ana@x.mx" gives the address; a
    question, or a sentence where a name or a number goes, is refused (None is never stored).
    """
    stripped = _LABEL.sub("", text.strip()).strip(_QUOTES + " ")
    if field == "monthly_income":
        stripped = spelled_out_numbers(stripped)
    said = normalise(stripped)
    if _REFUSAL.search(said):
        return stripped, REFUSED
    if field in ("curp", "rfc", "nss") and set(said.split()) & _SOMEONE_ELSE:
        return stripped, N_("Here I need %(where)s, not someone else's: the enrollment is yours.")
    if field == "email" and "@" not in stripped:
        if _DONT_HAVE.search(said):
            return stripped, N_("IMSS needs an email to send its confirmation. You can create a free one (Gmail or "
                                "Outlook) or use one you can open, or write *asesor* for help.")
        stripped = _dictated_email(stripped)
    if field == "phone" and not any(ch.isdigit() for ch in stripped) and _NOT_MY_PHONE.search(said):
        return stripped, N_("I cannot see your number from this chat. Please type it, 10 digits.")
    if field == "postal_code" and not any(ch.isdigit() for ch in stripped) and _DONT_KNOW.search(said):
        return stripped, N_("It is on your electricity or water bill and on your proof of address. If you cannot find "
                            "it, write *asesor*.")
    if field == "phone" and not any(ch.isdigit() for ch in stripped) and _DONT_HAVE.search(said):
        return stripped, N_("IMSS asks for a phone number to reach you: any number where you take calls works. Or "
                            "write *asesor* for help.")
    if field not in ("full_name", "beneficiaries"):
        stripped = _PLEASANTRY_TAIL.sub("", without_symbols(stripped)).rstrip(".!")
    shape = _SHAPES.get(field)
    if shape is not None:
        tokens = _tokens(stripped)
        found = [token for token in tokens if shape.fullmatch(token)]
        # "juan perez@gmail.com" is an address typed with a space, not "perez@gmail.com" after a lead-in.
        lead_in = field != "email" or all(normalise(token) in _EMAIL_LEAD_IN for token in tokens if token not in found)
        if len(found) == 1 and lead_in:
            return found[0], None
    if field in _IDENTIFIERS:  # "PEHJ 901105 K77 es mi rfc": the identifier without the words around it
        filler = _FILLER | _SOMEONE_ELSE if field in ("phone", "invoice_rfc") else _FILLER
        kept = [token for token in stripped.split() if normalise(token) not in filler]
        if kept and len(kept) < len(stripped.split()) and any(ch.isdigit() for ch in "".join(kept)):
            stripped = " ".join(kept)
    has_digit = any(ch.isdigit() for ch in stripped)
    if ("?" in stripped or "¿" in stripped) and (field not in _DIGIT_FIELDS or not has_digit):
        return stripped, N_("I could not answer that question here. Write *ayuda* to see what I can do, or "
                            "*asesor* to talk to a person.")
    if field in ("full_name", "beneficiaries"):
        if field == "full_name":  # "Juan Pérez, mi CURP es …": the CURP is the next question's (`extra_answers`)
            stripped = " ".join(token for token in stripped.split() if not _carried_shape(token))
        stripped = _PLEASANTRY_TAIL.sub("", without_symbols(stripped))
        name = _name_part(stripped) if field == "full_name" else _HONORIFIC_INSIDE.sub("", stripped)
        said_words = set(normalise(name).split())
        if field == "full_name" and said_words & _NOT_NAME_WORDS:
            return name, N_("I only need your name and surnames here, for example: *%(example)s*")
        return name, None
    if field == "address":
        return _ADDRESS_LEAD.sub("", stripped), None
    if field == "nss" and not has_digit and set(normalise(stripped).split()) & _NO_NSS:
        return stripped, None  # "nunca he tenido": the parser records that there is none
    if field == "monthly_income" and not has_digit and (_CHANGING_INCOME.search(said) or _NO_INCOME.search(said)):
        return stripped, None  # the parser says how to answer when it changes
    if field in _IDENTIFIERS | {"email"} and said and set(said.split()) <= _ACKNOWLEDGEMENTS:
        return stripped, N_("I am waiting for %(where)s: please type it here.")  # "ok", "sí", "ok gracias"
    if field == "invoice_rfc" and (_OWN_RFC.search(said) or _GENERAL_PUBLIC.search(said)):
        return stripped, None
    if field in _DIGIT_FIELDS and not has_digit and len(normalise(stripped).split()) >= 3:
        return stripped, N_("I only need %(where)s here, without other words.")
    return stripped, None


# Words that say a message corrects an earlier answer: "perdón, me equivoqué, mi correo es …".
CORRECTION = re.compile(r"\b(?:perdon|me equivoque|me equivoco|equivocado|equivocada|corrijo|correccion|corregir|"
                        r"corrige|corrigelo|corrigela|cambia|cambialo|cambiala|cambiar|no era|"
                        r"era|estaba mal|esta mal|mejor|en realidad|ya encontre|ya lo encontre|ya la encontre|sorry|"
                        r"actually|i made a mistake|wrong|correction)\b")
# Identifiers a message may carry beyond the one asked for, which the following questions then take.
CARRIED_FIELDS = ("curp", "rfc", "nss", "email")


def _tokens(text: str) -> list[str]:
    return [token.strip(".,;:!¡¿?()" + _QUOTES) for token in re.split(r"[\s:=]+", text)]


def _carried_shape(token: str) -> bool:
    return any(_SHAPES[field].fullmatch(token.strip(".,;:!¡¿?()" + _QUOTES)) for field in CARRIED_FIELDS)


def extra_answers(text: str, field: str) -> dict[str, str]:
    """What else a message answers ahead ("es GODE561231HDFNZD03 y mi rfc GODE561231GR8" at the CURP): each other
    identifier that appears exactly once, by field, so nothing the applicant sent is lost."""
    tokens = _tokens(text)
    found = {other: [token for token in tokens if _SHAPES[other].fullmatch(token)]
             for other in CARRIED_FIELDS if other != field}
    return {other: matches[0] for other, matches in found.items() if len(matches) == 1}


REFUSED = N_("I understand. IMSS asks for it to enroll you, so I cannot file without it. You can send it later, or "
             "write *asesor* to talk to a person.")
# A title inside a beneficiary's answer: "la señora María López, esposa", "Lic. Ana López, esposa".
_HONORIFIC_INSIDE = re.compile(r"(?:^|(?<=[,;]\s))(?:(?:la|el)\s+)?(?:sra|sr|srita|se[ñn]ora|se[ñn]or|se[ñn]orita|don|"
                               r"do[ñn]a|lic|ing|dr|dra|mtro|mtra|profe?|maestra|maestro)\.?\s+", re.IGNORECASE)


def _name_part(text: str) -> str:
    """The name in "Buenas noches, soy Juan Pérez", "como viene en mi acta: Juana Inés de la Cruz", "Juan Pérez
    (así viene en mi INE)" or "Pedro Infante Cruz, soy taxista": lead-ins, notes and what follows a comma go."""
    name = re.sub(r"\([^)]*\)", " ", text).rpartition(":")[2] if ":" in text or "(" in text else text
    name = _HONORIFIC.sub("", _NAME_LEAD.sub("", name.strip()))
    first, comma, _ = name.partition(",")
    if comma and len(first.split()) >= 2:
        name = first
    return _PLEASANTRY_TAIL.sub("", name).strip().rstrip(".!")


def _dictated_email(text: str) -> str:
    """ "juan perez arroba gmail punto com" -> "juanperez@gmail.com" (voice typing spells the symbols out)."""
    said = normalise(text)
    if "arroba" not in said.split() and " at " not in f" {said} ":
        return text
    for word, symbol in _DICTATED_EMAIL.items():
        said = re.sub(rf"\s*\b{word}\b\s*", symbol, said)
    return said.replace(" ", "")
