"""The receipt of a confirmed payment: a PDF with the business, concept, amount, IVA, total, date and reference,
sent in the chat and, through a real SMTP server on loopback, by email; issued once however often it is confirmed."""

from __future__ import annotations

import io
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.config import Settings
from bot.core.clock import utcnow
from bot.wiring import Services
from bot.worker.mail import MailJob
from bot.worker.mailer import Mailer
from locales import translate
from storage.conversations import ConversationRepository
from storage.models import Conversation, Document, Email, Payment
from tests.fakes.smtp import Recorder
from tests.helpers import RFC, Phone, applicant_at_summary, make_settings, pay_by_transfer


@pytest.fixture
def settings(database_url: str, tmp_path: Path, smtp: tuple[Recorder, int]) -> Settings:
    return make_settings(database_url, tmp_path / "data", smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
                         mail_from="tramites@gestoria.mx", business_name="Gestoría Ejemplo")


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_a_confirmed_transfer_sends_its_receipt_by_chat_and_email(phone: Phone, services: Services,
                                                                  smtp: tuple[Recorder, int]) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    pay_by_transfer(phone)
    with services.database.session_scope() as session:
        payment = session.execute(select(Payment)).scalar_one()
        reference, payment_id = str(payment.reference), payment.id
    receipts = [m for m in phone.last if m["attachments"]]
    assert len(receipts) == 1 and reference in receipts[0]["text"] and "$1,499.00" in receipts[0]["text"]
    attachment = receipts[0]["attachments"][0]
    assert attachment["filename"] == f"recibo-{reference}.pdf"
    response = phone.client.get(attachment["url"])
    assert response.status_code == 200
    text = pdf_text(response.get_data())
    for part in ("Gestoría Ejemplo", "Recibo de pago", reference, "$1,292.24 MXN", "$206.76 MXN",
                 "$1,499.00 MXN", "PTI-", "2026"):
        assert part in text, (part, text)

    mailer = Mailer(services.settings.smtp_url, "tramites@gestoria.mx", Path("/nonexistent"))
    assert MailJob(services.database, services.cipher, mailer).run_once() == 1
    raw = smtp[0].envelopes[-1].original_content or smtp[0].envelopes[-1].content
    assert isinstance(raw, bytes)
    message = message_from_bytes(raw, policy=policy.default)
    assert "ana@example.mx" in message["To"] and "Gestoría Ejemplo" in message["Subject"]
    (pdf,) = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert "$1,499.00 MXN" in pdf_text(pdf.get_content()) and reference in pdf_text(pdf.get_content())

    # confirmed again (a second click, a replayed webhook): nothing is applied, no second receipt
    with services.database.session_scope() as session:
        assert not services.turns.payments.apply_paid(session, payment_id, "ana@gestoria.mx", utcnow())
    with services.database.session_scope() as session:
        assert session.execute(select(func.count()).select_from(Email)).scalar_one() == 1
        documents = session.execute(select(Document).where(Document.slot == "fee_receipt")).scalars().all()
        assert len(documents) == 1 and documents[0].case_id is not None


def test_the_receipt_is_in_english_for_an_english_conversation(phone: Phone, services: Services) -> None:
    phone.send("hola")
    phone.send("idioma")
    phone.press("English")
    applicant_at_summary(phone)
    phone.send("1")
    pay_by_transfer(phone)
    (receipt,) = [m for m in phone.last if m["attachments"]]
    text = pdf_text(phone.client.get(receipt["attachments"][0]["url"]).get_data())
    for part in ("Payment receipt", "Amount before IVA", "$1,292.24 MXN", "Total paid"):
        assert part in text, (part, text)


def es(msgid: str) -> str:
    return translate("es_MX", msgid)


def test_invoice_data_is_recorded_for_staff_while_the_payment_is_pending(phone: Phone, services: Services) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    phone.send("acepto")
    phone.send("quiero factura")  # at the transfer details: how to give the data
    assert "*estado*" in phone.text() and es("I need an invoice (CFDI)") in phone.text()
    phone.send("estado")
    phone.press(es("I need an invoice (CFDI)"))
    assert RFC in phone.text()  # the RFC we have, to confirm
    phone.send("no")
    phone.send("GODE56123")  # too short: corrected, asked again
    assert "13" in phone.text()
    phone.send("GODE561231AB1")
    assert set(phone.buttons()) >= {es("626 RESICO"), es("612 Business and professional activities")}
    phone.send("626")
    phone.send("0660")
    assert "5" in phone.text()
    phone.send("C.P. 44100")  # Guadalajara: not the applicant's home, and not a border-zone answer
    done = phone.text()
    for part in ("GODE561231AB1", es("626 RESICO"), "44100", "PTI-P"):
        assert part in done, (part, done)
    with services.database.session_scope() as session:
        conversation_id = session.execute(select(Conversation.id)).scalar_one()
        data = ConversationRepository(session, services.cipher).lock_by_id(conversation_id)
        assert data is not None
        values = data.data
    assert (values["invoice_rfc"], values["invoice_regime"], values["invoice_postal_code"]) == (
        "GODE561231AB1", "626", "44100")
    assert values["rfc"] == RFC and values["postal_code"] == "06600" and values["invoice_requested"] is True
