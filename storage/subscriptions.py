"""Queries for the payment-reminder membership, its reminders and payments, and enrollment nudges."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.models import Case, Contact, Conversation, Nudge, PeriodPayment, Reminder, Subscription
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
        self.cancel(contact_id, now)
        self.session.add(Subscription(contact_id=contact_id, conversation_id=conversation_id, frequency=frequency,
                                      first_period=first, active=True, created_at=now))

    def cancel(self, contact_id: int, now: datetime) -> None:
        self.session.execute(update(Subscription).where(Subscription.contact_id == contact_id,
                                                        Subscription.active.is_(True))
                             .values(active=False, cancelled_at=now))

    def end_for_conversations(self, conversation_ids: Collection[int], now: datetime) -> int:
        """End the active subscriptions of these conversations (their data is gone: no amount, no purpose)."""
        if not conversation_ids:
            return 0
        result = self.session.execute(update(Subscription).where(
            Subscription.conversation_id.in_(conversation_ids), Subscription.active.is_(True))
            .values(active=False, cancelled_at=now))
        return int(getattr(result, "rowcount", 0) or 0)

    def schedules(self) -> list[tuple[int, str, str]]:
        """(id, first period, frequency) of every active subscription: a light read the scheduler repeats."""
        rows = self.session.execute(select(Subscription.id, Subscription.first_period, Subscription.frequency)
                                    .where(Subscription.active.is_(True))).all()
        return [(sid, first, frequency) for sid, first, frequency in rows]

    def active_among(self, ids: Collection[int]) -> list[SubscriptionRecord]:
        """The given subscriptions that are still active, by id."""
        rows = self.session.execute(
            select(Subscription, Contact.opted_out).join(Contact, Contact.id == Subscription.contact_id)
            .where(Subscription.id.in_(ids), Subscription.active.is_(True)).order_by(Subscription.id)).all()
        return [SubscriptionRecord(s.id, s.contact_id, s.conversation_id, s.frequency, s.first_period, opted,
                                   s.created_at) for s, opted in rows]

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
        s, opted = row
        return SubscriptionRecord(s.id, s.contact_id, s.conversation_id, s.frequency, s.first_period, opted,
                                  s.created_at)

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
