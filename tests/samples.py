"""Real files an applicant might upload, generated on the fly: document photos (sharp or blurred), an ID card, PDFs."""

from __future__ import annotations

import functools
import io
import random
import struct
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from pypdf import PdfWriter

Photo = Callable[..., bytes]
"""A generator like `document_photo`: (width, height, blur) -> encoded image bytes."""

WORDS = ("CONSTANCIA", "DE", "SITUACION", "FISCAL", "RFC", "CURP", "DOMICILIO", "CALLE", "COLONIA", "CP",
         "MUNICIPIO", "ESTADO", "REGIMEN", "FECHA", "NOMBRE", "IMSS", "PERIODO", "TOTAL", "$1,234.50", "2025")


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _text_line(draw: ImageDraw.ImageDraw, rng: random.Random, x: int, y: int, right: int, size: int) -> None:
    """Words of random length across one line, like a printed form seen through a phone camera."""
    font = _font(size)
    while x < right - 4 * size:
        word = rng.choice(WORDS)
        draw.text((x, y), word, fill=rng.randint(10, 60), font=font)
        x += int(draw.textlength(word, font=font)) + size // 2 + rng.randint(0, size)


def _photo(canvas: Image.Image, blur: float, seed: int) -> Image.Image:
    """Blur the scene (bad focus or a shaking hand), then add the camera's sensor noise on top."""
    if blur > 0:
        canvas = canvas.filter(ImageFilter.GaussianBlur(radius=blur))
    pixels = np.asarray(canvas, dtype=np.float32)
    pixels += np.random.default_rng(seed).normal(0.0, 2.0, pixels.shape).astype(np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).convert("RGB")


def document_scene(width: int = 1200, height: int = 800, *, seed: int = 0) -> Image.Image:
    """A printed page filling the frame: heading, ruled boxes, lines of text, a stamp, textured paper."""
    return _document_scene(width, height, seed).copy()


@functools.lru_cache(maxsize=8)
def _document_scene(width: int, height: int, seed: int) -> Image.Image:
    # Drawing text dominates the cost, and tests blur the same scene many ways: draw each scene once.
    rng = random.Random(seed)
    paper = np.random.default_rng(seed).normal(235.0, 4.0, (height, width)).astype(np.float32)
    canvas = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    unit = max(1, min(width, height) // 40)
    draw.text((2 * unit, unit), "CONSTANCIA DE SITUACION FISCAL", fill=20, font=_font(int(unit * 1.6)))
    draw.rectangle((2 * unit, 4 * unit, width - 2 * unit, height - 2 * unit), outline=40, width=max(1, unit // 6))
    y = 5 * unit
    while y < height - 4 * unit:
        _text_line(draw, rng, 3 * unit, y, width - 3 * unit, int(unit * 0.9))
        y += int(unit * 1.6)
        if rng.random() < 0.15:
            draw.line((3 * unit, y, width - 3 * unit, y), fill=60, width=max(1, unit // 8))
            y += unit // 2
    cx, cy, r = width - 8 * unit, height - 8 * unit, 4 * unit
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=90, width=max(1, unit // 5))
    return canvas


def id_card_scene(width: int = 1200, height: int = 800, *, seed: int = 0) -> Image.Image:
    """Mostly blank: a card outline, a face circle and a few lines of text on a table. Few edges, all real."""
    rng = random.Random(seed)
    canvas = Image.new("L", (width, height), 200)
    draw = ImageDraw.Draw(canvas)
    mx, my = width // 10, height // 10
    draw.rounded_rectangle((mx, my, width - mx, height - my), radius=width // 40, fill=240, outline=120, width=3)
    face = (mx + width // 20, my + height // 6, mx + width // 20 + width // 5, my + height // 6 + width // 4)
    draw.ellipse(face, fill=215, outline=80, width=3)
    x, size = face[2] + width // 20, max(10, height // 30)
    draw.text((x, my + height // 12), "INSTITUTO NACIONAL ELECTORAL", fill=30, font=_font(int(size * 1.3)))
    for row in range(4):
        _text_line(draw, rng, x, my + height // 5 + row * int(size * 2.2), width - mx - width // 20, size)
    return canvas


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def document_photo(width: int = 1200, height: int = 800, blur: float = 0.0, *, seed: int = 0,
                   quality: int = 88) -> bytes:
    """A JPEG phone photo of a printed document; `blur` is the Gaussian radius of bad focus."""
    return _encode(_photo(document_scene(width, height, seed=seed), blur, seed), "JPEG", quality=quality)


def id_card_photo(width: int = 1200, height: int = 800, blur: float = 0.0, *, seed: int = 0) -> bytes:
    """A JPEG phone photo of an ID card lying on a table: mostly plain areas, a few sharp edges."""
    return _encode(_photo(id_card_scene(width, height, seed=seed), blur, seed), "JPEG", quality=88)


def png_photo(width: int = 1200, height: int = 800, blur: float = 0.0, *, seed: int = 0) -> bytes:
    """The same document as a PNG (a screenshot or a scanner app's export)."""
    return _encode(_photo(document_scene(width, height, seed=seed), blur, seed), "PNG", compress_level=1)


def pdf_document(pages: int = 1, *, seed: int = 0) -> bytes:
    """A scanned PDF with one document image per page, the way a scanner app exports it."""
    if pages < 1:
        raise ValueError("a PDF needs at least one page")
    page = _photo(document_scene(850, 1100, seed=seed), 0.0, seed)  # every page alike: only the count matters
    return _encode(page, "PDF", save_all=True, append_images=[page] * (pages - 1), resolution=100.0)


def protected_pdf(user_password: str = "secreto", owner_password: str = "owner") -> bytes:
    """A one-page PDF locked with a password; an empty `user_password` only restricts printing and copying."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# -- a voice note ---------------------------------------------------------------------------------------------
def _crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(flags: int, granule: int, sequence: int, packet: bytes) -> bytes:
    lacing = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    header = b"OggS" + struct.pack("<BBqIII", 0, flags, granule, 0x5EED, sequence, 0) + bytes([len(lacing)]) + lacing
    page = header + packet
    return page[:22] + struct.pack("<I", _crc(page)) + page[26:]


def voice_note(seconds: int = 7) -> bytes:
    """An Ogg/Opus voice note as WhatsApp and Telegram record it: OpusHead, OpusTags, audio pages, lasting
    `seconds` (the inbox reads the duration from the last granule)."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 6) + b"WhatsA" + struct.pack("<I", 0)
    pages = [_ogg_page(2, 0, 0, head), _ogg_page(0, 0, 1, tags)]
    for second in range(1, seconds + 1):
        pages.append(_ogg_page(4 if second == seconds else 0, 312 + 48000 * second, second + 1,
                               bytes([0xFC]) + bytes(range(40))))
    return b"".join(pages)
