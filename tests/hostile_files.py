"""Hostile uploads, generated on the fly: files that lie about themselves to stall, fill or poison the server.

Each is built from raw PDF syntax or encoded images, so no binary fixture is needed and each attack reads in
plain text. The benchmark (bench/document_checks.py) uses the same generators.
"""

from __future__ import annotations

import io
import zipfile

from tests.samples import pdf_document


def raw_pdf(objects: list[bytes], *, prefix: bytes = b"", suffix: bytes = b"") -> bytes:
    """A PDF of these object bodies (object 1 is the catalog), with a correct cross-reference table."""
    out = bytearray(prefix + b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out) + suffix


def page_tree_pdf(pages: int = 100_000, count: int | None = None, page_type: bytes = b"/Page") -> bytes:
    """The stall: a root page tree listing `pages` tiny pages (~7 MB for 100,000), whose /Count says `count`.

    `len(PdfReader(...).pages)` walks all of them: ~10 s of CPU and ~250 MB before any page limit is checked.
    `page_type` lets a test spell the name with #-escapes (`/P#61ge`) so no byte search finds it.
    """
    kids = b" ".join(b"%d 0 R" % (n + 3) for n in range(pages))
    tree = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages if count is None else count)
    page = b"<< /Type %s /Parent 2 0 R >>" % page_type
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", tree, *[page] * pages])


def one_page_pdf(catalog_extra: bytes = b"", *extra_objects: bytes) -> bytes:
    """A valid one-page PDF whose catalog carries `catalog_extra` (objects from 4 on are `extra_objects`)."""
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R %s >>" % catalog_extra,
                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>", *extra_objects])


def javascript_pdf(spelling: bytes = b"/JavaScript", key: bytes = b"/JS") -> bytes:
    """Runs a script when opened (OpenAction); `spelling` may be #-escaped, e.g. `/J#61vaScript`."""
    return one_page_pdf(b"/OpenAction 4 0 R", b"<< /Type /Action /S %s %s (app.alert(1)) >>" % (spelling, key))


def launch_pdf() -> bytes:
    """Asks the viewer to run a program when opened."""
    return one_page_pdf(b"/OpenAction << /S /Launch /F (cmd.exe) >>")


def embedded_file_pdf() -> bytes:
    """Carries an executable inside its names tree."""
    return one_page_pdf(
        b"/Names << /EmbeddedFiles << /Names [(setup.exe) 4 0 R] >> >>",
        b"<< /Type /Filespec /F (setup.exe) /EF << /F 5 0 R >> >>",
        b"<< /Type /EmbeddedFile /Length 4 >>\nstream\nMZ\x90\x00\nendstream")


def html_polyglot_pdf() -> bytes:
    """Opens as a PDF, and as a page with a script if a browser ever sniffs it as HTML."""
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R >>"],
                   prefix=b"<html><script>fetch('/inbox/admin')</script>")


def zip_polyglot_pdf() -> bytes:
    """A real scanned PDF with a ZIP archive glued to its end."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("setup.exe", b"MZ" + b"\x00" * 64)
    return pdf_document() + archive.getvalue()
