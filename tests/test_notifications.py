"""The enrollment email through a real SMTP server on loopback, in the applicant's language, retried and
visible in the inbox when the server is down."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.core.clock import utcnow
from bot.web.app import create_app
from bot.wiring import Services, build_services
from bot.worker.mail import MailJob
from bot.worker.mailer import Mailer
from locales import translate
from storage.models import Case, Email
from tests.fakes.smtp import Recorder
from tests.helpers import Phone, enrolled_applicant, file_with_imss, free_port, login, make_settings, make_staff
from tests.samples import pdf_document


@pytest.fixture
def mail_services(database_url: str, tmp_path: Path, smtp: tuple[Recorder, int]) -> Iterator[Services]:
    settings = make_settings(database_url, tmp_path / "data", smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
                             mail_from="tramites@gestoria.mx")
    services = build_services(settings)
    yield services
    services.close()


def deliver_results(app: Flask, services: Services, phone: Phone) -> FlaskClient:
    make_staff(services)
    staff = app.test_client()
    login(staff)
    with services.database.session_scope() as session:
        case = session.execute(select(Case)).scalar_one()
        case_id, conversation_id = case.id, case.conversation_id
    file_with_imss(staff, conversation_id, case_id)
    with staff.session_transaction() as session:
        token = session["csrf"]
    response = staff.post(f"/inbox/c/{conversation_id}/case/{case_id}/results", content_type="multipart/form-data",
                          data={"csrf_token": token, "receipt": (io.BytesIO(pdf_document()), "r.pdf"),
                                "payment_slip": (io.BytesIO(pdf_document(seed=5)), "l.pdf")})
    assert response.status_code == 302
    return staff


@pytest.mark.parametrize(("locale", "subject_word"), [("es_MX", "inscripción"), ("en", "enrollment")])
def test_enrollment_email_reaches_the_smtp_server_with_both_pdfs(mail_services: Services, smtp: Any,
                                                                 locale: str, subject_word: str) -> None:
    app = create_app(mail_services.settings, mail_services)
    phone = Phone(app.test_client())
    if locale == "en":
        phone.send("hola")
        phone.send("idioma")
        phone.press("English")
    enrolled_applicant(phone)
    deliver_results(app, mail_services, phone)
    mailer = Mailer(mail_services.settings.smtp_url, "tramites@gestoria.mx", Path("/nonexistent"))
    assert MailJob(mail_services.database, mail_services.cipher, mailer).run_once() == 2  # + the payment receipt
    recorder, _ = smtp
    messages = [message_from_bytes(e.original_content or e.content, policy=policy.default)
                for e in recorder.envelopes]
    (message,) = [m for m in messages if subject_word in m["Subject"].lower()]
    assert "ana@example.mx" in message["To"]
    attachments = [part for part in message.iter_attachments()]
    assert [part.get_content_type() for part in attachments] == ["application/pdf", "application/pdf"]
    assert attachments[0].get_content().startswith(b"%PDF")
    with mail_services.database.session_scope() as session:
        assert session.execute(select(Email.status)).scalars().all() == ["sent", "sent"]


def test_a_down_server_is_retried_and_shown_in_the_inbox(database_url: str, tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    settings = make_settings(database_url, tmp_path / "data", smtp_url=f"smtp://127.0.0.1:{port}",
                             mail_from="tramites@gestoria.mx")
    services = build_services(settings)
    app = create_app(settings, services)
    phone = Phone(app.test_client())
    enrolled_applicant(phone)
    staff = deliver_results(app, services, phone)
    mailer = Mailer(settings.smtp_url, "tramites@gestoria.mx", Path("/nonexistent"))
    clock = [utcnow()]
    job = MailJob(services.database, services.cipher, mailer, clock=lambda: clock[0])
    job.run_once()
    with services.database.session_scope() as session:
        email = session.execute(select(Email).order_by(Email.id.desc()).limit(1)).scalar_one()
        assert (email.status, email.attempts) == ("queued", 1) and email.last_error
        conversation_id = session.execute(select(Case.conversation_id)).scalar_one()
    page = staff.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    assert 'id="email-state"' in page and translate("es_MX", "waiting to be sent") in page  # not the raw "queued"
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock[0] += timedelta(minutes=5)
        job.run_once()
    finally:
        controller.stop()
    with services.database.session_scope() as session:
        assert session.execute(select(Email.status)).scalars().all() == ["sent", "sent"]
    services.close()


def test_without_smtp_the_email_is_an_eml_file(services: Services, app: Flask, phone: Phone) -> None:
    enrolled_applicant(phone)
    deliver_results(app, services, phone)
    assert services.worker is not None
    mail_job = next(job.job for job in services.worker.jobs if isinstance(getattr(job, "job", None), MailJob))
    assert mail_job.run_once() == 2  # the payment receipt and the enrollment email
    files = list((services.settings.data_dir / "mail").glob("*.eml"))
    assert len(files) == 2 and all(b"application/pdf" in file.read_bytes() for file in files)
