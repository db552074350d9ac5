"""Scheduled messages, run by the worker: payment reminders of the membership and enrollment nudges.

Each reminder is recorded under a unique key (subscription, period, kind) in the same transaction that
queues its message, so two workers or a restart can never send it twice; one that is due but no longer
useful (after downtime) is recorded as dropped instead, so catching up never floods anyone.
"""

from __future__ import annotations

import logging
import time as time_module
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.clock import utcnow
from bot.core.messages import Button, Outbound
from bot.core.metrics import REMINDERS
from flows.rules.border_zone import in_border_zone
from flows.rules.estimate import estimate, needed_values, stale_warnings
from flows.rules.money import money
from flows.rules.payments import (
    MONTHS_PER_PAYMENT,
    coverage_month,
    deadline,
    due_times,
    in_quiet_hours,
    long_date,
    month_name,
    period_of,
    periods_near,
    useful_until,
)
from locales import N_, translate
from storage.crypto import Cipher
from storage.db import Database, Session
from storage.messages import MessageRepository
from storage.subscriptions import MembershipRepository, ReminderRecipient, SubscriptionRecord

log = logging.getLogger(__name__)

# %(period)s is the month the payment covers (paying by 20 December buys January's coverage, DOMAIN.md
# "Contributions"); %(deadline)s the day-20 deadline, a long date in the applicant's language.
TEXTS = {
    "before_5": N_("Reminder: your IMSS payment for %(period)s is due on %(deadline)s (in 5 days).%(amount)s"),
    "before_1": N_("Tomorrow, %(deadline)s, is the last day to pay your IMSS contribution for %(period)s."
                   "%(amount)s"),
    "due": N_("Today, %(deadline)s, is the last day to pay your IMSS contribution for %(period)s.%(amount)s "
              "When you have paid, write *ya pagué* and send the receipt."),
    "missed": N_("We have no record of your IMSS payment for %(period)s, due on %(deadline)s. If it was not "
                 "paid, your coverage may end (LSS art. 231). We can help you get up to date."),
}
SQLITE_BATCH_PAUSE = 0.1  # seconds
NUDGE_TEXT = N_("Hi! Your IMSS enrollment is half done. Whenever you want, write *hola* and we will continue "
                "where you left off.")
# At the payment, the unpaid-contract reminders (payment_reminders.py) speak instead of the enrollment nudges.
NO_NUDGE_STATES = ("consent_declined", "elig_not_for_you", "income_declined", "status_without_case",
                   "payment_spei", "payment_method", "payment_card", "payment_retry", "payment_later",
                   "payment_receipt_received", "payment_receipt_rejected", "status_awaiting_payment")


@dataclass(frozen=True, slots=True)
class Schedule:
    zone: ZoneInfo
    send_at: time = time(10, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    nudges: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=72))

    def quiet(self, now: datetime) -> bool:
        """Whether it is night for the business: nothing goes out, what falls due waits for the morning."""
        return in_quiet_hours(now, self.zone, self.quiet_start, self.quiet_end)


class ScheduledJob:
    """A worker job that queues messages by the business's schedule (reminders, nudges, renewal notices)."""

    def __init__(self, database: Database, cipher: Cipher, schedule: Schedule,
                 clock: Callable[[], datetime] = utcnow, on_queued: Callable[[], None] | None = None) -> None:
        self.database, self.cipher, self.schedule, self.clock = database, cipher, schedule, clock
        self.on_queued = on_queued


class ReminderJob(ScheduledJob):
    """Records and queues the payment reminders that are due, in transactions of `batch` subscriptions.

    The worker runs it every 20 s, and around a deadline every subscription has a reminder due, so it
    remembers which subscriptions it has settled for each period and set of due reminders (recorded, by it
    or by another worker, or not concerned): a run with nothing new reads the ids of the active
    subscriptions and stops. After a restart, one indexed query per 500 subscriptions finds what is
    recorded. Short transactions let webhooks in between; the unique key still decides who sends.
    """

    def __init__(self, database: Database, cipher: Cipher, schedule: Schedule,
                 clock: Callable[[], datetime] = utcnow, on_queued: Callable[[], None] | None = None,
                 batch: int = 200) -> None:
        super().__init__(database, cipher, schedule, clock, on_queued)
        self.batch = batch
        self.sent = 0
        self.dropped = 0
        self.examined = 0  # subscriptions looked at one by one, for tests and benchmarks
        self._settled: dict[tuple[str, tuple[str, ...]], set[int]] = {}

    def run_once(self) -> int:
        now = self.clock()
        if self.schedule.quiet(now):
            return 0  # nothing goes out at night; what falls due waits for the morning
        slots = self._due_slots(now)
        self._settled = {slot: self._settled.get(slot, set()) for slot in slots}
        queued = 0
        for slot in slots:
            for number, batch in enumerate(self._pending(slot, now)):
                if number and not self.database.is_postgres:
                    # SQLite has one writer, and another process waiting for it retries every 100 ms at most:
                    # leave it that long between batches, or a webhook would wait for the whole pass.
                    time_module.sleep(SQLITE_BATCH_PAUSE)
                with self.database.session_scope() as session:
                    added = self._batch(session, batch, slot, now)
                self._settled[slot].update(batch)
                queued += added
        if queued and self.on_queued:
            self.on_queued()
        return queued

    def _due_slots(self, now: datetime) -> list[tuple[str, tuple[str, ...]]]:
        """Each deadline month near today with the reminders of it due by now, the latest first."""
        zone = self.schedule.zone
        today = now.astimezone(zone).date()
        slots = []
        for period in periods_near(period_of(today.year * 12 + today.month - 2), "monthly", today):
            due = sorted(((at, kind) for kind, at in due_times(period, zone, self.schedule.send_at).items()
                          if at <= now), reverse=True)
            if due:
                slots.append((period, tuple(kind for _, kind in due)))
        return slots

    def _pending(self, slot: tuple[str, tuple[str, ...]], now: datetime) -> list[list[int]]:
        """The subscriptions concerned by `slot` that still miss one of its reminders, in batches."""
        period, kinds = slot
        settled = self._settled[slot]
        today = now.astimezone(self.schedule.zone).date()
        with self.database.session_scope() as session:
            membership = MembershipRepository(session)
            fresh = [(sid, first, frequency) for sid, first, frequency in membership.schedules(now)
                     if sid not in settled]
            if not fresh:
                return []
            concerned = [sid for sid, first, frequency in fresh if period in periods_near(first, frequency, today)]
            settled.update(sid for sid, _, _ in fresh)  # those not concerned never will be; the rest come back
            settled.difference_update(concerned)
            pending = []
            for start in range(0, len(concerned), 500):
                chunk = concerned[start:start + 500]
                recorded = membership.recorded_reminders(chunk, period, kinds)
                for sid in chunk:
                    if all((sid, kind) in recorded for kind in kinds):
                        settled.add(sid)
                    else:
                        pending.append(sid)
        return [pending[start:start + self.batch] for start in range(0, len(pending), self.batch)]

    def _batch(self, session: Session, ids: list[int], slot: tuple[str, tuple[str, ...]], now: datetime) -> int:
        period, kinds = slot
        zone = self.schedule.zone
        membership = MembershipRepository(session)
        subscriptions = membership.active_among(ids, now)  # a membership paid until before now reminds no more
        recorded = membership.recorded_reminders(ids, period, kinds)
        paid = membership.settled_payments(ids, period)
        due = due_times(period, zone, self.schedule.send_at)
        sending: list[tuple[SubscriptionRecord, str]] = []
        for sub in subscriptions:
            self.examined += 1
            for rank, kind in enumerate(kinds):
                if (sub.id, kind) in recorded:
                    continue
                if sub.id in paid or sub.opted_out:
                    status = "skipped"
                elif rank > 0 or now >= useful_until(kind, period, zone) or self._before_subscription(
                        sub, due[kind], now):
                    status = "dropped"  # a later reminder supersedes it, or its moment has passed
                else:
                    status = "sent"
                if not membership.record_reminder(sub.id, period, kind, due[kind], status, now):
                    continue  # another worker got there first
                REMINDERS.labels(status).inc()
                if status == "sent":
                    sending.append((sub, kind))
                elif status == "dropped":
                    self.dropped += 1
                    log.info("reminder dropped subscription=%s period=%s kind=%s", sub.id, period, kind)
        # Recipients are read once the reminders are recorded, and only those actually written to.
        recipients = membership.recipients([sub for sub, _ in sending], self.cipher)
        for sub, kind in sending:
            self._queue(session, recipients[sub.id], sub, period, kind, now)
            self.sent += 1
        return len(sending)

    def _before_subscription(self, sub: SubscriptionRecord, due_at: datetime, now: datetime) -> bool:
        """A reminder that fell due before the applicant subscribed goes out only on its own day (a late
        "mañana" or "hoy" is still true; "in 5 days" on the 18th is not)."""
        created = sub.created_at
        if created is None:
            return False
        if created.tzinfo is None:
            created = created.replace(tzinfo=ZoneInfo("UTC"))
        zone = self.schedule.zone
        return due_at < created and due_at.astimezone(zone).date() != now.astimezone(zone).date()

    def _queue(self, session: Session, recipient: ReminderRecipient, sub: SubscriptionRecord, period: str,
               kind: str, now: datetime) -> None:
        locale = recipient.locale
        day = deadline(period)
        covered = coverage_month(period)
        data = recipient.data
        amount = ""
        if data.get("monthly_income"):
            # The values of the month paid for: a payment due 20 December is January's contribution.
            border = in_border_zone(data)
            result = estimate(float(data["monthly_income"]), covered, border=border)
            amount = " " + translate(locale, N_("Estimated amount: about %(amount)s."),
                                     amount=money(result.monthly_total * MONTHS_PER_PAYMENT[sub.frequency], locale))
            if result.constants is not None:
                amount += "".join(" " + warning for warning in
                                  stale_warnings(result.constants, needed_values(border), locale))
        text = translate(locale, TEXTS[kind], period=month_name(covered, locale),
                         deadline=long_date(day, locale), amount=amount)
        buttons = (Button(translate(locale, N_("Talk to a person")), "cmd:human"),) if kind == "missed" else ()
        MessageRepository(session, self.cipher).queue(recipient.conversation_id, recipient.channel,
                                                      Outbound(text, buttons, kind="payment_reminder"), now,
                                                      author="system")


class NudgeJob(ScheduledJob):
    """At most two nudges per silence (24 h and 72 h after the applicant's last message); a reply starts a
    new silence, so nudges stop by themselves when the applicant answers."""

    def run_once(self) -> int:
        now = self.clock()
        if self.schedule.quiet(now):
            return 0
        first, second = self.schedule.nudges
        queued = 0
        with self.database.session_scope() as session:
            membership = MembershipRepository(session)
            for idle in membership.idle_enrollments(now - first, NO_NUDGE_STATES):
                last = idle.last_inbound_at if idle.last_inbound_at.tzinfo else idle.last_inbound_at.replace(
                    tzinfo=ZoneInfo("UTC"))
                kind = "second" if now - last >= second else "first"
                if kind == "second" and now - last >= second + first:
                    continue  # long gone: a nudge now would be noise
                if not membership.record_nudge(idle.id, last.isoformat(), kind, now):
                    continue
                MessageRepository(session, self.cipher).queue(
                    idle.id, idle.channel, Outbound(translate(idle.locale, NUDGE_TEXT), kind="nudge"), now,
                    author="system")
                queued += 1
        if queued and self.on_queued:
            self.on_queued()
        return queued
