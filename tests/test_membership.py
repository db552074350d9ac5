"""The paid membership (issue 17): bought by SPEI, active only once staff confirm the payment; renewal notices
before its period ends and renewing from its end; reminders that stop when it lapses (with one message), when
the member cancels it in the chat or staff cancel it in the inbox, and when its payment is refunded; legacy
subscribers from before memberships were sold still reminded; a conversation waiting for a payment is not
purged. Through the web chat, the inbox and the worker jobs with a set clock. (Card payments:
tests/test_membership_stripe.py.)"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text, update

from bot.core.clock import utcnow
from bot.wiring import Services, build_services
from bot.worker.memberships import TEXTS as NOTICES
from bot.worker.memberships import MembershipJob
from bot.worker.reminders import ReminderJob, Schedule
from bot.worker.retention import RetentionJob
from flows.rules.payments import add_months, deadline, due_times, long_date, period_of
from locales import translate
from storage.conversations import contact_identity
from storage.migrate import upgrade
from storage.models import AuditEntry, Consent, Contract, Conversation, Message, Payment, Reminder, Subscription
from tests.helpers import (
    Phone,
    applicant_at_summary,
    buy_membership,
    confirm_pending_payment,
    login,
    make_settings,
    make_staff,
    membership_accepted,
    post_form,
)
from tests.samples import document_photo

MX = ZoneInfo("America/Mexico_City")
SCHEDULE = Schedule(MX, time(10, 0), time(21, 0), time(8, 0))
ENDED = ("Your payment reminders membership is no longer active, so we will not send you more IMSS payment "
         "reminders. To get them again, write *membresía*.")


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Any:
    return make_settings(database_url, tmp_path / "data", spei_clabe="014180655000000017",
                         spei_beneficiary="Gestoría PTI SA de CV")


def staff(app: Flask, services: Services, email: str = "ana@gestoria.mx", role: str = "agent") -> FlaskClient:
    make_staff(services, email, role)
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def page(client: FlaskClient, url: str = "/inbox/payments") -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def subscriptions(services: Services) -> list[Subscription]:
    with services.database.session_scope() as session:
        rows = list(session.execute(select(Subscription).order_by(Subscription.id)).scalars())
        session.expunge_all()
        return rows


def membership_payment(services: Services) -> Payment:
    with services.database.session_scope() as session:
        payment = session.execute(select(Payment).join(Contract, Contract.id == Payment.contract_id).where(
            Contract.kind == "membership").order_by(Payment.id.desc()).limit(1)).scalar_one()
        session.expunge(payment)
        return payment


def outbox(services: Services, kind: str = "payment_reminder") -> list[str]:
    with services.database.session_scope() as session:
        rows = session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars()
        bodies = [services.cipher.decrypt_json(row.body) for row in rows]
        return [body["text"] for body in bodies if body.get("kind") == kind]


def reminder_job(services: Services, clock: list[datetime]) -> ReminderJob:
    return ReminderJob(services.database, services.cipher, SCHEDULE, clock=lambda: clock[0])


def membership_job(services: Services, clock: list[datetime]) -> MembershipJob:
    return MembershipJob(services.database, services.cipher, SCHEDULE, clock=lambda: clock[0])


def a_deadline_while_paid(sub: Subscription) -> datetime:
    """The first IMSS reminder due after the purchase and before the membership's end (5 minutes past it)."""
    assert sub.paid_until is not None
    first = int(sub.first_period[:4]) * 12 + int(sub.first_period[5:]) - 1
    moments = sorted(at for index in (first, first + 1) for kind, at in due_times(period_of(index), MX,
                                                                                  time(10, 0)).items()
                     if kind != "missed" and sub.created_at < at < sub.paid_until - timedelta(minutes=5))
    return moments[0] + timedelta(minutes=5)


def sent_reminders(services: Services) -> list[tuple[str, str, str]]:
    with services.database.session_scope() as session:
        return [(r.period, r.kind, r.status) for r in session.execute(select(Reminder).order_by(Reminder.id))
                .scalars()]


def last_day(paid_until: datetime) -> str:
    return long_date((paid_until.astimezone(MX) - timedelta(microseconds=1)).date(), "es_MX")


# -- buying ------------------------------------------------------------------------------------------------
def test_a_membership_bought_by_spei_starts_only_once_staff_confirm_it_and_then_reminds(
        phone: Phone, app: Flask, services: Services) -> None:
    phone.send("hola")
    phone.send("7")
    offer = phone.text()
    assert offer.startswith("*Recordatorios de pago (membresía opcional)*")
    assert "$99.00 MXN" in offer and "$990.00 MXN" in offer  # both plans, from prices.toml
    phone.send("si")
    assert es("Monthly plan") in phone.buttons() and es("Yearly plan") in phone.buttons()
    phone.press(es("Yearly plan"))
    phone.send("mensual")  # how often they pay IMSS
    terms = phone.text()
    for part in (es("Yearly plan"), "$990.00 MXN", es("one year"), "línea de captura", "cancelar membresía"):
        assert part in terms, part
    assert not subscriptions(services)
    phone.press(es("I accept"))
    instructions = phone.text()
    payment = membership_payment(services)
    assert (payment.status, payment.method, payment.amount_centavos) == ("pending", "spei", 99000)
    for part in ("014180655000000017", "Gestoría PTI SA de CV", str(payment.reference), "$990.00 MXN"):
        assert part in instructions, part
    with services.database.session_scope() as session:
        contract = session.execute(select(Contract)).scalar_one()
        assert (contract.kind, contract.plan, contract.amount_centavos) == ("membership", "membership_yearly", 99000)
        assert contract.text_version and contract.message_id
        kinds = {c.kind for c in session.execute(select(Consent).where(Consent.accepted)).scalars()}
        assert {"membership_contract", "reminders"} <= kinds

    phone.upload(document_photo(seed=41), "transferencia.jpg")
    assert es("Thank you! An advisor checks your transfer and then your membership starts. I will tell you "
              "here.") in phone.text()
    assert not subscriptions(services)  # not before the payment is confirmed
    agent = staff(app, services)
    assert f'<span class="pill">{es("pending payment")}</span>' in page(agent)
    phone.send("membresía")
    assert str(payment.reference) in phone.text()  # the membership waits for its payment

    cid = int(re.search(r"/inbox/c/(\d+)", page(agent, "/inbox/")).group(1))  # type: ignore[union-attr]
    conversation_page = page(agent, f"/inbox/c/{cid}")  # the card names what is paid for
    assert es("Membership payment") in conversation_page
    assert es("Confirm payment and activate the membership") in conversation_page
    assert es("Confirm payment and file the case") not in conversation_page
    assert post_form(agent, f"/inbox/c/{cid}/service-payment/{payment.id}/confirm").status_code == 302
    [sub] = subscriptions(services)
    assert (sub.status, sub.plan, sub.active, sub.frequency) == ("active", "membership_yearly", True, "monthly")
    assert sub.paid_until is not None
    local_start = utcnow().astimezone(MX).date()
    assert sub.paid_until.astimezone(MX).date() == add_months(local_start, 12)
    phone.poll()
    activated = " ".join(message["text"] for message in phone.last)
    assert str(payment.reference) in activated and last_day(sub.paid_until) in activated
    body = page(agent)
    assert es("active until %(day)s", day=(sub.paid_until.astimezone(MX) - timedelta(days=1)).date().isoformat()) \
        in body
    assert post_form(agent, f"/inbox/c/{cid}/service-payment/{payment.id}/confirm").status_code in (302, 303)
    assert len(subscriptions(services)) == 1 and subscriptions(services)[0].paid_until == sub.paid_until  # once

    clock = [a_deadline_while_paid(sub)]
    assert reminder_job(services, clock).run_once() == 1
    assert [status for _, _, status in sent_reminders(services)] == ["sent"]


def test_a_rejected_membership_transfer_asks_for_the_receipt_again(phone: Phone, app: Flask,
                                                                   services: Services) -> None:
    membership_accepted(phone)
    phone.upload(document_photo(seed=45), "transferencia.jpg")
    payment = membership_payment(services)
    agent = staff(app, services)
    cid = int(re.search(r"/inbox/c/(\d+)", page(agent, "/inbox/")).group(1))  # type: ignore[union-attr]
    url = f"/inbox/c/{cid}/service-payment/{payment.id}/reject"
    assert post_form(agent, url, reason="No llegó la transferencia").status_code == 302
    phone.poll()
    assert es("We could not confirm your membership transfer: %(note)s\nPlease check it and send me the receipt "
              "again.", note="No llegó la transferencia") in phone.text()
    phone.upload(document_photo(seed=46), "otra.jpg")
    assert es("Thank you! An advisor checks your transfer and then your membership starts. I will tell you "
              "here.") in phone.text()
    assert membership_payment(services).receipt_document_id and not subscriptions(services)


# -- renewal --------------------------------------------------------------------------------------------------
def test_renewal_notices_go_once_before_the_end_and_renewing_extends_from_it(phone: Phone, app: Flask,
                                                                             services: Services) -> None:
    buy_membership(phone)
    [sub] = subscriptions(services)
    assert sub.paid_until is not None
    end = sub.paid_until.astimezone(MX)
    clock = [datetime.combine(end.date() - timedelta(days=6), time(10, 30), MX)]
    job = membership_job(services, clock)
    assert job.run_once() == 0  # six days before: nothing yet
    clock[0] = datetime.combine(end.date() - timedelta(days=5), time(7, 30), MX)
    assert job.run_once() == 0  # the day, but at night
    clock[0] = datetime.combine(end.date() - timedelta(days=5), time(10, 5), MX)
    assert job.run_once() == 1
    assert membership_job(services, clock).run_once() == 0  # recorded: another worker sends nothing
    clock[0] += timedelta(days=2)
    assert job.run_once() == 0
    clock[0] = datetime.combine(end.date() - timedelta(days=1), time(10, 5), MX)
    assert job.run_once() == 1
    assert outbox(services) == [es(NOTICES["renew5"], last_day=last_day(sub.paid_until)),
                                es(NOTICES["renew1"], last_day=last_day(sub.paid_until))]

    phone.send("membresía")
    assert es("Renew") in phone.buttons()
    phone.press(es("Renew"))
    phone.press(es("Monthly plan"))  # a member: straight to the terms, the IMSS frequency is known
    phone.press(es("I accept"))
    assert "CLABE" in phone.text()
    phone.upload(document_photo(seed=43), "renovacion.jpg")
    confirm_pending_payment(services)
    [renewed] = subscriptions(services)
    assert renewed.id == sub.id and renewed.status == "active" and renewed.paid_until is not None
    assert renewed.paid_until.astimezone(MX).date() == add_months(end.date(), 1)  # from the end, not from today
    with services.database.session_scope() as session:
        assert session.execute(select(func.count()).select_from(Contract)).scalar_one() == 2  # one per period
        first = session.execute(select(Payment.id).order_by(Payment.id).limit(1)).scalar_one()
    # Refunding the first period's payment (not the latest) still ends the running membership.
    admin = staff(app, services, "jefa@gestoria.mx", "admin")
    assert post_form(admin, f"/inbox/payments/{first}/refund", reason="Error de cobro").status_code == 302
    assert [(row.status, row.active) for row in subscriptions(services)] == [("refunded", False)]


# -- the end ------------------------------------------------------------------------------------------------
def test_a_lapsed_membership_stops_the_reminders_and_says_so_once(phone: Phone, services: Services) -> None:
    buy_membership(phone)  # monthly, by SPEI
    [sub] = subscriptions(services)
    assert sub.paid_until is not None
    assert reminder_job(services, [a_deadline_while_paid(sub)]).run_once() == 1  # while paid, reminders flow
    later = deadline(period_of(sub.paid_until.year * 12 + sub.paid_until.month))  # a deadline after the end
    clock = [datetime.combine(later - timedelta(days=5), time(10, 5), MX)]
    assert reminder_job(services, clock).run_once() == 0  # past paid_until: no reminder, even before lapsing
    assert membership_job(services, clock).run_once() == 1
    [lapsed] = subscriptions(services)
    assert (lapsed.status, lapsed.active) == ("lapsed", False)
    assert outbox(services)[-1] == es(NOTICES["lapsed"], last_day=last_day(sub.paid_until))
    assert membership_job(services, clock).run_once() == 0  # said once
    assert reminder_job(services, clock).run_once() == 0
    phone.send("membresía")
    assert "$99.00 MXN" in phone.text() and es("I want the membership") in phone.buttons()  # buy it again


def test_cancelling_in_the_chat_ends_the_membership_and_its_reminders(phone: Phone, services: Services) -> None:
    buy_membership(phone)
    [sub] = subscriptions(services)
    phone.send("quiero cancelar mi membresía")
    assert es("Do you want to cancel your membership? It ends right away and the payment reminders stop.") \
        in phone.text()
    phone.press(es("Yes, cancel it"))
    assert es("Done: your membership is cancelled and there will be no more payment reminders. You can buy it "
              "again from the menu.") in phone.text()
    [cancelled] = subscriptions(services)
    assert (cancelled.status, cancelled.active) == ("cancelled", False) and cancelled.cancelled_at
    assert reminder_job(services, [a_deadline_while_paid(sub)]).run_once() == 0
    assert sent_reminders(services) == []
    phone.send("cancelar membresia")
    assert es("You have no membership or payment reminders on.") in phone.text()


def test_staff_cancel_a_membership_in_the_inbox_audited_and_the_member_is_told(
        phone: Phone, app: Flask, services: Services) -> None:
    buy_membership(phone)
    [sub] = subscriptions(services)
    agent = staff(app, services)
    body = page(agent)
    assert f'data-membership="{sub.id}"' in body and es("Cancel this membership") in body
    url = f"/inbox/payments/memberships/{sub.id}/cancel"
    assert agent.post(url, data={"reason": "x"}).status_code in (400, 403)  # no CSRF token
    assert subscriptions(services)[0].active
    assert post_form(agent, url, reason="Lo pidió por teléfono").status_code == 302
    [cancelled] = subscriptions(services)
    assert (cancelled.status, cancelled.active) == ("cancelled", False)
    with services.database.session_scope() as session:
        audit = session.execute(select(AuditEntry).where(AuditEntry.action == "membership_cancel")).scalar_one()
        assert (audit.actor, audit.target, audit.detail) == ("ana@gestoria.mx", f"subscription:{sub.id}",
                                                             "Lo pidió por teléfono")
    assert f'<span class="pill">{es("cancelled")}</span>' in page(agent)
    assert post_form(agent, url).status_code == 303  # already ended
    phone.poll()
    assert es(ENDED) in phone.text()
    assert reminder_job(services, [a_deadline_while_paid(sub)]).run_once() == 0
    phone.send("membresía")
    assert es("I want the membership") in phone.buttons()


def test_a_refunded_membership_payment_ends_the_membership(phone: Phone, app: Flask, services: Services) -> None:
    buy_membership(phone)
    [sub] = subscriptions(services)
    admin = staff(app, services, "jefa@gestoria.mx", "admin")
    payment = membership_payment(services)
    assert post_form(admin, f"/inbox/payments/{payment.id}/refund", reason="Cobro duplicado").status_code == 302
    [refunded] = subscriptions(services)
    assert (refunded.status, refunded.active) == ("refunded", False)
    assert f'<span class="pill">{es("refunded")}</span>' in page(admin)
    phone.poll()
    texts = [message["text"] for message in phone.last]
    assert es(ENDED) in texts
    assert reminder_job(services, [a_deadline_while_paid(sub)]).run_once() == 0


# -- before memberships were sold ---------------------------------------------------------------------------
def test_subscribers_from_before_memberships_were_sold_stay_reminded_as_legacy(fresh_database_url: str,
                                                                             tmp_path: Path) -> None:
    url = fresh_database_url
    services = build_services(make_settings(url, tmp_path / "data"))
    try:
        upgrade(url, "0016")
        now = datetime(2026, 11, 2, tzinfo=UTC)
        engine = create_engine(url)
        with engine.begin() as connection:
            for number, active in (("5001", True), ("5002", False)):
                identity = contact_identity(services.cipher, number)
                contact = connection.execute(text(
                    "INSERT INTO contacts (channel, external_hash, external_ref, reachable, opted_out, erase_pending, "
                    "created_at) VALUES ('telegram', :hash, :ref, true, false, false, :now) RETURNING id"),
                    {"hash": identity["external_hash"], "ref": identity["external_ref"], "now": now}).scalar_one()
                conversation = connection.execute(text(
                    "INSERT INTO conversations (contact_id, flow, state, data, history, locale, owner, misses, turns, "
                    "created_at, updated_at) VALUES (:contact, 'menu', 'main_menu', :data, '[]', 'es_MX', 'bot', 0, "
                    "1, :now, :now) RETURNING id"),
                    {"contact": contact, "data": services.cipher.encrypt_json({"reminders_active": active}),
                     "now": now}).scalar_one()
                connection.execute(text(
                    "INSERT INTO subscriptions (contact_id, conversation_id, frequency, first_period, active, "
                    "created_at) VALUES (:contact, :conversation, 'monthly', '2026-11', :active, :now)"),
                    {"contact": contact, "conversation": conversation, "active": active, "now": now})
        engine.dispose()
        upgrade(url, cipher=services.cipher)
        legacy, stopped = subscriptions(services)
        assert (legacy.status, legacy.active, legacy.paid_until, legacy.plan) == ("legacy", True, None, None)
        assert (stopped.status, stopped.active) == ("cancelled", False)
        clock = [datetime(2027, 6, 15, 10, 5, tzinfo=MX)]  # months later: a legacy membership has no end
        assert membership_job(services, clock).run_once() == 0
        assert reminder_job(services, clock).run_once() == 1
        assert [(sid, kind) for sid, kind in _reminded(services)] == [(legacy.id, "before_5")]
        assert subscriptions(services)[0].status == "legacy"
    finally:
        services.close()


def _reminded(services: Services) -> list[tuple[int, str]]:
    with services.database.session_scope() as session:
        return [(r.subscription_id, r.kind) for r in session.execute(
            select(Reminder).where(Reminder.status == "sent")).scalars()]


def test_staff_can_end_a_legacy_membership(phone: Phone, app: Flask, services: Services) -> None:
    phone.send("hola")
    with services.database.session_scope() as session:
        conversation = session.execute(select(Conversation)).scalar_one()
        session.add(Subscription(contact_id=conversation.contact_id, conversation_id=conversation.id,
                                 frequency="monthly", first_period="2026-12", active=True, created_at=utcnow()))
        data = services.cipher.decrypt_json(conversation.data, {})
        conversation.data = services.cipher.encrypt_json({**data, "reminders_active": True})
    [sub] = subscriptions(services)
    assert sub.status == "legacy"
    phone.send("membresía")
    assert es("Your membership comes from before our plans existed and has no end date.") in phone.text()
    agent = staff(app, services)
    assert f'<span class="pill">{html.escape(es("legacy (no end date)"))}</span>' in page(agent)
    assert post_form(agent, f"/inbox/payments/memberships/{sub.id}/cancel").status_code == 302
    assert subscriptions(services)[0].status == "cancelled"


# -- retention --------------------------------------------------------------------------------------------
def test_a_conversation_waiting_for_its_payment_is_not_purged_as_abandoned(phone: Phone, app: Flask,
                                                                           services: Services) -> None:
    membership_accepted(phone)  # accepted, the transfer not sent yet
    idle = Phone(app.test_client())  # another browser, another applicant
    idle.send("hola")
    idle.send("1")  # an enrollment started and left
    with services.database.session_scope() as session:
        session.execute(update(Conversation).values(updated_at=utcnow() - timedelta(days=400)))
    RetentionJob(services.database, services.cipher, services.documents, abandoned_days=30).run_once()
    with services.database.session_scope() as session:
        states = sorted(session.execute(select(Conversation.state)).scalars())
    assert states == ["", "membership_spei"]  # the idle one was reset; the one owing a payment kept
    assert membership_payment(services).status == "pending"


@pytest.mark.parametrize(("opened_days_ago", "kept"), [(29, True), (31, False)])
def test_a_payment_pending_for_over_a_month_no_longer_keeps_the_conversation(
        phone: Phone, services: Services, opened_days_ago: int, kept: bool) -> None:
    membership_accepted(phone)  # its SPEI payment opened and never completed
    with services.database.session_scope() as session:
        session.execute(update(Payment).values(created_at=utcnow() - timedelta(days=opened_days_ago)))
        session.execute(update(Conversation).values(updated_at=utcnow() - timedelta(days=400)))
    RetentionJob(services.database, services.cipher, services.documents, abandoned_days=30).run_once()
    with services.database.session_scope() as session:
        state = session.execute(select(Conversation.state)).scalar_one()
        messages = session.execute(select(func.count()).select_from(Message)).scalar_one()
    assert (state == "membership_spei") is kept and (messages > 0) is kept


def test_service_payment_pending_is_not_purged_and_staff_see_the_invoice_data(
        phone: Phone, app: Flask, services: Services) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    phone.send("acepto")
    phone.send("estado")
    phone.press(es("I need an invoice (CFDI)"))
    phone.send("si")
    phone.send("626")
    phone.send("06700")
    assert "06700" in phone.text()
    with services.database.session_scope() as session:
        session.execute(update(Conversation).values(updated_at=utcnow() - timedelta(days=400)))
    RetentionJob(services.database, services.cipher, services.documents, abandoned_days=30).run_once()
    with services.database.session_scope() as session:
        assert session.execute(select(Conversation.state)).scalar_one() != ""
    body = page(staff(app, services))
    assert 'class="invoice-data"' in body
    for part in ("GODE561231GR8", html.escape(es("626 RESICO")), "06700"):
        assert part in body, part
    with services.database.session_scope() as session:
        assert session.execute(select(AuditEntry.action).where(AuditEntry.action == "view_invoice_data")).first()


def test_membership_periods_in_the_business_time_zone() -> None:
    from flows.rules.payments import last_covered_day, membership_end, renewal_due

    assert add_months(datetime(2027, 1, 31).date(), 1) == datetime(2027, 2, 28).date()
    assert add_months(datetime(2028, 1, 31).date(), 1) == datetime(2028, 2, 29).date()
    assert add_months(datetime(2026, 12, 1).date(), 12) == datetime(2027, 12, 1).date()
    # 23:30 on 30 November in Mexico City is already 1 December in UTC: the period starts on the local day.
    bought = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)
    end = membership_end(None, bought, 1, MX)
    assert end == datetime(2026, 12, 30, 0, 0, tzinfo=MX) and last_covered_day(end, MX).isoformat() == "2026-12-29"
    assert membership_end(end, bought, 1, MX) == datetime(2027, 1, 30, 0, 0, tzinfo=MX)  # renewed: from its end
    assert membership_end(end, end + timedelta(days=3), 1, MX) == datetime(2027, 2, 2, 0, 0, tzinfo=MX)  # lapsed
    assert renewal_due(end, "renew5", MX, time(10)) == datetime(2026, 12, 25, 10, 0, tzinfo=MX)
    assert renewal_due(end, "renew1", MX, time(10)) == datetime(2026, 12, 29, 10, 0, tzinfo=MX)
