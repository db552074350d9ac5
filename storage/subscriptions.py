"""Queries for the payment-reminder membership, its reminders and payments, and enrollment nudges.

A subscription reminds while `active` is true and its paid period (`paid_until`) has not passed; subscriptions
from before memberships were sold are "legacy", with no end until staff cancel them. A paid one becomes
"lapsed" when its period ends unrenewed, "cancelled" by the member or staff, "refunded" when staff refund the
payment that bought it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.models import Case, Contact, Contract, Conversation, Nudge, PeriodPayment, Reminder, Subscription
from storage.sql import insert_ignoring_duplicates

PAYMENT_RANK = {"line_sent": 1, "proof_received": 2, "paid": 3}


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    id: int
    contact_id: int
    conversation_id: int
    frequency: str
    first_period: str
    opted_out: bool
    created_at: datetime | None = None
    status: str = "legacy"
    plan: str | None = None
    paid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class MembershipListing:
    """A membership as staff see it, with where to write to its member."""

    id: int
    conversation_id: int
    status: str
    plan: str | None
    paid_until: datetime | None
    created_at: datetime
    cancelled_at: datetime | None
    channel: str
    locale: str
    opted_out: bool = False


def _reminding(now: datetime | None) -> ColumnElement[bool]:
    """Subscriptions that still remind at `now`: active, and legacy (no end) or paid past `now`."""
    condition = Subscription.active.is_(True)
    if now is None:
        return condition
    return condition & or_(Subscription.paid_until.is_(None), Subscription.paid_until > now)


@dataclass(frozen=True, slots=True)
class ReminderRecipient:
    """Where a subscription's reminder goes, in which language, and what the applicant told us (for the amount)."""

    conversation_id: int
    channel: str
    locale: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IdleConversation:
    id: int
    last_inbound_at: datetime
    locale: str
    channel: str


class MembershipRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def subscribe(self, contact_id: int, conversation_id: int, frequency: str, first: str, now: datetime) -> None:
        """Change how often the member pays IMSS (and so when we remind); a membership is only bought (activate)."""
        self.session.execute(update(Subscription).where(Subscription.contact_id == contact_id,
                                                        Subscription.active.is_(True))
                             .values(frequency=frequency, first_period=first))

    def activate(self, contact_id: int, conversation_id: int, frequency: str, first: str, plan: str,
                 contract_id: int, now: datetime, extend: Callable[[datetime | None], datetime]) -> datetime:
        """A membership payment confirmed: renew the member's running membership from its end (a legacy one
        becomes paid from today), or start one; `extend` gives the new end from the current paid one (None: from
        today). Returns the new end of the paid period."""
        # The running one (an ended period not yet marked lapsed included: it restarts from today, untold).
        row = self.session.execute(select(Subscription).where(
            Subscription.contact_id == contact_id, Subscription.active.is_(True)).order_by(Subscription.id.desc())
            .limit(1)).scalar_one_or_none()
        if row is None:
            row = Subscription(contact_id=contact_id, conversation_id=conversation_id, frequency=frequency,
                               first_period=first, active=True, created_at=now)
            self.session.add(row)
        current = row.paid_until if row.status == "active" else None  # a legacy one: paid from today
        row.paid_until = extend(current)
        row.status, row.plan, row.contract_id, row.active = "active", plan, contract_id, True
        self.session.flush()
        return row.paid_until

    def cancel(self, contact_id: int, now: datetime, status: str = "cancelled") -> None:
        """End the member's memberships now: reminders stop at once (the member or their data rights)."""
        self.session.execute(update(Subscription).where(Subscription.contact_id == contact_id,
                                                        Subscription.active.is_(True))
                             .values(active=False, cancelled_at=now, status=status))

    def end(self, subscription_id: int, status: str, now: datetime) -> MembershipListing | None:
        """End one membership (staff cancel it, or its payment was refunded); None if it had already ended."""
        result = self.session.execute(update(Subscription).where(
            Subscription.id == subscription_id, Subscription.active.is_(True)).values(
            active=False, cancelled_at=now, status=status))
        if not getattr(result, "rowcount", 0):
            return None
        return self.listing(ids=[subscription_id])[0]

    def paid_by(self, contract_id: int) -> int | None:
        """The running paid membership a membership contract paid (its last period or an earlier one), if any."""
        return self.session.execute(select(Subscription.id).join(
            Contract, Contract.contact_id == Subscription.contact_id).where(
            Contract.id == contract_id, Subscription.active.is_(True), Subscription.status == "active")
            .order_by(Subscription.id.desc()).limit(1)).scalar_one_or_none()

    def lapse(self, now: datetime) -> list[MembershipListing]:
        """Paid memberships whose period has ended unrenewed become "lapsed" (reminders had already stopped)."""
        ids = list(self.session.execute(select(Subscription.id).where(
            Subscription.active.is_(True), Subscription.status == "active", Subscription.paid_until <= now)
        ).scalars())
        if ids:
            self.session.execute(update(Subscription).where(Subscription.id.in_(ids), Subscription.active.is_(True))
                                 .values(active=False, status="lapsed", cancelled_at=now))
        return self.listing(ids=ids) if ids else []

    def lapsed_since(self, now: datetime, days: int = 7) -> list[MembershipListing]:
        """Memberships that lapsed in the last `days`: the ones whose member may still have to be told."""
        return self.listing(ids=list(self.session.execute(select(Subscription.id).where(
            Subscription.status == "lapsed", Subscription.cancelled_at >= now - timedelta(days=days))).scalars()))

    def ending_within(self, now: datetime, days: int) -> list[MembershipListing]:
        """Paid memberships that end within `days`: the ones a renewal notice may be due for."""
        return self.listing(ids=list(self.session.execute(select(Subscription.id).where(
            _reminding(now), Subscription.status == "active",
            Subscription.paid_until <= now + timedelta(days=days))).scalars())) if days else []

    def listing(self, ids: Collection[int] | None = None, limit: int = 200) -> list[MembershipListing]:
        """Memberships (running first, then the most recent), or the given ones, for staff and the worker."""
        statement = (select(Subscription, Contact.channel, Conversation.locale, Contact.opted_out)
                     .join(Contact, Contact.id == Subscription.contact_id)
                     .join(Conversation, Conversation.id == Subscription.conversation_id))
        if ids is not None:
            statement = statement.where(Subscription.id.in_(ids)).order_by(Subscription.id)
        else:
            statement = statement.order_by(Subscription.active.desc(), Subscription.id.desc()).limit(limit)
        return [MembershipListing(s.id, s.conversation_id, s.status, s.plan, s.paid_until, s.created_at,
                                  s.cancelled_at, channel, locale, opted)
                for s, channel, locale, opted in self.session.execute(statement).all()]

    def end_for_conversations(self, conversation_ids: Collection[int], now: datetime) -> int:
        """End the active subscriptions of these conversations (their data is gone: no amount, no purpose)."""
        if not conversation_ids:
            return 0
        result = self.session.execute(update(Subscription).where(
            Subscription.conversation_id.in_(conversation_ids), Subscription.active.is_(True))
            .values(active=False, cancelled_at=now, status="cancelled"))
        return int(getattr(result, "rowcount", 0) or 0)

    def schedules(self, now: datetime | None = None) -> list[tuple[int, str, str]]:
        """(id, first period, frequency) of every subscription reminding at `now`: a light read the scheduler
        repeats."""
        rows = self.session.execute(select(Subscription.id, Subscription.first_period, Subscription.frequency)
                                    .where(_reminding(now))).all()
        return [(sid, first, frequency) for sid, first, frequency in rows]

    def active_among(self, ids: Collection[int], now: datetime | None = None) -> list[SubscriptionRecord]:
        """The given subscriptions that still remind at `now` (any active one without `now`), by id."""
        rows = self.session.execute(
            select(Subscription, Contact.opted_out).join(Contact, Contact.id == Subscription.contact_id)
            .where(Subscription.id.in_(ids), _reminding(now)).order_by(Subscription.id)).all()
        return [_record(s, opted) for s, opted in rows]

    def recipients(self, subscriptions: Collection[SubscriptionRecord], cipher: Cipher
                   ) -> dict[int, ReminderRecipient]:
        """Whom the given subscriptions' reminders go to, by subscription id: one read for a batch.

        Only the subscriptions actually sent to are asked for, so a conversation whose data cannot be
        decrypted stops only its own reminder, not the skipped and dropped ones around it.
        """
        if not subscriptions:
            return {}
        rows = self.session.execute(
            select(Subscription.id, Subscription.conversation_id, Contact.channel, Conversation.locale,
                   Conversation.data)
            .join(Conversation, Conversation.id == Subscription.conversation_id)
            .join(Contact, Contact.id == Subscription.contact_id)
            .where(Subscription.id.in_([s.id for s in subscriptions]))).all()
        return {sid: ReminderRecipient(conversation_id, channel, locale, cipher.decrypt_json(data, {}))
                for sid, conversation_id, channel, locale, data in rows}

    def settled_payments(self, ids: Collection[int], period: str) -> set[int]:
        """Which of the given subscriptions paid `period` or sent its receipt."""
        return set(self.session.execute(select(PeriodPayment.subscription_id).where(
            PeriodPayment.subscription_id.in_(ids), PeriodPayment.period == period,
            PeriodPayment.status.in_(("paid", "proof_received")))).scalars())

    def recorded_reminders(self, ids: Collection[int], period: str, kinds: Collection[str]) -> set[tuple[int, str]]:
        """(subscription, kind) pairs already recorded for `period`, among the given ones (an index lookup)."""
        return {(sid, kind) for sid, kind in self.session.execute(
            select(Reminder.subscription_id, Reminder.kind).where(
                Reminder.subscription_id.in_(ids), Reminder.period == period, Reminder.kind.in_(kinds))).all()}

    def for_conversation(self, conversation_id: int) -> SubscriptionRecord | None:
        row = self.session.execute(
            select(Subscription, Contact.opted_out).join(Contact, Contact.id == Subscription.contact_id)
            .where(Subscription.conversation_id == conversation_id, Subscription.active.is_(True))).first()
        if row is None:
            return None
        return _record(*row)

    def payments(self, subscription_id: int) -> list[tuple[str, str, int | None]]:
        rows = self.session.execute(select(PeriodPayment).where(PeriodPayment.subscription_id == subscription_id)
                                    .order_by(PeriodPayment.period)).scalars()
        return [(row.period, row.status, row.document_id) for row in rows]

    def set_payment(self, subscription_id: int, period: str, status: str, now: datetime,
                    document_id: int | None = None) -> None:
        row = self.session.execute(select(PeriodPayment).where(
            PeriodPayment.subscription_id == subscription_id, PeriodPayment.period == period)).scalar_one_or_none()
        if row is None:
            self.session.add(PeriodPayment(subscription_id=subscription_id, period=period, status=status,
                                           document_id=document_id, updated_at=now))
            return
        if PAYMENT_RANK[status] >= PAYMENT_RANK.get(row.status, 0):  # never back from "paid" to "line sent"
            row.status = status
        row.document_id = document_id or row.document_id
        row.updated_at = now

    def record_reminder(self, subscription_id: int, period: str, kind: str, due_at: datetime, status: str,
                        now: datetime) -> bool:
        """True only for the one caller that records it first: that caller alone may send it."""
        return insert_ignoring_duplicates(self.session, Reminder.__table__, {
            "subscription_id": subscription_id, "period": period, "kind": kind, "due_at": due_at,
            "status": status, "created_at": now}, ["subscription_id", "period", "kind"]) is not None

    def reminders(self, subscription_id: int) -> list[tuple[str, str, str]]:
        rows = self.session.execute(select(Reminder).where(Reminder.subscription_id == subscription_id)
                                    .order_by(Reminder.id)).scalars()
        return [(row.period, row.kind, row.status) for row in rows]

    # -- nudges ------------------------------------------------------------------------------------
    def idle_enrollments(self, before: datetime, skip_states: tuple[str, ...] = ()) -> list[IdleConversation]:
        """Enrollments the applicant left unfinished, bot-owned, not opted out, with no case yet; with the
        language and channel a nudge is written in."""
        has_case = select(Case.id).where(Case.conversation_id == Conversation.id).exists()
        rows = self.session.execute(
            select(Conversation.id, Contact.last_inbound_at, Conversation.locale, Contact.channel)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Conversation.flow == "enrollment", Conversation.owner == "bot", Contact.opted_out.is_(False),
                   Contact.reachable.is_(True), Contact.last_inbound_at.is_not(None),
                   Contact.last_inbound_at < before, Conversation.state.not_in(skip_states), ~has_case)).all()
        return [IdleConversation(cid, at, locale, channel) for cid, at, locale, channel in rows]

    def record_nudge(self, conversation_id: int, anchor: str, kind: str, now: datetime) -> bool:
        return insert_ignoring_duplicates(self.session, Nudge.__table__, {
            "conversation_id": conversation_id, "anchor": anchor, "kind": kind, "created_at": now},
            ["conversation_id", "anchor", "kind"]) is not None


def _record(s: Subscription, opted_out: bool) -> SubscriptionRecord:
    return SubscriptionRecord(s.id, s.contact_id, s.conversation_id, s.frequency, s.first_period, opted_out,
                              s.created_at, s.status, s.plan, s.paid_until)
