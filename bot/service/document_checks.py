"""Checks an uploaded document before it is stored: real type, size, resolution, sharpness and PDF pages.

Applicants photograph their ID, tax certificate and proof of address with a phone. A photo staff cannot
read costs a round trip days later, so we judge it the moment it arrives and, when it fails, tell the
applicant exactly how to retake it. Everything here works on bytes only: no network, no disk.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter
from pypdf import PasswordType, PdfReader

from locales import N_

MAX_BYTES = 10 * 1024 * 1024
MAX_PAGES = 10
MIN_SHORT_SIDE = 600
# Below Pillow's own 89 MP warning, far above any phone photo that fits in 10 MB: more is a decompression bomb.
MAX_PIXELS = 80_000_000
# Sharpness is judged at the size a person reads the document on screen, whatever the camera resolution.
SHARPNESS_LONG_SIDE = 1000
# Variance of a Laplacian-of-Gaussian at that size. Generated samples (tests/samples.py, with sensor noise)
# measure: sharp document 430-480, sharp mostly blank ID card 85-110 (26-29 at half the contrast), the same
# at 1200x800 blurred with a Gaussian radius of 4 px or more 4.7-5.7 (radius 2: 11-25). 20 sits between,
# nearer the blurred side so that a dim but sharp photo is not refused.
BLUR_THRESHOLD = 20.0

JPEG, PNG, WEBP, PDF = "image/jpeg", "image/png", "image/webp", "application/pdf"
ACCEPTED_TYPES = frozenset({JPEG, PNG, WEBP, PDF})
_PILLOW_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}
# ISO-BMFF brands of HEIC/HEIF/AVIF: iPhones save photos this way; Pillow here cannot open HEIC.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
# EXIF orientations 5-8 store the picture turned by 90 degrees: width and height swap.
_QUARTER_TURNS = {5, 6, 7, 8}

ADVICE = {
    "empty": N_("The file arrived empty. Please send the photo or PDF again."),
    "too_large": N_("The file is too big. Send a regular photo from your phone's camera, or a smaller PDF."),
    "unsupported_type": N_("We can't open this kind of file. Please send a photo (JPG) or a PDF."),
    "heic": N_("Your phone saved the photo as HEIC, which we can't open. Send it as a photo, not as a file, "
               "or send a PDF."),
    "unreadable": N_("We couldn't open the photo; it may be damaged. Please take it again and resend it."),
    "unreadable_pdf": N_("We couldn't open the PDF; it may be damaged. Download it again and resend it, "
                         "or send a photo of the document."),
    "too_small": N_("The photo is too small to read. Take it again up close, so the document fills the screen."),
    "blurry": N_("The photo came out blurry. Rest your phone on a table, use good light and try again."),
    # Keep the number in step with MAX_PAGES.
    "too_many_pages": N_("The PDF has more than 10 pages. Send only the pages of the document we asked for."),
    "encrypted_pdf": N_("The PDF is protected with a password. Send it without the password, "
                        "or send a photo of the document."),
}


@dataclass(frozen=True, slots=True)
class DocumentCheck:
    """The verdict on one upload.

    Attributes:
        ok: the document can be stored and shown to staff.
        content_type: the type found in the bytes themselves, when it is one we know.
        reason: why it was refused, a short code (`"blurry"`, `"too_small"`, ...), or None.
        advice: an English msgid telling the applicant how to fix it, or None.
        width, height: image size in pixels as the applicant sees it (EXIF orientation applied).
        pages: number of pages of a PDF.
        sharpness: Laplacian variance at SHARPNESS_LONG_SIDE; below BLUR_THRESHOLD is blurry.
    """

    ok: bool
    content_type: str | None = None
    reason: str | None = None
    advice: str | None = None
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    sharpness: float | None = None


def _refuse(reason: str, content_type: str | None = None, *, advice: str | None = None, width: int | None = None,
            height: int | None = None, pages: int | None = None, sharpness: float | None = None) -> DocumentCheck:
    """A refusal; `advice` picks a more specific text than the reason's own (a PDF, a HEIC photo)."""
    return DocumentCheck(False, content_type, reason, ADVICE[advice or reason], width, height, pages, sharpness)


def sniff_type(content: bytes) -> str | None:
    """The content type by magic bytes; the declared type and the file name are never trusted.

    Returns:
        One of ACCEPTED_TYPES, or None for anything else.
    """
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    # The PDF header may follow some junk within the first kilobyte; every reader accepts that.
    if b"%PDF-" in content[:1024]:
        return PDF
    return None


def _is_heif(content: bytes) -> bool:
    return content[4:8] == b"ftyp" and content[8:12] in _HEIF_BRANDS


def check_document(content: bytes, max_bytes: int = MAX_BYTES) -> DocumentCheck:
    """Decide whether an upload is usable, and if not, what the applicant should do.

    Args:
        content: the uploaded bytes, exactly as received.
        max_bytes: the largest file accepted.

    Returns:
        A DocumentCheck; `advice` is a msgid to render in the conversation's locale.
    """
    if not content:
        return _refuse("empty")
    if len(content) > max_bytes:
        return _refuse("too_large", sniff_type(content))
    content_type = sniff_type(content)
    if content_type is None:
        return _refuse("unsupported_type", advice="heic" if _is_heif(content) else None)
    if content_type == PDF:
        return _check_pdf(content)
    return _check_image(content, content_type)


def _check_image(content: bytes, content_type: str) -> DocumentCheck:
    try:
        # `formats` keeps Pillow to the one decoder the magic bytes named: less parser surface.
        with Image.open(io.BytesIO(content), formats=[_PILLOW_FORMATS[content_type]]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return _refuse("unreadable", content_type, width=width, height=height)
            if image.getexif().get(0x0112) in _QUARTER_TURNS:
                width, height = height, width
            if min(width, height) < MIN_SHORT_SIDE:
                return _refuse("too_small", content_type, width=width, height=height)
            gray = _reading_size_gray(image)
    except Exception:
        # Pillow raises many kinds of errors on hostile or truncated input (OSError, SyntaxError, ValueError,
        # DecompressionBombError; DecompressionBombWarning too when warnings are errors): all mean unreadable.
        return _refuse("unreadable", content_type)
    # A quarter turn or a mirror does not change a Laplacian's variance, so the pixels need not be rotated.
    sharpness = laplacian_variance(gray)
    if sharpness < BLUR_THRESHOLD:
        return _refuse("blurry", content_type, width=width, height=height, sharpness=sharpness)
    return DocumentCheck(True, content_type, width=width, height=height, sharpness=sharpness)


def _reading_size_gray(image: Image.Image) -> Image.Image:
    """Decode a grayscale copy whose long side is about SHARPNESS_LONG_SIDE.

    For JPEG, `draft` lets the decoder scale by 1/2, 1/4 or 1/8 while decoding, which makes a
    12-megapixel photo several times cheaper; decoding still reads the whole stream, so truncation shows.
    """
    scale = SHARPNESS_LONG_SIDE / max(image.size)
    if image.format == "JPEG" and scale < 1:
        image.draft("L", (max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    image.load()
    gray = image.convert("L")
    scale = SHARPNESS_LONG_SIDE / max(gray.size)
    if scale < 1:
        size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
        gray = gray.resize(size, Image.Resampling.BOX)
    return gray


def laplacian_variance(gray: Image.Image) -> float:
    """How much fine detail an image has: the variance of its Laplacian after a 1 px Gaussian.

    The light Gaussian first (a Laplacian of Gaussian) keeps camera sensor noise from passing for detail,
    so a blurred but grainy photo still measures low.
    """
    pixels = np.asarray(gray.filter(ImageFilter.GaussianBlur(1.0)), dtype=np.float32)
    if pixels.shape[0] < 3 or pixels.shape[1] < 3:
        return 0.0
    centre = pixels[1:-1, 1:-1]
    laplacian = pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:] - 4.0 * centre
    return float(laplacian.var())


def _check_pdf(content: bytes) -> DocumentCheck:
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            # An empty user password (only printing or copying restricted) opens anywhere; a real one does not.
            return _refuse("encrypted_pdf", PDF)
        pages = len(reader.pages)
    except Exception:  # pypdf raises many kinds of errors (not only PdfReadError) on hostile or corrupt input
        return _refuse("unreadable", PDF, advice="unreadable_pdf")
    if pages == 0:
        return _refuse("unreadable", PDF, advice="unreadable_pdf", pages=0)
    if pages > MAX_PAGES:
        return _refuse("too_many_pages", PDF, pages=pages)
    return DocumentCheck(True, PDF, pages=pages)
