"""The inbox's payments page: pending payments (a transfer receipt to review, linked to its conversation) before
the recent ones, filters by state, paid totals per day and month for admins only, and an admin's refund with a
reason: audited, the applicant told kindly, and never counted in the totals again. Cases show their payment."""

from __future__ import annotations

import html
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.core.clock import utcnow
from bot.wiring import Services
from flows.rules.prices import amount
from locales import translate
from storage.models import AuditEntry, Payment
from storage.payments import PaymentRepository
from tests.helpers import (
    Phone,
    applicant_at_summary,
    confirm_pending_payment,
    login,
    make_settings,
    make_staff,
    post_form,
)
from tests.samples import document_photo

TERMS_WARNING = "Our terms say there are no refunds once the filing has started."


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Any:
    return make_settings(database_url, tmp_path / "data", spei_clabe="014180655000000017",
                         spei_beneficiary="Gestoría PTI SA de CV")


def staff(app: Flask, services: Services, email: str, role: str) -> FlaskClient:
    make_staff(services, email, role)
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def the_payment(services: Services) -> Payment:
    with services.database.session_scope() as session:
        payment = session.execute(select(Payment)).scalar_one()
        session.expunge(payment)
        return payment


def receipt_sent(phone: Phone) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    phone.send("acepto")
    phone.upload(document_photo(seed=17), "transferencia.jpg")


def conversation_of(services: Services, payment: Payment) -> int:
    with services.database.session_scope() as session:
        contract = PaymentRepository(session).contract(payment.contract_id)
        assert contract is not None and contract.conversation_id is not None
        return contract.conversation_id


def page(client: FlaskClient, url: str = "/inbox/payments") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def totals_of(body: str) -> str:
    start = body.find('id="totals-day"')
    return body[start:] if start >= 0 else ""


def test_pending_receipts_come_first_and_admins_see_paid_totals(phone: Phone, app: Flask,
                                                                services: Services) -> None:
    agent = staff(app, services, "ana@gestoria.mx", "agent")
    admin = staff(app, services, "jefa@gestoria.mx", "admin")
    receipt_sent(phone)
    payment = the_payment(services)
    assert payment.status == "pending" and payment.receipt_document_id

    body = page(agent)
    assert 'href="/inbox/payments"' in body  # in the inbox navigation
    assert str(payment.reference) in body and es("Receipt to review") in body
    assert f'href="/inbox/c/{conversation_of(services, payment)}"' in body
    assert "$1,499.00 MXN" in body and es("SPEI transfer") in body and es("pending") in body
    assert 'id="totals-day"' not in body  # totals are for managers
    assert str(payment.reference) not in page(agent, "/inbox/payments?status=paid")
    assert str(payment.reference) in page(agent, "/inbox/payments?status=pending")
    assert 'id="totals-day"' in page(admin) and "$1,499.00" not in totals_of(page(admin))

    confirm_pending_payment(services)
    body = page(admin)
    totals = totals_of(body)
    today = utcnow().astimezone(ZoneInfo(services.settings.business_timezone)).date()
    assert today.isoformat() in totals and today.strftime("%Y-%m") in totals
    assert totals.count("$1,499.00 MXN") == 2  # one day row, one month row
    assert str(payment.reference) in page(admin, "/inbox/payments?status=paid")
    assert TERMS_WARNING not in page(agent)  # the refund form is for admins only
    assert html.escape(es(TERMS_WARNING + " Refund only as an explicit decision of the business; the applicant "
                          "will be told."), quote=True) in body


def test_an_admin_refunds_with_a_reason_the_applicant_is_told_and_totals_drop_it(
        phone: Phone, app: Flask, services: Services) -> None:
    agent = staff(app, services, "ana@gestoria.mx", "agent")
    admin = staff(app, services, "jefa@gestoria.mx", "admin")
    receipt_sent(phone)
    confirm_pending_payment(services)
    phone.poll()
    payment = the_payment(services)
    url = f"/inbox/payments/{payment.id}/refund"
    reason = "Cliente duplicó el pago <script>alert(1)</script>"

    assert post_form(agent, url, reason=reason).status_code == 403
    assert admin.post(url, data={"reason": reason}).status_code in (400, 403)  # no CSRF token
    response = post_form(admin, url, reason="   ")
    assert response.status_code == 303
    assert es("Say why the payment is refunded.") in page(admin)
    assert the_payment(services).status == "paid"

    assert post_form(admin, url, reason=reason).status_code == 302
    refunded = the_payment(services)
    assert refunded.status == "refunded" and refunded.paid_at is not None
    with services.database.session_scope() as session:
        audit = session.execute(select(AuditEntry).where(AuditEntry.action == "payment_refund")).scalar_one()
        assert (audit.actor, audit.target, audit.detail) == ("jefa@gestoria.mx", f"payment:{payment.id}", reason)

    body = page(admin, "/inbox/payments?status=refunded")
    assert str(payment.reference) in body and "jefa@gestoria.mx" in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "$1,499.00" not in totals_of(page(admin))  # a refunded payment is never counted
    assert str(payment.reference) not in page(admin, "/inbox/payments?status=paid")

    phone.poll()
    assert es("We have refunded your payment %(reference)s of %(amount)s MXN. It may take a few business days "
              "to show in your account. If you have any question, write to us here.",
              reference=str(payment.reference), amount=amount(payment.amount_centavos)) in phone.text()

    assert post_form(admin, url, reason="otra vez").status_code == 303  # once only
    assert es("Only a paid payment can be refunded.") in page(admin)
    with services.database.session_scope() as session:
        assert len(session.execute(select(AuditEntry).where(
            AuditEntry.action == "payment_refund")).scalars().all()) == 1


def test_the_cases_list_shows_each_case_payment_state(phone: Phone, app: Flask, services: Services) -> None:
    admin = staff(app, services, "jefa@gestoria.mx", "admin")
    receipt_sent(phone)
    confirm_pending_payment(services)
    body = page(admin, "/inbox/cases")
    assert es("Payment") in body and f'<span class="pill">{es("paid")}</span>' in body
    payment = the_payment(services)
    post_form(admin, f"/inbox/payments/{payment.id}/refund", reason="decisión de la gerencia")
    assert f'<span class="pill">{es("refunded")}</span>' in page(admin, "/inbox/cases")
