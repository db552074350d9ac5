"""Upload checks on real generated photos and PDFs: what is accepted, what is refused, and the advice given."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
import zlib

import pytest
from PIL import Image
from pypdf import PdfWriter

from bot.service.document_checks import (
    ADVICE,
    BLUR_THRESHOLD,
    MAX_BYTES,
    MAX_PIXELS,
    MIN_SHORT_SIDE,
    DocumentCheck,
    check_document,
    sniff_type,
)
from tests import hostile_files, samples


def refused(check: DocumentCheck, reason: str) -> bool:
    return not check.ok and check.reason == reason and check.advice == ADVICE[reason]


@pytest.mark.parametrize(("width", "height"), [(1200, 800), (800, 1200), (2000, 1500)])
def test_a_sharp_document_photo_is_accepted(width: int, height: int) -> None:
    check = check_document(samples.document_photo(width, height))
    assert check.ok and check.reason is None and check.advice is None
    assert (check.content_type, check.width, check.height) == ("image/jpeg", width, height)
    assert check.sharpness is not None and check.sharpness > 5 * BLUR_THRESHOLD


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_mostly_blank_id_card_with_a_few_sharp_edges_is_accepted(seed: int) -> None:
    check = check_document(samples.id_card_photo(seed=seed))
    assert check.ok, check
    assert check.sharpness is not None and check.sharpness > 2 * BLUR_THRESHOLD


@pytest.mark.parametrize("radius", [4, 5, 6, 8, 12])
@pytest.mark.parametrize("photo", [samples.document_photo, samples.id_card_photo, samples.png_photo])
def test_a_blurred_photo_is_refused_with_retake_advice(photo: samples.Photo, radius: float) -> None:
    check = check_document(photo(1200, 800, radius))
    assert refused(check, "blurry"), check
    assert check.sharpness is not None and check.sharpness < BLUR_THRESHOLD / 2
    assert check.advice is not None and "blurry" in check.advice


def test_blur_is_judged_at_reading_size_whatever_the_camera_resolution() -> None:
    assert refused(check_document(samples.document_photo(2000, 1500, blur=8)), "blurry")
    assert refused(check_document(samples.document_photo(800, 600, blur=4)), "blurry")
    assert check_document(samples.document_photo(800, 600)).ok


def test_a_tiny_image_is_refused_before_judging_blur() -> None:
    check = check_document(samples.document_photo(400, 300))
    assert refused(check, "too_small")
    assert (check.width, check.height, check.sharpness) == (400, 300, None)
    assert check_document(samples.document_photo(MIN_SHORT_SIDE, 900)).ok
    assert refused(check_document(samples.document_photo(MIN_SHORT_SIDE - 1, 900)), "too_small")


def test_exif_orientation_gives_the_size_the_applicant_sees() -> None:
    image = Image.open(io.BytesIO(samples.document_photo(1200, 800)))
    exif = image.getexif()
    exif[0x0112] = 6  # the phone was held upright: stored landscape, shown portrait
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    check = check_document(buffer.getvalue())
    assert check.ok and (check.width, check.height) == (800, 1200)


def test_png_and_webp_are_accepted_by_their_content() -> None:
    png = check_document(samples.png_photo())
    assert png.ok and png.content_type == "image/png"
    buffer = io.BytesIO()
    Image.open(io.BytesIO(samples.document_photo())).save(buffer, "WEBP", quality=90)
    webp = check_document(buffer.getvalue())
    assert webp.ok and webp.content_type == "image/webp"


def test_the_type_comes_from_the_bytes_never_from_the_name() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("setup.exe", b"MZ\x90\x00" + b"\x00" * 4096)
    for content in (archive.getvalue(), b"MZ\x90\x00" + b"\x00" * 4096, b"GIF89a" + b"\x00" * 100, b"hola"):
        check = check_document(content)  # e.g. uploaded as "ine.jpg" with Content-Type image/jpeg
        assert refused(check, "unsupported_type") and check.content_type is None
    assert sniff_type(samples.pdf_document()) == "application/pdf"
    assert sniff_type(b"junk before the header %PDF-1.7\n") == "application/pdf"


def test_a_heic_photo_gets_advice_on_how_to_send_it_as_a_photo() -> None:
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    check = check_document(heic)
    assert not check.ok and check.reason == "unsupported_type"
    assert check.advice == ADVICE["heic"]


def test_a_truncated_or_garbled_image_is_unreadable() -> None:
    photo = samples.document_photo()
    truncated = check_document(photo[: len(photo) // 2])
    assert refused(truncated, "unreadable") and truncated.content_type == "image/jpeg"
    assert refused(check_document(photo[:200]), "unreadable")
    assert refused(check_document(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50), "unreadable")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge picture: the decompression bomb shape, without the memory cost."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))


@pytest.mark.parametrize(("width", "height"), [(9_000, 9_000), (12_000, 12_000), (40_000, 40_000)])
def test_a_decompression_bomb_is_refused_without_decoding_it(width: int, height: int) -> None:
    started = time.perf_counter()
    assert refused(check_document(png_header_only(width, height)), "unreadable")
    assert time.perf_counter() - started < 0.5


def test_empty_and_oversized_uploads() -> None:
    assert refused(check_document(b""), "empty")
    pdf = samples.pdf_document()
    padded = pdf + b"\n%" + b"x" * (MAX_BYTES - len(pdf))  # a PDF comment: still a valid PDF, just too big
    check = check_document(padded)
    assert refused(check, "too_large") and check.content_type == "application/pdf"
    assert check_document(pdf, max_bytes=len(pdf)).ok
    assert refused(check_document(pdf, max_bytes=len(pdf) - 1), "too_large")


def test_a_scanned_pdf_is_accepted_with_its_page_count() -> None:
    check = check_document(samples.pdf_document(pages=3))
    assert check.ok and check.content_type == "application/pdf" and check.pages == 3
    assert check_document(samples.pdf_document(pages=10)).pages == 10


def test_a_pdf_with_more_than_ten_pages_is_refused() -> None:
    check = check_document(samples.pdf_document(pages=11))
    assert refused(check, "too_many_pages") and check.pages == 11


def test_a_password_protected_pdf_is_refused_but_a_print_restricted_one_is_fine() -> None:
    assert refused(check_document(samples.protected_pdf(user_password="secreto")), "encrypted_pdf")
    opens_without_password = check_document(samples.protected_pdf(user_password=""))
    assert opens_without_password.ok and opens_without_password.pages == 1


@pytest.mark.parametrize("content", [
    b"%PDF-1.7\nnot really a pdf",
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
])
def test_a_corrupt_pdf_is_unreadable_with_pdf_specific_advice(content: bytes) -> None:
    check = check_document(content)
    assert not check.ok and check.reason == "unreadable" and check.advice == ADVICE["unreadable_pdf"]


def test_a_pdf_without_pages_is_unreadable() -> None:
    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    check = check_document(buffer.getvalue())
    assert check.reason == "unreadable" and check.pages == 0


def test_a_truncated_pdf_is_unreadable() -> None:
    pdf = samples.pdf_document(pages=2)
    assert check_document(pdf[:300]).reason == "unreadable"


def test_every_advice_is_a_short_english_msgid() -> None:
    for advice in ADVICE.values():
        assert 20 < len(advice) < 160 and advice.endswith(".")


def test_a_12_megapixel_photo_is_checked_quickly() -> None:
    photo = samples.document_photo(4000, 3000)
    check_document(photo)  # warm the decoders up once
    started = time.perf_counter()
    check = check_document(photo)
    elapsed = time.perf_counter() - started
    assert check.ok and (check.width, check.height) == (4000, 3000)
    assert elapsed < 0.5


# -- hostile files: they cannot stall the server, fill its memory, or reach staff ------------------------------
def test_a_page_tree_of_100000_pages_is_refused_within_a_second_with_flat_memory() -> None:
    bomb = hostile_files.page_tree_pdf()
    check_document(samples.pdf_document())  # the checking process is started once per process
    started = time.perf_counter()
    tracemalloc.start()
    try:
        check = check_document(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused(check, "too_many_pages") and check.pages == 100_000
    assert time.perf_counter() - started < 1.0
    assert peak < 3 * len(bomb)  # the bytes handed to the child, not the 250 MB a walk of the tree costs


@pytest.mark.parametrize("count", [1, 10, 100_000])
def test_a_page_tree_hidden_from_byte_searches_is_refused_whatever_its_count_says(count: int) -> None:
    # "/P#61ge" is "/Page" to a PDF reader; no byte search counts it, so the reader's own walk must stop early.
    started = time.perf_counter()
    check = check_document(hostile_files.page_tree_pdf(4_000, count=count, page_type=b"/P#61ge"))
    assert refused(check, "too_many_pages") or refused(check, "complex_pdf"), check
    assert time.perf_counter() - started < 1.0


def test_a_page_count_that_lies_is_refused() -> None:
    assert refused(check_document(hostile_files.page_tree_pdf(30, count=3, page_type=b"/P#61ge")), "too_many_pages")
    lying = check_document(hostile_files.page_tree_pdf(5, count=3, page_type=b"/P#61ge"))
    assert lying.reason == "unreadable" and lying.advice == ADVICE["unreadable_pdf"]
    assert check_document(hostile_files.page_tree_pdf(5)).pages == 5


def test_a_pdf_with_too_many_objects_is_refused_without_parsing_them() -> None:
    pdf = hostile_files.one_page_pdf(b"", *[b"<< /N %d >>" % n for n in range(6_000)])
    assert refused(check_document(pdf), "complex_pdf")


@pytest.mark.parametrize(("content", "reason"), [
    (hostile_files.javascript_pdf(), "pdf_active_content"),
    (hostile_files.javascript_pdf(b"/J#61vaScript"), "pdf_active_content"),
    (hostile_files.javascript_pdf(b"/J#61vaScript", b"/J#53"), "pdf_active_content"),
    (hostile_files.launch_pdf(), "pdf_active_content"),
    (hostile_files.embedded_file_pdf(), "pdf_attachments"),
    (hostile_files.html_polyglot_pdf(), "polyglot"),
    (hostile_files.zip_polyglot_pdf(), "polyglot"),
])
def test_pdfs_with_scripts_actions_attachments_or_html_are_refused_with_specific_advice(
        content: bytes, reason: str) -> None:
    check = check_document(content)
    assert refused(check, reason) and check.content_type == "application/pdf", check
    assert check_document(hostile_files.one_page_pdf()).ok


def test_an_image_carrying_html_is_refused() -> None:
    check = check_document(samples.document_photo() + b"<script>alert(1)</script>")
    assert refused(check, "polyglot")


def test_pillow_decodes_under_its_bomb_limits_in_the_checking_process() -> None:
    # Between MAX_PIXELS and twice that Pillow only warns; in the checking process that warning is an error.
    assert refused(check_document(png_header_only(9_500, 9_000)), "unreadable")
    assert Image.MAX_IMAGE_PIXELS != MAX_PIXELS  # this process's Pillow is left alone


def test_a_check_that_takes_too_long_is_killed_and_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.service.document_checks as checks

    slow = hostile_files.one_page_pdf(b"/Junk 4 0 R", b"[" + b"0 " * 3_000_000 + b"]")  # ~1 s to parse
    check_document(samples.pdf_document())  # the checking process is started once per process
    monkeypatch.setattr(checks, "CHECK_WALL_SECONDS", 0.2)
    started = time.perf_counter()
    check = check_document(slow)
    assert check.reason == "unreadable" and check.advice == ADVICE["unreadable_pdf"]
    assert time.perf_counter() - started < 0.6
