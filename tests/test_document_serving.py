"""Hostile documents through the real entry points: refused at the web chat in time, never run in the inbox."""

from __future__ import annotations

import re
import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.service.document_checks import ADVICE
from bot.wiring import Services
from locales import translate
from storage.models import Document
from tests import hostile_files
from tests.helpers import Phone, enrolled_applicant, login, make_staff


def es(msgid: str) -> str:
    return translate("es_MX", msgid)


def test_the_page_tree_pdf_is_refused_at_the_web_chat_within_a_second(phone: Phone, services: Services) -> None:
    phone.send("hola")
    bomb = hostile_files.page_tree_pdf()
    started = time.perf_counter()
    replies = phone.upload(bomb, "constancia.pdf")
    assert time.perf_counter() - started < 1.5  # the first check also starts the checking process
    assert replies[0]["text"] == es(ADVICE["too_many_pages"])
    started = time.perf_counter()
    phone.upload(bomb, "otra.pdf")
    assert time.perf_counter() - started < 1.0


def test_pdfs_with_scripts_or_attachments_are_refused_kindly_and_never_stored(phone: Phone,
                                                                             services: Services) -> None:
    phone.send("hola")
    assert phone.upload(hostile_files.javascript_pdf(b"/J#61vaScript"), "a.pdf")[0]["text"] == \
        es(ADVICE["pdf_active_content"])
    assert phone.upload(hostile_files.launch_pdf(), "b.pdf")[0]["text"] == es(ADVICE["pdf_active_content"])
    assert phone.upload(hostile_files.embedded_file_pdf(), "c.pdf")[0]["text"] == es(ADVICE["pdf_attachments"])
    assert phone.upload(hostile_files.html_polyglot_pdf(), "d.pdf")[0]["text"] == es(ADVICE["polyglot"])
    with services.database.session_scope() as session:
        assert session.execute(select(Document)).first() is None


def test_staff_get_photos_in_a_sandbox_and_pdfs_as_downloads(app: Flask, services: Services, phone: Phone) -> None:
    enrolled_applicant(phone)
    make_staff(services)
    staff: FlaskClient = app.test_client()
    login(staff)
    with services.database.session_scope() as session:
        photo = session.execute(select(Document).where(Document.slot == "id_front")).scalar_one()
        pdf = session.execute(select(Document).where(Document.content_type == "application/pdf")).scalars().first()
        assert pdf is not None
        photo_token, photo_id, pdf_token, pdf_id, pdf_slot = (photo.access_token, photo.id, pdf.access_token,
                                                              pdf.id, pdf.slot)
    shown = staff.get(f"/inbox/documents/{photo_token}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    # named after the document and the folio (issue 18), in ASCII
    assert re.fullmatch(rf'inline; filename="[a-z-]+-frente-PTI-2026-\d{{6}}-{photo_id}\.jpg"',
                        shown.headers["Content-Disposition"])
    assert shown.headers["Content-Security-Policy"].split(";")[0] == "sandbox"
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    downloaded = staff.get(f"/inbox/documents/{pdf_token}")
    assert downloaded.status_code == 200 and downloaded.mimetype == "application/pdf"
    assert re.fullmatch(rf'attachment; filename="[A-Za-z-]+-PTI-2026-\d{{6}}-{pdf_id}\.pdf"',
                        downloaded.headers["Content-Disposition"]), pdf_slot
    assert downloaded.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in downloaded.headers["Content-Security-Policy"]
    forced = staff.get(f"/inbox/documents/{photo_token}?download=1")
    assert forced.headers["Content-Disposition"].startswith("attachment; ")
