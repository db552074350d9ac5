"""What a PDF holds, judged without trusting what it says about itself: its pages, scripts and attachments.

A PDF describes itself (how many pages, where its objects are) and a hostile one lies: a page tree listing
100,000 pages, a /Count of 1 over thousands of pages, script names spelled with #-escapes or hidden in
compressed object streams. Byte searches settle the plain cases in milliseconds; the parsed objects, looked at
within fixed budgets, settle the rest. Both return a reason code for `document_checks` to explain, or None.
"""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

MAX_PAGES = 10
# A 10-page scan has a few dozen objects, an office export a few hundred; the page-tree bomb has 100,000.
MAX_PDF_OBJECTS = 5_000
Verdict = tuple[str | None, int | None]
"""(reason the PDF is refused, or None; its page count when known)."""

# Only names long enough never to turn up by chance in 10 MB of compressed image data (a 3-byte "/JS" would,
# about once per such file); short ones and #-escaped spellings are found by looking at the parsed objects.
_RAW_ACTIVE = re.compile(rb"/(JavaScript|Launch|RichMedia|SubmitForm|ImportData)(?![A-Za-z0-9#])")
_RAW_ATTACHED = re.compile(rb"/EmbeddedFiles?(?![A-Za-z0-9#])")
_RAW_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z0-9#])")
_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/Launch", "/RichMedia", "/XFA", "/AA"})
_ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/RichMediaExecute"})
_ATTACHED_KEYS = frozenset({"/EmbeddedFiles", "/EmbeddedFile", "/EF"})


def screen_pdf(content: bytes) -> Verdict:
    """Refusals a byte search settles, before any parser runs: whatever the file claims, in milliseconds."""
    header = content.find(b"%PDF-")
    if header > 0 and content[:header].strip():
        return "polyglot", None  # something else first: an HTML page, a script
    if _RAW_ACTIVE.search(content):
        return "pdf_active_content", None
    if _RAW_ATTACHED.search(content):
        return "pdf_attachments", None
    pages = len(_RAW_PAGE.findall(content))
    if pages > MAX_PAGES:
        return "too_many_pages", pages
    if content.count(b"endobj") > MAX_PDF_OBJECTS:
        return "complex_pdf", None
    return None, None


def examine_pdf(content: bytes) -> Verdict:
    """Open the PDF and judge its structure; run it where its cost is bounded (see `document_checks`)."""
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            # An empty user password (only printing or copying restricted) opens anywhere; a real one does not.
            return "encrypted_pdf", None
        objects = [(number, generation) for generation, numbers in reader.xref.items() for number in numbers]
        objects += [(number, 0) for number in reader.xref_objStm]
        if len(objects) > MAX_PDF_OBJECTS:
            return "complex_pdf", None
        pages = _page_count(reader)
        # Names may hide behind #-escapes or inside compressed object streams: look at every parsed object.
        found = _active_content(reader.get_object(IndirectObject(number, generation, reader))
                                for number, generation in objects)
    except _TooManyPages as error:
        return "too_many_pages", error.pages
    except Exception:  # pypdf raises many kinds of errors (not only PdfReadError) on hostile or corrupt input
        return "unreadable", None
    if found:
        return found, pages
    return ("unreadable", 0) if pages == 0 else (None, pages)


class _TooManyPages(Exception):
    def __init__(self, pages: int) -> None:
        super().__init__(pages)
        self.pages = pages


def _active_content(objects: Any) -> str | None:
    """"pdf_active_content" for scripts and actions, "pdf_attachments" for files inside, else None."""
    budget = [50 * MAX_PDF_OBJECTS]  # direct values looked at, in all

    def visit(value: Any, depth: int) -> str | None:
        budget[0] -= 1
        if budget[0] < 0 or depth > 32:
            return "complex_pdf"
        if isinstance(value, DictionaryObject):
            keys = set(value.keys())
            if keys & _ACTIVE_KEYS or value.get("/S") in _ACTIVE_ACTIONS:
                return "pdf_active_content"
            if keys & _ATTACHED_KEYS or value.get("/Type") == "/EmbeddedFile":
                return "pdf_attachments"
            children: Any = value.values()
        elif isinstance(value, ArrayObject):
            children = value
        else:
            return None
        for child in children:
            if not isinstance(child, IndirectObject):  # indirect ones are visited on their own
                found = visit(child, depth + 1)
                if found:
                    return found
        return None

    for value in objects:
        found = visit(value, 0)
        if found:
            return found
    return None


def _page_count(reader: PdfReader) -> int:
    """The page count from the root's /Count, checked by a walk that stops past MAX_PAGES.

    `len(reader.pages)` would walk the whole tree however big it claims to be; here a tree that lists more
    pages than its /Count says, or loops, is refused after visiting at most a few dozen nodes.
    """
    catalog = reader.trailer["/Root"].get_object()
    if not isinstance(catalog, DictionaryObject):
        raise ValueError("no catalog")
    root = catalog["/Pages"].get_object()
    claimed = root.get("/Count") if isinstance(root, DictionaryObject) else None
    if not isinstance(claimed, int) or claimed < 0:
        raise ValueError("no page count")
    if claimed > MAX_PAGES:
        raise _TooManyPages(int(claimed))
    leaves, nodes, seen = 0, 0, set()
    stack: list[Any] = [catalog.raw_get("/Pages")]
    while stack:
        reference = stack.pop()
        if isinstance(reference, IndirectObject):
            if reference.idnum in seen:
                raise ValueError("the page tree loops")
            seen.add(reference.idnum)
        node = reference.get_object()
        nodes += 1
        if nodes > 4 * MAX_PAGES + 8 or not isinstance(node, DictionaryObject):
            raise ValueError("a page tree deeper or odder than any real PDF")
        kids = node.raw_get("/Kids") if "/Kids" in node else None
        if kids is None:
            leaves += 1
            if leaves > MAX_PAGES:
                raise _TooManyPages(leaves)  # /Count lied
            continue
        kids = kids.get_object()
        if not isinstance(kids, ArrayObject):
            raise ValueError("page tree /Kids is not an array")
        if len(kids) > MAX_PAGES:
            raise _TooManyPages(len(kids))
        stack.extend(reversed(kids))
    if leaves != claimed:
        raise ValueError("/Count does not match the page tree")
    return leaves
