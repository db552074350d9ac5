"""Contracting and paying by SPEI through the web chat and the inbox: the applicant sees what they buy and its
price, accepts (recorded), gets the CLABE and a unique reference, sends the receipt; staff reject it (the
applicant hears why) or confirm it, and only then is the case filed, once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.wiring import Services
from locales import translate
from storage.models import AuditEntry, Case, Consent, Contract, Document, Payment
from tests.helpers import Phone, applicant_at_summary, make_settings, post_form
from tests.samples import document_photo, pdf_document


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Any:
    return make_settings(database_url, tmp_path / "data", spei_clabe="014180655000000017",
                         spei_beneficiary="Gestoría PTI SA de CV")


def cases(services: Services) -> int:
    with services.database.session_scope() as session:
        return int(session.execute(select(func.count()).select_from(Case)).scalar_one())


def the_payment(services: Services) -> Payment:
    with services.database.session_scope() as session:
        payment = session.execute(select(Payment)).scalar_one()
        session.expunge(payment)
        return payment


def test_the_case_is_filed_only_once_staff_confirm_the_transfer(phone: Phone, services: Services,
                                                                staff_client: FlaskClient) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    offer = phone.text()
    for part in ("Total $1,499.00 MXN (IVA incluido)", "No incluye las cuotas del IMSS",
                 "No hay reembolsos, ni totales ni parciales, una vez iniciado el trámite"):
        assert part in offer
    assert cases(services) == 0
    phone.send("cuanto cuesta?")  # asked again at the contract: the same price, from the data
    assert "Total $1,499.00 MXN (IVA incluido)" in phone.text()
    phone.press(es("I accept"))
    instructions = phone.text()
    payment = the_payment(services)
    assert payment.status == "pending" and payment.amount_centavos == 149900 and payment.method == "spei"
    for part in ("014180655000000017", "Gestoría PTI SA de CV", payment.reference, "$1,499.00 MXN"):
        assert part in instructions, part
    assert cases(services) == 0
    with services.database.session_scope() as session:
        contract = session.execute(select(Contract)).scalar_one()
        assert (contract.kind, contract.plan, contract.amount_centavos) == ("service", "service", 149900)
        assert contract.text_version and contract.message_id and contract.case_id is None
        kinds = [c.kind for c in session.execute(select(Consent).where(Consent.accepted)).scalars()]
        assert "service_contract" in kinds

    phone.send("estado")
    assert payment.reference in phone.text() and es("Pay or send the receipt") in phone.buttons()
    phone.press(es("Pay or send the receipt"))
    phone.upload(document_photo(seed=31), "transferencia.jpg")
    assert es("Thank you! An advisor checks your transfer and then we file your enrollment with IMSS. I will "
              "tell you here.") in phone.text()
    assert cases(services) == 0

    cid = int(re.search(r"/inbox/c/(\d+)", staff_client.get("/inbox/").get_data(as_text=True)
                        ).group(1))  # type: ignore[union-attr]
    page = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert 'id="service-payment"' in page and payment.reference in page and 'id="payment-receipt"' in page
    url = f"/inbox/c/{cid}/service-payment/{payment.id}"
    assert staff_client.post(f"{url}/confirm").status_code == 400  # no CSRF token, nothing changes
    assert the_payment(services).status == "pending"

    post_form(staff_client, f"{url}/reject", reason="El monto no coincide")
    phone.poll()
    assert "No pudimos confirmar tu transferencia: El monto no coincide" in phone.text()
    assert the_payment(services).status == "pending" and cases(services) == 0
    phone.upload(pdf_document(), "transferencia.pdf")

    assert post_form(staff_client, f"{url}/confirm").status_code == 302
    phone.poll()
    folio = re.search(r"PTI-2026-\d{6}", phone.text())
    assert folio, phone.text()
    paid = the_payment(services)
    assert paid.status == "paid" and paid.confirmed_by == "ana@gestoria.mx" and paid.paid_at is not None
    post_form(staff_client, f"{url}/confirm")  # a second click applies nothing
    assert cases(services) == 1
    with services.database.session_scope() as session:
        case = session.execute(select(Case)).scalar_one()
        contract = session.execute(select(Contract)).scalar_one()
        assert contract.case_id == case.id and case.folio == folio.group(0)
        actions = [a.action for a in session.execute(select(AuditEntry)).scalars()]
        assert actions.count("payment_confirm") == 2 and actions.count("payment_reject") == 1
    page = staff_client.get(f"/inbox/c/{cid}").get_data(as_text=True)
    assert f'id="payment-status">{es("paid")}</strong>' in page
    phone.send("estado")
    assert folio.group(0) in phone.text()


def test_a_payment_of_another_conversation_is_refused(phone: Phone, services: Services,
                                                      staff_client: FlaskClient) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    phone.send("acepto")
    payment = the_payment(services)
    response = post_form(staff_client, f"/inbox/c/999999/service-payment/{payment.id}/confirm")
    assert response.status_code == 303
    assert the_payment(services).status == "pending" and cases(services) == 0


def test_pay_later_keeps_the_data_and_the_enrollment_resumes_at_the_payment(phone: Phone, services: Services
                                                                            ) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    phone.send("acepto")
    reference = the_payment(services).reference
    phone.press(es("I will pay later"))
    assert "espera el pago" in phone.text()
    phone.send("menu")
    phone.press(es("Start my enrollment"))
    assert reference in phone.text() and "CLABE" in phone.text()
    phone.send("menu")
    phone.press(es("Start my enrollment"))
    phone.send("acepto")  # nothing to accept here: no second contract or payment
    with services.database.session_scope() as session:
        assert session.execute(select(func.count()).select_from(Payment)).scalar_one() == 1


def test_thinking_it_over_at_the_offer_opens_nothing_and_the_enrollment_comes_back_to_the_offer(
        phone: Phone, services: Services) -> None:
    """ "déjame pensarlo" is neither a yes nor a "back to the summary": no contract, no payment, data kept."""
    applicant_at_summary(phone)
    phone.send("1")
    phone.send("déjame pensarlo, luego te aviso")
    assert "Tus datos están guardados" in phone.text()
    with services.database.session_scope() as session:
        assert session.execute(select(func.count()).select_from(Payment)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Contract)).scalar_one() == 0
    phone.send("estado")  # not "no enrollment filed yet": only accepting and paying is left
    assert "solo falta aceptar nuestro servicio y pagarlo" in phone.text()
    phone.press(es("Main menu"))
    phone.press(es("Start my enrollment"))
    assert "Total $1,499.00 MXN (IVA incluido)" in phone.text()
    phone.press(es("I accept"))
    assert the_payment(services).status == "pending"


def test_a_receipt_sent_from_the_menu_days_after_pay_later_is_the_pending_transfers(phone: Phone,
                                                                                      services: Services) -> None:
    """The applicant chose "I will pay later", and later sends the transfer receipt from anywhere (the menu): it is
    kept as that payment's receipt for staff to check, not dropped as a file nobody asked for."""
    applicant_at_summary(phone)
    phone.send("1")
    phone.press(es("I accept"))
    phone.press(es("I will pay later"))
    phone.send("menu")
    phone.upload(document_photo(seed=33), "transferencia.jpg")
    assert es("Thank you! An advisor checks your transfer and then we file your enrollment with IMSS. I will "
              "tell you here.") in phone.text()
    with services.database.session_scope() as session:
        kept = session.execute(select(Document.slot).where(Document.slot == "payment_receipt")).scalars().all()
    assert kept == ["payment_receipt"]
    assert cases(services) == 0


def test_ya_pague_during_a_transfer_asks_for_its_receipt(phone: Phone, services: Services) -> None:
    """ "ya pagué" while the service fee waits for a transfer is about that transfer, not the IMSS reminders."""
    applicant_at_summary(phone)
    phone.send("1")
    phone.press(es("I accept"))
    reference = the_payment(services).reference
    phone.send("menu")
    phone.send("ya pague")
    text = phone.text()
    assert reference in text and "CLABE" in text
    phone.upload(document_photo(seed=32), "transferencia.jpg")
    assert es("Thank you! An advisor checks your transfer and then we file your enrollment with IMSS. I will "
              "tell you here.") in phone.text()
    assert cases(services) == 0
