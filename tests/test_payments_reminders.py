"""Reminders of an accepted, unpaid contract: at most two (24 h and 72 h after accepting), never at night, never
twice with several workers, none once the payment is confirmed or its transfer receipt waits for staff."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import select

from bot.wiring import Services
from bot.worker.payment_reminders import PaymentReminderJob
from bot.worker.reminders import NudgeJob, Schedule
from storage.models import Contract, Message, Payment
from tests.helpers import Phone, applicant_at_summary, membership_accepted, pay_by_transfer
from tests.samples import document_photo

ALWAYS = Schedule(ZoneInfo("UTC"), quiet_start=time(23, 59), quiet_end=time(0, 0))


def outbound(services: Services, kind: str) -> list[str]:
    with services.database.session_scope() as session:
        rows = session.execute(select(Message).where(Message.direction == "out").order_by(Message.id)).scalars()
        return [b["text"] for b in (services.cipher.decrypt_json(r.body) for r in rows) if b.get("kind") == kind]


def accepted_at(services: Services) -> datetime:
    with services.database.session_scope() as session:
        return session.execute(select(Contract.accepted_at)).scalar_one()


def test_an_unpaid_contract_is_reminded_twice_then_rests(phone: Phone, services: Services) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    phone.send("acepto")
    accepted = accepted_at(services)
    clock = [accepted]
    # two workers share the job: each reminder is recorded once in the database, so it is sent once
    jobs = [PaymentReminderJob(services.database, services.cipher, ALWAYS, clock=lambda: clock[0]) for _ in "ab"]
    nudges = NudgeJob(services.database, services.cipher, ALWAYS, clock=lambda: clock[0])
    counts = []
    for hours in (1, 23, 25, 26, 71, 73, 74, 200):
        clock[0] = accepted + timedelta(hours=hours)
        for job in jobs:
            job.run_once()
        nudges.run_once()
        counts.append(len(outbound(services, "nudge")))
    assert counts == [0, 0, 1, 1, 1, 2, 2, 2]
    first, second = outbound(services, "nudge")
    assert "$1,499.00 MXN" in first and "estado" in first
    assert "$1,499.00 MXN" in second and "no te volveremos a escribir" in second.lower()


def test_no_reminder_at_night_in_the_business_time_zone(phone: Phone, services: Services) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    phone.send("acepto")
    zone = ZoneInfo("America/Mexico_City")
    accepted = accepted_at(services)
    night = datetime.combine(accepted.astimezone(zone).date() + timedelta(days=2), time(23, 30), zone)
    clock = [night]
    job = PaymentReminderJob(services.database, services.cipher, Schedule(zone), clock=lambda: clock[0])
    assert job.run_once() == 0
    clock[0] = night + timedelta(hours=10)  # 9:30 the next morning
    assert job.run_once() == 1
    assert job.run_once() == 0


def test_no_reminder_once_paid_or_while_staff_check_the_receipt(phone: Phone, services: Services) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    phone.send("acepto")
    phone.upload(document_photo(seed=41), "transferencia.jpg")  # waiting for staff: nothing to remind
    later = [datetime.now(UTC) + timedelta(hours=30)]
    job = PaymentReminderJob(services.database, services.cipher, ALWAYS, clock=lambda: later[0])
    assert job.run_once() == 0


def test_no_reminder_after_the_payment_is_confirmed(phone: Phone, services: Services) -> None:
    applicant_at_summary(phone)
    phone.send("1")
    pay_by_transfer(phone)
    later = [datetime.now(UTC) + timedelta(hours=30)]
    assert PaymentReminderJob(services.database, services.cipher, ALWAYS, clock=lambda: later[0]).run_once() == 0


def test_an_unpaid_membership_is_reminded_twice_naming_it_and_its_reference(phone: Phone, app: Flask,
                                                                            services: Services) -> None:
    membership_accepted(phone, plan="anual")  # accepted, its SPEI payment opened, nothing paid
    with services.database.session_scope() as session:
        reference = session.execute(select(Payment.reference)).scalar_one()
    accepted = accepted_at(services)
    clock = [accepted]
    jobs = [PaymentReminderJob(services.database, services.cipher, ALWAYS, clock=lambda: clock[0]) for _ in "ab"]
    counts = []
    for hours in (1, 25, 26, 73, 74, 200):
        clock[0] = accepted + timedelta(hours=hours)
        for job in jobs:
            job.run_once()
        counts.append(len(outbound(services, "nudge")))
    assert counts == [0, 1, 1, 2, 2, 2]  # recorded once each, though two workers run
    first, second = outbound(services, "nudge")
    for text in (first, second):
        assert "membresía" in text.lower() and str(reference) in text and "$990.00 MXN" in text, text
    assert "no te volveremos a escribir" in second.lower()
    zone = ZoneInfo("America/Mexico_City")  # none at night, in the business time zone
    other = Phone(app.test_client())
    membership_accepted(other)
    with services.database.session_scope() as session:
        last = session.execute(select(Contract.accepted_at).order_by(Contract.id.desc()).limit(1)).scalar_one()
    night = datetime.combine(last.astimezone(zone).date() + timedelta(days=2), time(23, 30), zone)
    assert PaymentReminderJob(services.database, services.cipher, Schedule(zone), clock=lambda: night).run_once() == 0
    other.upload(document_photo(seed=43), "transferencia.jpg")  # staff check it: nothing to remind
    assert PaymentReminderJob(services.database, services.cipher, ALWAYS,
                              clock=lambda: last + timedelta(hours=30)).run_once() == 0
