"""Reading a stored document: the PDF's own text first, OCR (Tesseract) otherwise, then its fields (issue 21).

It runs in the worker, never in a turn, on files that already passed `document_checks`. Every step is bounded: a
few pages, a pixel budget per page, and a Tesseract time limit per page (Tesseract runs as its own process, so a
hard page costs that process, not ours). Whatever goes wrong, the answer is "not read": reading helps staff, it
never stands between the applicant and their enrollment. Nothing read is logged.
"""

from __future__ import annotations

import io
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from PIL import Image, ImageOps

from flows.rules.document_fields import Field, extract_fields

log = logging.getLogger(__name__)

MAX_PAGES = 2  # the fields we read are on the first page (the INE's two sides are two uploads)
PAGE_TIMEOUT_SECONDS = 8
# Text as big as Tesseract likes it (capital letters about 30 px) without reading a 12-megapixel photo whole.
OCR_LONG_SIDE = 2000
OCR_MIN_LONG_SIDE = 1200
OCR_MAX_PIXELS = 4_000_000
MIN_PDF_TEXT = 40  # characters of text layer below which a PDF is taken for a scan
DESKEW_DEGREES = 6.0
LANGUAGES = "spa"  # adding "eng" costs a third more time for nothing on these documents


@dataclass(frozen=True, slots=True)
class PageText:
    text: str
    quality: float  # 1.0 for a PDF text layer; Tesseract's mean word confidence otherwise


@dataclass(frozen=True, slots=True)
class DocumentRead:
    """What reading a document gave: its fields, how it was read, and how long it took."""

    fields: dict[str, Field] = field(default_factory=dict)
    method: str = "none"  # pdf_text | ocr | none
    milliseconds: int = 0
    pages: int = 0


def tesseract_available() -> bool:
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
    except Exception:  # not installed, or not runnable here
        return False
    return True


def read_document(content: bytes, content_type: str, slot: str, today: date) -> DocumentRead:
    """Read one document's fields; "not read" (no fields) whenever the text cannot be had."""
    started = time.monotonic()
    try:
        pages, method = _pages(content, content_type)
    except Exception as error:  # the boundary: a file we cannot read is "not read", never an error
        log.info("document not read: %s", type(error).__name__)
        pages, method = [], "none"
    text = "\n".join(page.text for page in pages)
    quality = min((page.quality for page in pages), default=0.0)
    fields = extract_fields(slot, text, quality, today) if text.strip() else {}
    return DocumentRead(fields, method if pages else "none", int((time.monotonic() - started) * 1000), len(pages))


def _pages(content: bytes, content_type: str) -> tuple[list[PageText], str]:
    if content_type == "application/pdf":
        return _pdf_pages(content)
    with Image.open(io.BytesIO(content)) as image:
        return [ocr_page(image)], "ocr"


def _pdf_pages(content: bytes) -> tuple[list[PageText], str]:
    """The text layer of the first pages; a scanned PDF's largest picture per page goes to OCR instead."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    pages = list(reader.pages[:MAX_PAGES])
    texts = [page.extract_text() or "" for page in pages]
    if sum(len("".join(text.split())) for text in texts) >= MIN_PDF_TEXT:
        return [PageText(text, 1.0) for text in texts], "pdf_text"
    scanned = []
    for page in pages:
        pictures = sorted(page.images, key=lambda picture: len(picture.data), reverse=True)
        if pictures:
            with Image.open(io.BytesIO(pictures[0].data)) as image:
                scanned.append(ocr_page(image))
    return scanned, "ocr"


def prepare(image: Image.Image) -> Image.Image:
    """Grayscale, bounded in pixels, straightened and thresholded: what Tesseract reads best."""
    if image.format == "JPEG":
        image.draft("L", (OCR_LONG_SIDE, OCR_LONG_SIDE))  # decode at a fraction of the size: cheaper
    gray = ImageOps.exif_transpose(image).convert("L")
    long_side = max(gray.size)
    target = min(max(long_side, OCR_MIN_LONG_SIDE), OCR_LONG_SIDE)
    scale = min(target / long_side, (OCR_MAX_PIXELS / (gray.width * gray.height)) ** 0.5)
    if abs(scale - 1) > 0.05:
        gray = gray.resize((max(1, int(gray.width * scale)), max(1, int(gray.height * scale))),
                           Image.Resampling.LANCZOS)
    gray = ImageOps.autocontrast(gray, cutoff=1)
    angle = skew_angle(gray)
    if abs(angle) >= 0.5:
        gray = gray.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    pixels = np.asarray(gray)
    level = otsu_level(pixels)
    return Image.fromarray(np.where(pixels > level, 255, 0).astype(np.uint8))


def otsu_level(pixels: np.ndarray) -> int:
    """The gray level that best splits ink from paper (Otsu's method)."""
    histogram = np.bincount(pixels.ravel(), minlength=256).astype(np.float64)
    weights = np.cumsum(histogram)
    means = np.cumsum(histogram * np.arange(256))
    total, total_mean = weights[-1], means[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (total_mean * weights - means * total) ** 2 / (weights * (total - weights))
    return int(np.nanargmax(between))


def skew_angle(gray: Image.Image) -> float:
    """The small rotation that makes text lines horizontal: the one whose row profile is sharpest."""
    small = gray.copy()
    small.thumbnail((600, 600))
    ink = np.asarray(small) < otsu_level(np.asarray(small))
    sample = Image.fromarray((ink * 255).astype(np.uint8))
    best, best_score = 0.0, -1.0
    for angle in np.arange(-DESKEW_DEGREES, DESKEW_DEGREES + 0.01, 0.5):
        rows = np.asarray(sample.rotate(float(angle), resample=Image.Resampling.NEAREST)).sum(axis=1, dtype=np.float64)
        score = float(np.square(np.diff(rows)).sum())
        if score > best_score:
            best, best_score = float(angle), score
    return best


def ocr_page(image: Image.Image) -> PageText:
    """Tesseract on one prepared page, bounded by PAGE_TIMEOUT_SECONDS; lines rebuilt from its word boxes."""
    import pytesseract

    # Tesseract's OpenMP threads fight each other and every other process on a busy machine: one thread per page
    # measured three times faster under load (5 s instead of 17 s for a dense page). Read by the child it starts.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    prepared = prepare(image)
    data = pytesseract.image_to_data(prepared, lang=LANGUAGES, config="--psm 3", timeout=PAGE_TIMEOUT_SECONDS,
                                     output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for index, word in enumerate(data["text"]):
        word = (word or "").strip()
        if not word:
            continue
        key = (data["block_num"][index], data["par_num"][index], data["line_num"][index])
        lines.setdefault(key, []).append(word)
        confidence = float(data["conf"][index])
        if confidence >= 0 and len(word) > 1:
            confidences.append(confidence)
    text = "\n".join(" ".join(words) for _, words in sorted(lines.items()))
    quality = round(sum(confidences) / len(confidences) / 100, 2) if confidences else 0.0
    return PageText(text, quality)
