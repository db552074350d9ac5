"""Synthetic Mexican documents with known contents, for reading them back (issue 21): fake but valid identities
(CURP and RFC with correct check digits, checked by the project's own validators), INE-like card photos and proofs
of address rendered with Pillow (rotation, blur, sensor noise, JPEG), and a constancia de situación fiscal and a
CURP certificate as PDFs with a text layer (fpdf2). Used by tests/test_document_reading.py and
bench/document_reading.py.
"""

from __future__ import annotations

import functools
import io
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from stdnum.mx import curp as stdnum_curp
from stdnum.mx import rfc as stdnum_rfc

from flows.rules.validators import parse_curp, parse_rfc

GIVEN = ("Eduardo", "Lucía", "Jorge", "Ramón", "Sofía", "Andrés", "Beatriz", "Héctor", "Carmen", "Rubén")
SURNAMES = ("González", "Hernández", "Ramírez", "Torres", "Pérez", "Castillo", "Morales", "Ortega", "Vázquez",
            "Jiménez", "Rosales", "Medina", "Salinas", "Guerrero")
STREETS = ("AV JUAREZ 123", "C REFORMA 45", "C HIDALGO 7", "AV INSURGENTES 1020", "C MORELOS 18")
CODES = ("06600", "44100", "64000", "72000", "97000")
VOWELS = "AEIOU"


def _upper(word: str) -> str:
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", word.upper()) if not unicodedata.combining(ch))
    return bare.replace("Ñ", "X")


def _inner_consonant(word: str) -> str:
    return next((ch for ch in _upper(word)[1:] if ch.isalpha() and ch not in VOWELS), "X")


@dataclass(frozen=True, slots=True)
class Identity:
    given: str
    paterno: str
    materno: str
    birth: date
    sex: str  # H | M
    curp: str
    rfc: str
    postal_code: str
    street: str

    @property
    def full_name(self) -> str:
        return f"{self.given} {self.paterno} {self.materno}"

    @property
    def upper_name(self) -> str:
        return _upper(self.full_name)


def identity(seed: int) -> Identity:
    """A made-up person whose CURP and RFC pass the project's validators, check digits included."""
    rng = random.Random(seed)
    given, paterno, materno = rng.choice(GIVEN), *rng.sample(SURNAMES, 2)
    birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 14000))
    sex = "H" if given in ("Eduardo", "Jorge", "Ramón", "Andrés", "Héctor", "Rubén") else "M"
    p = _upper(paterno)
    head = p[0] + next(ch for ch in p[1:] if ch in VOWELS) + _upper(materno)[0] + _upper(given)[0]
    body = (head + birth.strftime("%y%m%d") + sex + "DF" + _inner_consonant(paterno) + _inner_consonant(materno)
            + _inner_consonant(given) + ("0" if birth.year < 2000 else "A"))
    curp = body + stdnum_curp.calc_check_digit(body)
    data = {"_today": "2026-12-01", "full_name": f"{given} {paterno} {materno}"}
    assert parse_curp(curp, data).ok and not parse_curp(curp, data).notes, curp
    for _ in range(100):  # a homoclave whose check digit our validator accepts (a few, like "A" checks, it does not)
        rfc_body = curp[:10] + "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ123456789") for _ in range(2))
        rfc = rfc_body + stdnum_rfc.calc_check_digit(rfc_body)
        parsed = parse_rfc(rfc, {"curp": curp})
        if parsed.ok and parsed.updates["rfc_check_digit_ok"]:
            break
    else:
        raise AssertionError(f"no valid RFC for {curp}")
    return Identity(given, paterno, materno, birth, sex, curp, rfc, rng.choice(CODES), rng.choice(STREETS))


def typed_data(person: Identity, **changes: str) -> dict[str, str]:
    """What the applicant typed, as the conversation stores it."""
    return {"full_name": person.full_name, "curp": person.curp, "rfc": person.rfc,
            "postal_code": person.postal_code, "birth_date": person.birth.isoformat(), **changes}


# -- photos -------------------------------------------------------------------------------------------------
@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _photograph(card: Image.Image, *, seed: int, rotate: float, blur: float, noise: float) -> bytes:
    """The card on a table, slightly turned, a little out of focus, with sensor noise, saved as a phone JPEG."""
    table = Image.new("L", (card.width + 160, card.height + 160), 120)
    table.paste(card, (80, 80))
    if rotate:
        table = table.rotate(rotate, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=120)
    if blur:
        table = table.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.asarray(table, dtype=np.float32)
    pixels += np.random.default_rng(seed).normal(0.0, noise, pixels.shape).astype(np.float32)
    out = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def _lines(draw: ImageDraw.ImageDraw, x: int, y: int, lines: list[tuple[str, int]], ink: int = 25) -> None:
    for text, size in lines:
        draw.text((x, y), text, fill=ink, font=_font(size))
        y += int(size * 1.45)


def ine_front(person: Identity, *, seed: int = 0, rotate: float = 1.5, blur: float = 0.6, noise: float = 3.0,
              contrast: int = 25) -> bytes:
    """The front of an INE-like voting card: NOMBRE (surnames first, one per line), DOMICILIO, CURP."""
    card = Image.new("L", (1150, 720), 232)
    draw = ImageDraw.Draw(card)
    draw.rectangle((40, 150, 330, 560), fill=170)  # the photo
    _lines(draw, 40, 30, [("INSTITUTO NACIONAL ELECTORAL", 40), ("CREDENCIAL PARA VOTAR", 30)], contrast)
    _lines(draw, 370, 150, [
        ("NOMBRE", 26), (_upper(person.paterno), 34), (_upper(person.materno), 34), (_upper(person.given), 34),
        ("DOMICILIO", 26), (person.street, 30), (f"COL CENTRO C.P. {person.postal_code}", 30),
        ("CUAUHTEMOC, CDMX", 30), (f"CURP {person.curp}", 32), (f"SEXO {person.sex}", 28),
    ], contrast)
    return _photograph(card, seed=seed, rotate=rotate, blur=blur, noise=noise)


def _mrz_check(text: str) -> str:
    values = [int(ch) if ch.isdigit() else (ord(ch) - 55 if ch.isalpha() else 0) for ch in text]
    return str(sum(value * (7, 3, 1)[index % 3] for index, value in enumerate(values)) % 10)


def mrz_lines(person: Identity) -> list[str]:
    number = "".join(ch for ch in person.curp if ch.isdigit())[:9].ljust(9, "0")
    first = f"IDMEX{number}{_mrz_check(number)}<<{number}".ljust(30, "<")[:30]
    born = person.birth.strftime("%y%m%d")
    second = f"{born}{_mrz_check(born)}{'M' if person.sex == 'H' else 'F'}3312311MEX".ljust(29, "<") + "4"
    third = f"{_upper(person.paterno)}<{_upper(person.materno)}<<{_upper(person.given)}".ljust(30, "<")[:30]
    return [first, second, third]


def ine_back(person: Identity, *, seed: int = 0, rotate: float = -1.0, blur: float = 0.5, noise: float = 3.0) -> bytes:
    """The back of the card: its machine readable zone, three lines of 30 characters."""
    card = Image.new("L", (1150, 720), 232)
    draw = ImageDraw.Draw(card)
    draw.rectangle((60, 60, 400, 300), outline=60, width=4)  # the QR code's place
    _lines(draw, 60, 470, [(line, 38) for line in mrz_lines(person)], 20)
    return _photograph(card, seed=seed, rotate=rotate, blur=blur, noise=noise)


def proof_of_address(person: Identity, issued: date, *, seed: int = 0, rotate: float = 2.0, blur: float = 0.6,
                     noise: float = 3.0) -> bytes:
    """An electricity bill: the holder, the address with its C.P., the issue date and the amount."""
    months = ("ENERO FEBRERO MARZO ABRIL MAYO JUNIO JULIO AGOSTO SEPTIEMBRE OCTUBRE NOVIEMBRE DICIEMBRE").split()
    page = Image.new("L", (1100, 1300), 240)
    draw = ImageDraw.Draw(page)
    draw.rectangle((40, 40, 1060, 1260), outline=80, width=3)
    _lines(draw, 80, 80, [
        ("SUMINISTRADOR DE SERVICIOS BASICOS", 36), ("AVISO RECIBO", 30), ("", 20),
        (person.upper_name, 30), (person.street, 30), (f"COL CENTRO C.P. {person.postal_code}", 30),
        ("CUAUHTEMOC, CDMX", 30), ("", 20),
        (f"FECHA DE EMISION {issued.day:02d} DE {months[issued.month - 1]} DE {issued.year}", 30),
        ("TOTAL A PAGAR $345.00", 34), ("NO. DE SERVICIO 123456789012", 28),
    ])
    return _photograph(page, seed=seed, rotate=rotate, blur=blur, noise=noise)


# -- PDFs with a text layer ---------------------------------------------------------------------------------
def _pdf(lines: list[tuple[str, int]]) -> bytes:
    pdf = FPDF(format="letter")
    pdf.set_creator("test")
    pdf.add_page()
    for text, size in lines:
        pdf.set_font("helvetica", size=size)
        pdf.cell(0, size * 0.6, text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def constancia(person: Identity, issued: date) -> bytes:
    """A constancia de situación fiscal as the SAT's PDF lays it out: labels, then values."""
    months = ("ENERO FEBRERO MARZO ABRIL MAYO JUNIO JULIO AGOSTO SEPTIEMBRE OCTUBRE NOVIEMBRE DICIEMBRE").split()
    return _pdf([
        ("CÉDULA DE IDENTIFICACIÓN FISCAL", 14), (f"RFC: {person.rfc}", 11),
        ("Lugar y Fecha de Emisión", 10),
        (f"CUAUHTEMOC , CIUDAD DE MEXICO A {issued.day:02d} DE {months[issued.month - 1]} DE {issued.year}", 10),
        ("Datos de Identificación del Contribuyente:", 12), (f"RFC: {person.rfc}", 10), (f"CURP: {person.curp}", 10),
        (f"Nombre (s): {_upper(person.given)}", 10), (f"Primer Apellido: {_upper(person.paterno)}", 10),
        (f"Segundo Apellido: {_upper(person.materno)}", 10), ("Estatus en el padrón: ACTIVO", 10),
        ("Datos del domicilio registrado", 12), (f"Código Postal:{person.postal_code}", 10),
        ("Nombre de la Vialidad: JUAREZ", 10), ("Regímenes:", 12), ("Régimen Simplificado de Confianza", 10),
    ])


def curp_certificate(person: Identity) -> bytes:
    """RENAPO's CURP certificate: the key, then the name."""
    return _pdf([
        ("CONSTANCIA DE LA CLAVE ÚNICA DE REGISTRO DE POBLACIÓN", 13), ("Clave:", 10), (person.curp, 14),
        ("Nombre", 10), (person.upper_name, 14), ("Fecha de inscripción 12/03/1998", 10),
    ])


def ine_front_pdf(person: Identity) -> bytes:
    """The front of the card as a scanner app's PDF with its text layer (read without OCR)."""
    return _pdf([("INSTITUTO NACIONAL ELECTORAL", 14), ("CREDENCIAL PARA VOTAR", 12), ("NOMBRE", 9),
                 (_upper(person.paterno), 12), (_upper(person.materno), 12), (_upper(person.given), 12),
                 ("DOMICILIO", 9), (person.street, 11), (f"COL CENTRO C.P. {person.postal_code}", 11),
                 (f"CURP {person.curp}", 11), (f"SEXO {person.sex}", 11)])


def ine_back_pdf(person: Identity) -> bytes:
    return _pdf([(line, 14) for line in mrz_lines(person)])


def proof_of_address_pdf(person: Identity, issued: date) -> bytes:
    months = ("ENERO FEBRERO MARZO ABRIL MAYO JUNIO JULIO AGOSTO SEPTIEMBRE OCTUBRE NOVIEMBRE DICIEMBRE").split()
    return _pdf([("SUMINISTRADOR DE SERVICIOS BASICOS", 14), (person.upper_name, 11), (person.street, 11),
                 (f"COL CENTRO C.P. {person.postal_code}", 11),
                 (f"FECHA DE EMISION {issued.day:02d} DE {months[issued.month - 1]} DE {issued.year}", 11),
                 ("TOTAL A PAGAR $345.00", 12)])
