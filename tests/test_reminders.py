"""The payment-reminder membership and enrollment nudges, driven with a set clock.

A monthly subscriber gets exactly three reminders before day 20, at the configured hour, none at night,
none twice with two workers or after a restart; "ya pagué" stops the rest of the period; an opt-out
stops everything; downtime is caught up without flooding.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from bot.wiring import Services
from bot.worker.reminders import NudgeJob, ReminderJob, Schedule
from flows.rules.payments import deadline, due_times, first_period, in_quiet_hours, nearest_period, periods_near
from locales import translate
from storage.conversations import contact_identity
from storage.models import Consent, Contact, Conversation, Message, PeriodPayment, Reminder, Subscription
from tests.helpers import (
    Phone,
    WhatsAppUser,
    buy_membership,
    confirm_pending_payment,
    drain_outbox,
    login,
    make_staff,
)
from tests.samples import document_photo

MX = ZoneInfo("America/Mexico_City")
SCHEDULE = Schedule(MX, time(10, 0), time(21, 0), time(8, 0))


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


RECEIPT_SEEDS = iter(range(60, 100))


def subscribe(phone: Phone, frequency: str = "mensual") -> None:
    """A yearly membership bought by SPEI and confirmed (tests/test_membership.py tells the purchase itself)."""
    buy_membership(phone, "anual", frequency, seed=next(RECEIPT_SEEDS))
    assert any(es("Your membership is active until %(until)s.", until="")[:20] in message["text"]
               for message in phone.last), phone.last


def reminders(services: Services) -> list[tuple[str, str, str]]:
    with services.database.session_scope() as session:
        return [(r.period, r.kind, r.status) for r in session.execute(select(Reminder).order_by(Reminder.id))
                .scalars()]


def sent_texts(services: Services) -> list[str]:
    with services.database.session_scope() as session:
        rows = session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars()
        return [services.cipher.decrypt_json(r.body)["text"] for r in rows
                if services.cipher.decrypt_json(r.body).get("kind") == "payment_reminder"]


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MX)


def job(services: Services, clock: list[datetime]) -> ReminderJob:
    return ReminderJob(services.database, services.cipher, SCHEDULE, clock=lambda: clock[0])


def set_first_period(services: Services, period: str) -> None:
    with services.database.session_scope() as session:
        session.execute(update(Subscription).values(first_period=period))


def test_calendar_across_month_and_year_ends() -> None:
    assert first_period(datetime(2026, 12, 10).date()) == "2026-12"
    assert first_period(datetime(2026, 12, 16).date()) == "2026-12"  # fewer than 5 days left: still this month
    assert first_period(datetime(2026, 12, 21).date()) == "2027-01"
    assert deadline("2027-01").isoformat() == "2027-01-20"
    assert periods_near("2026-12", "monthly", datetime(2027, 1, 17).date()) == ["2027-01"]
    assert periods_near("2026-12", "bimonthly", datetime(2027, 1, 17).date()) == []
    assert periods_near("2026-12", "bimonthly", datetime(2027, 2, 17).date()) == ["2027-02"]
    assert periods_near("2026-12", "annual", datetime(2027, 12, 15).date()) == ["2027-12"]
    times = due_times("2027-01", MX, time(10, 0))
    assert times["before_5"] == local(2027, 1, 15, 10) and times["missed"] == local(2027, 1, 21, 10)
    assert in_quiet_hours(local(2027, 1, 15, 22), MX, time(21), time(8))
    assert in_quiet_hours(local(2027, 1, 15, 7, 59), MX, time(21), time(8))
    assert not in_quiet_hours(local(2027, 1, 15, 8), MX, time(21), time(8))
    assert nearest_period(datetime(2026, 12, 2).date()) == "2026-11"  # Nov 20 is nearer than Dec 20
    assert nearest_period(datetime(2026, 12, 18).date()) == "2026-12"


def test_monthly_subscriber_gets_exactly_three_reminders_at_decent_hours(services: Services,
                                                                         phone: Phone) -> None:
    subscribe(phone)
    set_first_period(services, "2026-12")
    clock = [local(2026, 12, 14, 23)]
    worker_a, worker_b = job(services, clock), job(services, clock)
    minute = timedelta(minutes=30)
    while clock[0] < local(2026, 12, 20, 23):
        worker_a.run_once()
        worker_b.run_once()  # a second worker at the same moment: nothing twice
        clock[0] += minute
    assert reminders(services) == [("2026-12", "before_5", "sent"), ("2026-12", "before_1", "sent"),
                                   ("2026-12", "due", "sent")]
    with services.database.session_scope() as session:
        times = [r.created_at for r in session.execute(select(Reminder)).scalars()]
    for moment in times:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        assert 10 <= aware.astimezone(MX).hour < 11  # at the configured hour, never at night
    texts = sent_texts(services)
    # the payment due 20 December buys January's coverage (DOMAIN.md "Contributions")
    assert len(texts) == 3 and "de enero de 2027" in texts[0] and "20 de diciembre de 2026" in texts[0]
    restarted = job(services, clock)  # a restart: the unique keys remember
    restarted.run_once()
    assert len(sent_texts(services)) == 3


def test_missed_deadline_warns_that_coverage_may_end(services: Services, phone: Phone) -> None:
    subscribe(phone)
    set_first_period(services, "2027-01")
    clock = [local(2027, 1, 14, 9)]
    runner = job(services, clock)
    while clock[0] < local(2027, 1, 22, 12):
        runner.run_once()
        clock[0] += timedelta(hours=1)
    kinds = [kind for _, kind, status in reminders(services) if status == "sent"]
    assert kinds == ["before_5", "before_1", "due", "missed"]
    assert "LSS art. 231" in sent_texts(services)[-1]


def test_ya_pague_with_a_receipt_stops_the_period(services: Services, phone: Phone) -> None:
    subscribe(phone)
    set_first_period(services, "2026-12")
    clock = [local(2026, 12, 15, 10, 5)]
    job(services, clock).run_once()
    phone.send("ya pagué")
    assert es("Great! Send a photo or PDF of your payment receipt and an advisor will check it.") in phone.text()
    replies = phone.upload(document_photo(seed=21), "recibo.jpg")
    assert es("Received, thank you! ✅") == replies[0]["text"]
    with services.database.session_scope() as session:
        payment = session.execute(select(PeriodPayment)).scalar_one()
        assert (payment.period, payment.status) == (nearest_period(datetime.now(MX).date()), "proof_received")
        session.execute(update(PeriodPayment).values(period="2026-12"))
    for hour in range(24 * 7):
        clock[0] = local(2026, 12, 15, 11) + timedelta(hours=hour)
        job(services, clock).run_once()
    statuses = [(kind, status) for _, kind, status in reminders(services)]
    assert statuses == [("before_5", "sent"), ("before_1", "skipped"), ("due", "skipped"), ("missed", "skipped")]


def test_downtime_is_caught_up_without_flooding(services: Services, phone: Phone) -> None:
    subscribe(phone)
    set_first_period(services, "2026-12")
    clock = [local(2026, 12, 20, 9, 30)]  # the worker was down since the 14th
    runner = job(services, clock)
    runner.run_once()  # 9:30: "in 5 days" and "tomorrow" would be untrue now; "due" is not due yet
    assert sorted(reminders(services)) == [("2026-12", "before_1", "dropped"), ("2026-12", "before_5", "dropped")]
    assert sent_texts(services) == []
    clock[0] = local(2026, 12, 20, 10, 1)
    runner.run_once()
    assert reminders(services)[-1] == ("2026-12", "due", "sent")
    assert runner.dropped == 2 and len(sent_texts(services)) == 1


def test_nothing_in_quiet_hours_it_waits_for_the_morning(services: Services, phone: Phone) -> None:
    subscribe(phone)
    set_first_period(services, "2026-12")
    quiet = Schedule(MX, time(10, 0), time(9, 0), time(11, 0))  # an odd setting: 9-11 is quiet
    clock = [local(2026, 12, 15, 10, 0)]
    runner = ReminderJob(services.database, services.cipher, quiet, clock=lambda: clock[0])
    runner.run_once()
    assert reminders(services) == []
    clock[0] = local(2026, 12, 15, 11, 0)
    runner.run_once()
    assert reminders(services) == [("2026-12", "before_5", "sent")]


def seed_subscribers(services: Services, count: int, first: str, start: int = 0) -> None:
    """Monthly subscribers as enrollment leaves them, written straight to the tables (a crowd, quickly)."""
    now = datetime.now(UTC)
    with services.database.session_scope() as session:
        for i in range(start, start + count):
            contact = Contact(channel="telegram", **contact_identity(services.cipher, str(9000 + i)), locale="es_MX",
                              reachable=True, opted_out=False, erase_pending=False, created_at=now)
            session.add(contact)
            session.flush()
            conversation = Conversation(contact_id=contact.id, flow="menu", state="main_menu", locale="es_MX",
                                        data=services.cipher.encrypt_json({}), history="[]", owner="bot", misses=0,
                                        turns=1, created_at=now, updated_at=now)
            session.add(conversation)
            session.flush()
            session.add(Subscription(contact_id=contact.id, conversation_id=conversation.id, frequency="monthly",
                                     first_period=first, active=True, created_at=now))


def reminder_keys(services: Services) -> list[tuple[int, str, str]]:
    with services.database.session_scope() as session:
        return sorted((r.subscription_id, r.period, r.kind) for r in session.execute(select(Reminder)).scalars())


def test_a_run_with_nothing_new_looks_at_no_subscription(services: Services) -> None:
    seed_subscribers(services, 5, "2026-12")
    clock = [local(2026, 12, 15, 10, 5)]
    runner = ReminderJob(services.database, services.cipher, SCHEDULE, clock=lambda: clock[0], batch=2)
    assert runner.run_once() == 5
    assert runner.examined == 5
    clock[0] += timedelta(seconds=20)
    assert runner.run_once() == 0
    assert runner.examined == 5  # the second run read the list of subscriptions and stopped
    seed_subscribers(services, 1, "2026-12", start=5)
    assert runner.run_once() == 1
    assert runner.examined == 6  # only the newcomer
    restarted = ReminderJob(services.database, services.cipher, SCHEDULE, clock=lambda: clock[0])
    assert restarted.run_once() == 0 and restarted.examined == 0  # the recorded reminders are found in bulk
    clock[0] = local(2026, 12, 19, 10, 1)  # the next reminder falls due: everyone is concerned again
    assert runner.run_once() == 6
    assert len(sent_texts(services)) == 12


def test_batches_record_every_reminder_exactly_once(services: Services) -> None:
    seed_subscribers(services, 7, "2026-12")
    clock = [local(2026, 12, 20, 9, 30)]  # after downtime: before_5 and before_1 are dropped, due is not due yet
    worker_a = ReminderJob(services.database, services.cipher, SCHEDULE, clock=lambda: clock[0], batch=3)
    worker_b = ReminderJob(services.database, services.cipher, SCHEDULE, clock=lambda: clock[0], batch=2)
    worker_a.run_once()
    worker_b.run_once()
    clock[0] = local(2026, 12, 20, 10, 1)
    assert worker_b.run_once() + worker_a.run_once() == 7
    keys = reminder_keys(services)
    assert len(keys) == len(set(keys)) == 7 * 3
    assert sorted(kind for _, kind, status in reminders(services) if status == "sent") == ["due"] * 7
    assert worker_a.dropped + worker_b.dropped == 14 and len(sent_texts(services)) == 7


def test_cancel_and_opt_out_stop_everything(services: Services, phone: Phone) -> None:
    subscribe(phone)
    phone.send("cancelar recordatorios")
    phone.press(es("Yes, cancel it"))
    assert es("Done: your membership is cancelled and there will be no more payment reminders. You can buy it "
              "again from the menu.") in phone.text()
    with services.database.session_scope() as session:
        assert session.execute(select(Subscription.active)).scalar_one() is False
        consents = [(c.kind, c.accepted) for c in session.execute(select(Consent).where(
            Consent.kind == "reminders")).scalars()]
    assert consents == [("reminders", True), ("reminders", False)]
    subscribe(phone, "bimestral")
    set_first_period(services, "2026-12")
    with services.database.session_scope() as session:
        session.execute(update(Contact).values(opted_out=True))
    clock = [local(2026, 12, 15, 10, 30)]
    job(services, clock).run_once()
    assert reminders(services) == [("2026-12", "before_5", "skipped")]


def test_whatsapp_subscriber_outside_the_window_gets_the_template(whatsapp_client: FlaskClient,
                                                                  whatsapp_services: Services,
                                                                  twilio_api: Any) -> None:
    from bot.worker.outbox import Dispatcher

    sender: Any = whatsapp_services.senders["whatsapp"]
    sender.templates["payment_reminder"] = "HX" + "7" * 32
    ana = WhatsAppUser(whatsapp_client, whatsapp_services, twilio_api, "+5215512345678")
    for words in ("hola", "7", "1", "anual", "mensual", "acepto"):
        ana.say(words)
    ana.send_media((document_photo(seed=77), "image/jpeg"))
    confirm_pending_payment(whatsapp_services)
    drain_outbox(whatsapp_services)  # the membership's confirmation and receipt go now
    set_first_period(whatsapp_services, "2026-12")
    twilio_api.clear()
    with whatsapp_services.database.session_scope() as session:
        session.execute(update(Contact).values(last_inbound_at=local(2026, 12, 1, 10)))
    clock = [local(2026, 12, 15, 10, 15)]
    sender.clock = lambda: clock[0]  # 14 days after the applicant's last message
    ReminderJob(whatsapp_services.database, whatsapp_services.cipher, SCHEDULE, clock=lambda: clock[0]).run_once()
    Dispatcher(whatsapp_services.database, whatsapp_services.cipher, whatsapp_services.senders,
               clock=lambda: clock[0]).run_once()
    sent = twilio_api.messages()
    assert len(sent) == 1 and sent[0]["ContentSid"] == "HX" + "7" * 32


def test_nudges_twice_then_stop_and_never_after_a_reply(services: Services, phone: Phone) -> None:
    phone.send("hola")
    phone.send("1")  # into the enrollment, then silence
    with services.database.session_scope() as session:
        last = session.execute(select(Contact.last_inbound_at)).scalar_one()
    assert last is not None
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    clock = [last + timedelta(hours=1)]
    nudges = NudgeJob(services.database, services.cipher, Schedule(UTC_ZONE, quiet_start=time(23, 59),
                                                                   quiet_end=time(0, 0)), clock=lambda: clock[0])
    counts = []
    for hours in (1, 23, 25, 26, 71, 73, 74, 200):
        clock[0] = last + timedelta(hours=hours)
        nudges.run_once()
        counts.append(len(nudge_texts(services)))
    assert counts == [0, 0, 1, 1, 1, 2, 2, 2]
    phone.send("hola")  # a reply: a new silence starts, the old one's nudges are done
    assert len(nudge_texts(services)) == 2


UTC_ZONE = ZoneInfo("UTC")


def nudge_texts(services: Services) -> list[str]:
    with services.database.session_scope() as session:
        rows = session.execute(select(Message).where(Message.direction == "out")).scalars()
        return [b["text"] for b in (services.cipher.decrypt_json(r.body) for r in rows) if b.get("kind") == "nudge"]


@pytest.mark.parametrize("state_words", [["1", "no acepto"]])
def test_no_nudges_after_declining(services: Services, phone: Phone, state_words: list[str]) -> None:
    phone.send("hola")
    for word in state_words:
        phone.send(word)
    clock = [datetime.now(UTC) + timedelta(hours=30)]
    NudgeJob(services.database, services.cipher, Schedule(UTC_ZONE, quiet_start=time(23, 59), quiet_end=time(0, 0)),
             clock=lambda: clock[0]).run_once()
    assert nudge_texts(services) == []


def test_staff_send_the_linea_de_captura_and_confirm_the_payment(services: Services, phone: Phone,
                                                                 app: Any) -> None:
    import io

    from tests.samples import pdf_document

    subscribe(phone)
    phone.send("ya pague")
    phone.upload(document_photo(seed=30), "pago.jpg")
    make_staff(services)
    staff = app.test_client()
    login(staff)
    with services.database.session_scope() as session:
        conversation_id = session.execute(select(Subscription.conversation_id)).scalar_one()
    page = staff.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    assert 'id="membership"' in page and es("receipt received") in page and es("payment receipt") in page
    with staff.session_transaction() as session:
        token = session["csrf"]
    staff.post(f"/inbox/c/{conversation_id}/payments/line", content_type="multipart/form-data",
               data={"csrf_token": token, "period": "2027-01", "line": (io.BytesIO(pdf_document()), "l.pdf")})
    refused = staff.post(f"/inbox/c/{conversation_id}/payments/paid", data={"csrf_token": token, "period": "enero"},
                         follow_redirects=True).get_data(as_text=True)
    assert es("Give the period as YYYY-MM, like 2027-01.") in refused
    staff.post(f"/inbox/c/{conversation_id}/payments/paid", data={"csrf_token": token, "period": "2027-01"})
    history = phone.client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert history[-2]["attachments"][0]["filename"] == "linea-de-captura-2027-01.pdf"
    # The period as the applicant says it (issue 14): "enero de 2027", not "2027-01"; the deadline with its month.
    assert history[-2]["text"] == es("Here is your línea de captura for %(period)s. Pay it by %(deadline)s at the "
                                     "bank or by SPEI.", period="enero de 2027", deadline="20 de enero de 2027")
    assert history[-1]["text"] == es("We confirmed your IMSS payment for %(period)s. Thank you!",
                                     period="enero de 2027")
    with services.database.session_scope() as session:
        statuses = {p.period: p.status for p in session.execute(select(PeriodPayment)).scalars()}
    assert statuses["2027-01"] == "paid"
