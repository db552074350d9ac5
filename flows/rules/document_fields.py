"""What a document says, read from its text, and whether it agrees with what the applicant typed (issue 21).

Pure: text in, fields with a confidence out, then one comparison per field. OCR misreads letters as digits and
back, so identifiers are repaired by position (a CURP has digits only where a date goes) and trusted only when
their check digit passes. A clear mismatch (another CURP or RFC, another person's name, an old proof of address)
is what the applicant is asked about; anything doubtful is left to staff, never put to the applicant.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from rapidfuzz import fuzz
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

READABLE_SLOTS = ("id_front", "id_back", "tax_certificate", "proof_of_address", "curp_document")
# A field read at least this surely may be put to the applicant when it disagrees; below it only staff see it.
ASK_CONFIDENCE = 0.8
# Below this a field is shown as read but not compared.
COMPARE_CONFIDENCE = 0.5
PROOF_MAX_MONTHS = 3
# Fields whose disagreement makes the whole document disagree.
DECISIVE = ("curp", "rfc", "full_name", "birth_date", "issue_date")

MONTHS = {"ENERO": 1, "FEBRERO": 2, "MARZO": 3, "ABRIL": 4, "MAYO": 5, "JUNIO": 6, "JULIO": 7, "AGOSTO": 8,
          "SEPTIEMBRE": 9, "SETIEMBRE": 9, "OCTUBRE": 10, "NOVIEMBRE": 11, "DICIEMBRE": 12}
SHORT_MONTHS = {name[:3]: number for name, number in MONTHS.items()}
_PARTICLES = frozenset("DE DEL LA LAS LOS Y VAN VON DA MC MAC".split())
_TO_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "T": "1", "Z": "2", "S": "5",
                           "B": "8", "G": "6"})
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G", "4": "A"})
# Shapes with room for OCR confusions; repaired by position, then validated.
_CURP_LOOSE = re.compile(r"(?<![A-Z0-9])([A-Z0-9]{4}[0-9OQDILTZSBG]{6}[HMX][A-Z0-9]{5}[A-Z0-9]{2})(?![A-Z0-9])")
_RFC_LOOSE = re.compile(r"(?<![A-Z0-9&])([A-Z0-9&]{4}[0-9OQDILTZSBG]{6}[A-Z0-9]{3})(?![A-Z0-9])")
_POSTAL = re.compile(r"(?:C\.?\s?P\.?|CODIGO\s+POSTAL)\s*:?\s*([0-9OILS]{5})(?![0-9])")
_LONG_DATE = re.compile(r"(\d{1,2})\s+DE\s+([A-Z]+)\s+(?:DE|DEL)\s+(\d{4})")
_SHORT_DATE = re.compile(r"(\d{1,2})[\s/-]([A-Z]{3})[A-Z]*[\s/-](\d{2,4})(?![0-9])")
_NUMERIC_DATE = re.compile(r"(?<![0-9])(\d{2})[/.-](\d{2})[/.-](\d{4})(?![0-9])")
_REGIMES = ("REGIMEN SIMPLIFICADO DE CONFIANZA", "REGIMEN DE INCORPORACION FISCAL",
            "REGIMEN DE LAS PERSONAS FISICAS CON ACTIVIDADES EMPRESARIALES Y PROFESIONALES",
            "REGIMEN DE SUELDOS Y SALARIOS E INGRESOS ASIMILADOS A SALARIOS", "SUELDOS Y SALARIOS",
            "ARRENDAMIENTO", "SIN OBLIGACIONES FISCALES")
_LABEL_STOP = re.compile(r"^(DOMICILIO|SEXO|FECHA|CLAVE|CURP|SECCION|VIGENCIA|ANO|EMISION|NOMBRE|PRIMER|SEGUNDO|"
                         r"RFC|ESTATUS|LUGAR|DATOS|ENTIDAD|IDENTIFICACION|CODIGO|REGIMEN|FOLIO)")


@dataclass(frozen=True, slots=True)
class Field:
    """One value read from a document; `confidence` from 0 (a guess) to 1 (a validated PDF text layer)."""

    name: str
    value: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """A field read against the typed value: match | partial | mismatch | unknown (not comparable or unsure)."""

    field: str
    outcome: str
    found: str
    typed: str
    confidence: float
    note: str = ""

    @property
    def clear(self) -> bool:
        """A disagreement sure enough to ask the applicant about."""
        return self.outcome == "mismatch" and self.confidence >= ASK_CONFIDENCE


def fold(text: str) -> str:
    """Upper case without accents (Ñ kept as N), single spaces, the way labels and names are compared."""
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", text.upper()) if not unicodedata.combining(ch))
    return "\n".join(" ".join(line.split()) for line in bare.splitlines())


# -- identifiers --------------------------------------------------------------------------------------------
def repair_curp(candidate: str) -> str:
    """Letters where a CURP has letters and digits where it has digits (OCR reads O for 0 and back)."""
    c = candidate.upper()
    year = c[4:6].translate(_TO_DIGIT)
    # The 17th character is a digit for people born before 2000, a letter after; a year from 30 on is a 19xx.
    homoclave = c[16].translate(_TO_DIGIT) if year.isdigit() and int(year) >= 30 else c[16]
    return (c[:4].translate(_TO_LETTER) + c[4:10].translate(_TO_DIGIT) + c[10].translate(_TO_LETTER)
            + c[11:16].translate(_TO_LETTER) + homoclave + c[17].translate(_TO_DIGIT))


def repair_rfc(candidate: str) -> str:
    c = candidate.upper()
    return c[:4].translate(_TO_LETTER) + c[4:10].translate(_TO_DIGIT) + c[10:]


def find_curp(text: str, quality: float) -> Field | None:
    """The first CURP whose check digit passes (sure); else the first CURP-shaped token (unsure)."""
    shaped: str | None = None
    for match in _CURP_LOOSE.finditer(text):
        curp = repair_curp(match.group(1))
        if stdnum_curp.is_valid(curp):
            return Field("curp", curp, round(min(1.0, 0.2 + quality), 2))
        if shaped is None and re.fullmatch(r"[A-Z]{4}\d{6}[HMX][A-Z]{5}[A-Z0-9]\d", curp):
            shaped = curp
    return Field("curp", shaped, round(0.4 * quality, 2)) if shaped else None


def find_rfc(text: str, quality: float, curp: str | None = None) -> Field | None:
    """A persona física RFC: sure when its check digit passes or it agrees with the CURP read beside it."""
    shaped: str | None = None
    for match in _RFC_LOOSE.finditer(text):
        rfc = repair_rfc(match.group(1))
        if curp and rfc[:10] == curp[:10]:
            return Field("rfc", rfc, round(min(1.0, 0.2 + quality), 2))
        if stdnum_rfc.is_valid(rfc, validate_check_digits=True) and len(rfc) == 13:
            return Field("rfc", rfc, round(min(1.0, 0.15 + quality), 2))
        if shaped is None and stdnum_rfc.is_valid(rfc, validate_check_digits=False) and len(rfc) == 13:
            shaped = rfc
    return Field("rfc", shaped, round(0.5 * quality, 2)) if shaped else None


# -- dates --------------------------------------------------------------------------------------------------
def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year + 2000 if year < 100 else year, month, day)
    except ValueError:
        return None


def dates_in(text: str) -> list[tuple[int, date]]:
    """Every date written in `text` (folded), with its position: "01 DE DICIEMBRE DE 2026", "01/12/2026",
    "01 DIC 2026"."""
    found: list[tuple[int, date]] = []
    for match in _LONG_DATE.finditer(text):
        month = MONTHS.get(match.group(2))
        when = _date(int(match.group(3)), month, int(match.group(1))) if month else None
        if when:
            found.append((match.start(), when))
    for match in _SHORT_DATE.finditer(text):
        month = SHORT_MONTHS.get(match.group(2))
        when = _date(int(match.group(3)), month, int(match.group(1))) if month else None
        if when and not any(abs(start - match.start()) < 4 for start, _ in found):
            found.append((match.start(), when))
    for match in _NUMERIC_DATE.finditer(text):
        when = _date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if when:
            found.append((match.start(), when))
    return sorted(found, key=lambda item: item[0])


def issue_date(text: str, quality: float, today: date) -> Field | None:
    """The issue date: the first date after an "emisión"/"expedición" label (sure), else the latest date that is
    not in the future (a bill also prints its due date and the period, so this is a guess)."""
    dates = [(start, when) for start, when in dates_in(text) if when <= today]
    if not dates:
        return None
    label = re.search(r"EMISION|EXPEDICION|FECHA DE CORTE|FECHA DE FACTURA", text)
    if label:
        after = [when for start, when in dates if start >= label.start()]
        if after:
            return Field("issue_date", after[0].isoformat(), round(min(1.0, 0.1 + quality), 2))
    return Field("issue_date", max(when for _, when in dates).isoformat(), round(0.6 * quality, 2))


# -- names --------------------------------------------------------------------------------------------------
def _label_lines(lines: list[str], label: str) -> list[str]:
    """The value after a label: the rest of its line, else the following lines up to the next label."""
    for index, line in enumerate(lines):
        if re.match(rf"{label}\b", line):
            rest = re.sub(rf"^{label}[^:]*:?\s*", "", line).strip(" :")
            if rest and rest != line:
                return [rest]
            values = []
            for following in lines[index + 1:index + 4]:
                if not following.strip() or _LABEL_STOP.match(following) or any(ch.isdigit() for ch in following):
                    break
                values.append(following.strip())
            return values
    return []


# Words of a form, never of a person's name: a line made of them is a label or a heading misread as a name.
_FORM_WORDS = frozenset("""NOMBRE NOMBRES CURP RFC DOMICILIO CALLE COLONIA COL CP MUNICIPIO ESTADO REGIMEN FECHA IMSS
PERIODO TOTAL SITUACION FISCAL CONSTANCIA SEXO CLAVE ELECTOR INSTITUTO NACIONAL ELECTORAL CREDENCIAL VOTAR PAGAR
EMISION APELLIDO PRIMER SEGUNDO SECCION VIGENCIA REGISTRO NACIMIENTO CODIGO POSTAL CONTRIBUYENTE DATOS""".split())


def _name_words(line: str) -> str:
    words = [word for word in re.sub(r"[^A-Z ]", " ", line).split() if len(word) > 1 or word == "Y"]
    return "" if any(word in _FORM_WORDS for word in words) else " ".join(words)


def name_from_labels(text: str, quality: float) -> Field | None:
    """A name printed as "Nombre (s): / Primer Apellido: / Segundo Apellido:" (SAT) or under "NOMBRE" (INE,
    RENAPO: on the INE the surnames come first, one per line)."""
    lines = text.splitlines()
    given = _label_lines(lines, r"NOMBRE\s*\(S\)|NOMBRES?\(S\)")
    first = _label_lines(lines, r"PRIMER APELLIDO")
    second = _label_lines(lines, r"SEGUNDO APELLIDO")
    if given and first:
        name = " ".join(_name_words(part) for part in (given[0], first[0], second[0] if second else ""))
        return Field("full_name", " ".join(name.split()), round(quality, 2)) if name.strip() else None
    under = [_name_words(line) for line in _label_lines(lines, r"NOMBRE")]
    under = [line for line in under if line]
    if not under:
        return None
    if len(under) >= 2:  # INE: PATERNO / MATERNO / NOMBRES
        name = " ".join([under[-1], *under[:-1]])
    else:
        name = under[0]
    sure = 1.0 if 2 <= len(name.split()) <= 6 else 0.4
    return Field("full_name", name, round(quality * sure, 2))


def name_matches(found: str, typed: str) -> tuple[str, str]:
    """Compare two names whatever their order, accents or case: (outcome, note).

    `partial` when one holds fewer words than the other (a second surname left out); `mismatch` when words
    differ beyond what a misread letter explains (another person); `unknown` in between.
    """
    doc = [word for word in fold(found).replace("Ñ", "N").split() if word not in _PARTICLES]
    mine = [word for word in fold(typed).replace("Ñ", "N").split() if word not in _PARTICLES]
    if not doc or not mine:
        return "unknown", ""
    left = list(doc)
    unmatched: list[str] = []
    for word in mine:
        best = max(left, key=lambda candidate: fuzz.ratio(word, candidate), default=None)
        if best is not None and fuzz.ratio(word, best) >= 80:
            left.remove(best)
        else:
            unmatched.append(word)
    if not unmatched and not left:
        return "match", ""
    if not unmatched:
        return "partial", "missing_words"  # the document has a word more: usually the second surname
    if not left:
        return ("partial", "extra_words") if len(unmatched) < len(mine) else ("mismatch", "")
    closest = max(fuzz.ratio(word, other) for word in unmatched for other in left)
    if closest < 60 or len(unmatched) * 2 > len(mine):
        return "mismatch", ""
    return "unknown", ""


# -- machine readable zone (INE back) ------------------------------------------------------------------------
def _mrz_check(digits: str) -> str:
    values = [int(ch) if ch.isdigit() else (ord(ch) - 55 if ch.isalpha() else 0) for ch in digits]
    return str(sum(value * (7, 3, 1)[index % 3] for index, value in enumerate(values)) % 10)


def read_mrz(text: str, quality: float, today: date) -> list[Field]:
    """The INE back's three 30-character lines: IDMEX…, the birth date, and SURNAME<SURNAME<<NAMES."""
    lines = [re.sub(r"\s", "", line).replace("«", "<<") for line in text.upper().splitlines()]
    lines = [line for line in lines if line.count("<") >= 2 or line.startswith("IDMEX")]
    fields: list[Field] = []
    if not any(line.startswith(("IDMEX", "1DMEX", "IDMX")) for line in lines):
        return fields
    for line in lines:
        birth = re.match(r"([0-9OIS]{6})([0-9OIS])[MFX<]", line)
        if birth:
            digits = birth.group(1).translate(_TO_DIGIT)
            when = _date(int(digits[:2]), int(digits[2:4]), int(digits[4:6])) if digits.isdigit() else None
            if when:
                year = when.year if when <= today else when.year - 100  # "561231" is 1956, not 2056
                when = when.replace(year=year)
                sure = _mrz_check(digits) == birth.group(2).translate(_TO_DIGIT)
                # Filler "<" drags Tesseract's confidence down; a check digit that passes says the zone read clean.
                quality = min(1.0, quality + 0.15) if sure else quality
                fields.append(Field("birth_date", when.isoformat(), round(quality if sure else 0.4 * quality, 2)))
                break
    for line in lines:
        if "<<" in line and re.fullmatch(r"[A-Z<]{10,}", line.rstrip("<")):
            surnames, _, given = line.strip("<").partition("<<")
            name = " ".join([*given.replace("<", " ").split(), *surnames.replace("<", " ").split()])
            if len(name.split()) >= 2:
                fields.append(Field("full_name", name, round(quality, 2)))
                break
    return fields


# -- one document -------------------------------------------------------------------------------------------
def extract_fields(slot: str, text: str, quality: float, today: date) -> dict[str, Field]:
    """The fields a document of this slot carries, read from its text; `quality` is how sure the text itself is
    (1 for a PDF text layer, the OCR's mean word confidence otherwise)."""
    folded = fold(text)
    found: list[Field | None] = []
    if slot == "id_back":
        found.extend(read_mrz(folded, quality, today))
    else:
        curp = find_curp(folded, quality)
        found.append(curp)
        found.append(name_from_labels(folded, quality) if slot != "proof_of_address" else None)
        if slot == "tax_certificate":
            found.append(find_rfc(folded, quality, curp.value if curp and curp.confidence >= 0.5 else None))
            found.append(_postal(folded, quality))
            found.append(issue_date(folded, quality, today))
            regime = next((name for name in _REGIMES if name in folded), None)
            found.append(Field("regime", regime.title(), round(quality, 2)) if regime else None)
        elif slot == "proof_of_address":
            found[0] = None  # a bill prints no CURP worth trusting
            found.append(_postal(folded, quality))
            found.append(issue_date(folded, quality, today))
        elif slot == "id_front":
            address: list[str] = []
            lines = folded.splitlines()
            for index, line in enumerate(lines):
                if line.startswith("DOMICILIO"):
                    address = [part for part in lines[index + 1:index + 4] if not _LABEL_STOP.match(part)]
                    break
            if address:
                found.append(Field("address", ", ".join(address), round(0.8 * quality, 2)))
            found.append(_postal(folded, quality) if address else None)
    return {field.name: field for field in found if field is not None}


def _postal(text: str, quality: float) -> Field | None:
    match = _POSTAL.search(text)
    if not match:
        return None
    code = match.group(1).translate(_TO_DIGIT)
    return Field("postal_code", code, round(quality, 2)) if code.isdigit() and not code.startswith("00") else None


def months_before(today: date, months: int) -> date:
    month = today.month - months
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for day in (today.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, 28)


def compare(slot: str, fields: Mapping[str, Field], data: Mapping[str, Any], today: date) -> list[Comparison]:
    """Each field read against what the applicant typed (the conversation's data)."""
    typed = {"curp": str(data.get("curp") or ""), "rfc": str(data.get("rfc") or ""),
             "full_name": str(data.get("full_name") or ""), "postal_code": str(data.get("postal_code") or ""),
             "birth_date": str(data.get("birth_date") or "")}
    results: list[Comparison] = []
    for name, field in fields.items():
        if name == "issue_date" and slot == "proof_of_address":
            oldest = months_before(today, PROOF_MAX_MONTHS)
            outcome = "mismatch" if date.fromisoformat(field.value) < oldest else "match"
            results.append(Comparison(name, outcome, field.value, oldest.isoformat(), field.confidence, "too_old"
                                      if outcome == "mismatch" else ""))
            continue
        mine = typed.get(name, "")
        if name not in typed or not mine:
            results.append(Comparison(name, "unknown", field.value, "", field.confidence, "not_typed"
                                      if name in typed else "informative"))
            continue
        if field.confidence < COMPARE_CONFIDENCE:
            results.append(Comparison(name, "unknown", field.value, mine, field.confidence, "unsure"))
            continue
        if name == "full_name":
            outcome, note = name_matches(field.value, mine)
        else:
            outcome, note = ("match" if fold(field.value) == fold(mine) else "mismatch"), ""
        results.append(Comparison(name, outcome, field.value, mine, field.confidence, note))
    return results


def overall(comparisons: list[Comparison]) -> str:
    """The document's outcome for staff: mismatch when a field that says whose or how old the document is
    differs (a postal code may differ after a move: shown, but not enough), match when something was compared
    and agrees, else not_read."""
    if any(c.outcome == "mismatch" and c.confidence >= COMPARE_CONFIDENCE and c.field in DECISIVE for c in comparisons):
        return "mismatch"
    if any(c.outcome in ("match", "partial") for c in comparisons):
        return "match"
    return "not_read"


def doubt(comparisons: list[Comparison]) -> Comparison | None:
    """The one clear disagreement worth a question to the applicant, most telling first."""
    order = ("curp", "rfc", "full_name", "issue_date")
    clear = [c for c in comparisons if c.clear and c.field in order]
    return min(clear, key=lambda c: order.index(c.field)) if clear else None
