"""The manager's view, read from what the product already stores: no second tracking system.

The enrollment funnel follows the conversations that started in a period. How far each one got is the furthest
of what its records prove: the step it stands on or went through (its `state` and its "atrás" `history`, read
through a step → depth map the caller gives, since storage knows no flows), an accepted privacy notice, an
uploaded document, an accepted service contract, a paid payment, a filed case, an enrolled case. A depth
counts every stage before it, so the funnel never grows from one stage to the next.

Everything is summed here in Python from plain rows, so SQLite and PostgreSQL agree on time zones and medians.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import (
    AuditEntry,
    Case,
    CaseEvent,
    Consent,
    Contract,
    Conversation,
    Document,
    Message,
    Nudge,
    Payment,
    PeriodPayment,
    Reminder,
    Staff,
)

# The stages of the funnel, in order; a conversation's depth is the index of the last stage it completed.
STAGES = ("started", "consents", "eligibility", "data", "documents", "contracted", "paid", "filed", "enrolled")
DEPTH = {stage: index for index, stage in enumerate(STAGES)}
# Ages of a case since it was filed, in days: (label key, lower bound inclusive, upper bound exclusive).
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-1", 0, 2), ("2-7", 2, 8), ("8-30", 8, 31), ("31+", 31, None))


@dataclass(frozen=True, slots=True)
class FunnelStage:
    stage: str
    reached: int
    dropped: int  # reached the stage before but not this one

    def share_of_previous(self, previous: int) -> float | None:
        return None if previous == 0 else self.reached / previous


@dataclass(frozen=True, slots=True)
class StatusAges:
    status: str
    by_age: tuple[int, ...]  # counts per AGE_BUCKETS

    @property
    def total(self) -> int:
        return sum(self.by_age)


@dataclass(frozen=True, slots=True)
class AgentLoad:
    staff_id: int | None
    name: str
    email: str
    handoffs: int  # conversations the agent took or answered first in the period
    answered: int  # of those, how many got a reply from the agent
    median_first_response: timedelta | None


@dataclass(frozen=True, slots=True)
class Activity:
    membership_reminders: int  # payment-date reminders of memberships, sent
    enrollment_nudges: int  # reminders to finish an abandoned enrollment
    payment_nudges: int  # reminders to pay an accepted contract
    payments_confirmed: int  # service payments paid in the period
    payments_centavos: int
    membership_periods_paid: int  # membership periods staff marked as paid


@dataclass(frozen=True, slots=True)
class Dashboard:
    start: datetime
    end: datetime
    funnel: tuple[FunnelStage, ...]
    cases: tuple[StatusAges, ...]
    to_filing: timedelta | None
    to_filing_count: int
    to_enrollment: timedelta | None
    to_enrollment_count: int
    agents: tuple[AgentLoad, ...]
    activity: Activity


def _median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(value.total_seconds() for value in values))


class DashboardQueries:
    """The numbers of the manager's view for a period [start, end) in UTC."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def build(self, start: datetime, end: datetime, step_depths: Mapping[str, int], document_slots: Sequence[str],
              statuses: Sequence[str], now: datetime) -> Dashboard:
        to_filing = self.to_filing(start, end)
        to_enrollment = self.to_enrollment(start, end)
        return Dashboard(start, end, self.funnel(start, end, step_depths, document_slots),
                         self.cases(statuses, now),
                         _median(to_filing), len(to_filing), _median(to_enrollment), len(to_enrollment),
                         self.agents(start, end), self.activity(start, end))

    # -- the funnel --------------------------------------------------------------------------------------
    def depths(self, start: datetime, end: datetime, step_depths: Mapping[str, int],
               document_slots: Sequence[str] = ()) -> dict[int, int]:
        """How far each conversation started in the period got, as an index of STAGES (`document_slots`: the
        slots of the enrollment documents; one of them uploaded means the applicant's data was complete)."""
        in_period = (Conversation.created_at >= start, Conversation.created_at < end)
        rows = self.session.execute(select(Conversation.id, Conversation.contact_id, Conversation.state,
                                           Conversation.history).where(*in_period)).all()
        depth: dict[int, int] = {}
        by_contact: dict[int, list[int]] = {}
        for conversation_id, contact_id, state, history in rows:
            steps = [state, *json.loads(history or "[]")]
            depth[conversation_id] = max((step_depths.get(step, 0) for step in steps), default=0)
            by_contact.setdefault(contact_id, []).append(conversation_id)
        if not depth:
            return depth
        # Subqueries rather than lists of ids: a busy period stays within SQLite's limit of bound parameters.
        ids = select(Conversation.id).where(*in_period).scalar_subquery()
        contacts = select(Conversation.contact_id).where(*in_period).scalar_subquery()

        def at_least(stage: str, conversation_ids: Iterable[int | None]) -> None:
            for conversation_id in conversation_ids:
                if conversation_id in depth:
                    depth[conversation_id] = max(depth[conversation_id], DEPTH[stage])

        consented = self.session.execute(select(Consent.contact_id).where(
            Consent.contact_id.in_(contacts), Consent.kind == "privacy", Consent.accepted.is_(True))).scalars()
        at_least("consents", (cid for contact in set(consented) for cid in by_contact.get(contact, ())))
        at_least("data", self.session.execute(select(Document.conversation_id).where(
            Document.conversation_id.in_(ids), Document.slot.in_(list(document_slots)))).scalars())
        at_least("contracted", self.session.execute(select(Contract.conversation_id).where(
            Contract.conversation_id.in_(ids), Contract.kind == "service")).scalars())
        at_least("paid", self.session.execute(select(Contract.conversation_id).join(
            Payment, Payment.contract_id == Contract.id).where(
            Contract.conversation_id.in_(ids), Contract.kind == "service",
            Payment.status.in_(("paid", "refunded")))).scalars())
        at_least("filed", self.session.execute(select(Case.conversation_id).where(
            Case.conversation_id.in_(ids))).scalars())
        enrolled = select(CaseEvent.case_id).where(CaseEvent.status == "enrolled")
        at_least("enrolled", self.session.execute(select(Case.conversation_id).where(
            Case.conversation_id.in_(ids), (Case.status == "enrolled") | Case.id.in_(enrolled))).scalars())
        return depth

    def funnel(self, start: datetime, end: datetime, step_depths: Mapping[str, int],
               document_slots: Sequence[str] = ()) -> tuple[FunnelStage, ...]:
        depths = list(self.depths(start, end, step_depths, document_slots).values())
        reached = [sum(1 for depth in depths if depth >= index) for index in range(len(STAGES))]
        return tuple(FunnelStage(stage, reached[index], (reached[index - 1] - reached[index]) if index else 0)
                     for index, stage in enumerate(STAGES))

    # -- cases -------------------------------------------------------------------------------------------
    def cases(self, statuses: Sequence[str], now: datetime) -> tuple[StatusAges, ...]:
        """Every case now, by status (in the given order) and by days since it was filed."""
        counts: dict[str, list[int]] = {status: [0] * len(AGE_BUCKETS) for status in statuses}
        for status, created_at in self.session.execute(select(Case.status, Case.created_at)).all():
            days = max(0, (now - created_at).days)
            bucket = next(index for index, (_, low, high) in enumerate(AGE_BUCKETS)
                          if days >= low and (high is None or days < high))
            counts.setdefault(status, [0] * len(AGE_BUCKETS))[bucket] += 1
        return tuple(StatusAges(status, tuple(values)) for status, values in counts.items())

    def to_filing(self, start: datetime, end: datetime) -> list[timedelta]:
        """From the first message (the conversation's start) to the filing, for cases filed in the period."""
        rows = self.session.execute(select(Case.created_at, Conversation.created_at).join(
            Conversation, Conversation.id == Case.conversation_id).where(
            Case.created_at >= start, Case.created_at < end)).all()
        return [max(timedelta(0), filed - first) for filed, first in rows]

    def to_enrollment(self, start: datetime, end: datetime) -> list[timedelta]:
        """From the filing to the enrollment, for cases enrolled in the period."""
        enrolled_at = (select(CaseEvent.case_id, func.min(CaseEvent.at).label("at"))
                       .where(CaseEvent.status == "enrolled").group_by(CaseEvent.case_id).subquery())
        rows = self.session.execute(select(Case.created_at, enrolled_at.c.at).join(
            enrolled_at, enrolled_at.c.case_id == Case.id).where(
            enrolled_at.c.at >= start, enrolled_at.c.at < end)).all()
        return [max(timedelta(0), enrolled - filed) for filed, enrolled in rows]

    # -- agents ------------------------------------------------------------------------------------------
    def agents(self, start: datetime, end: datetime) -> tuple[AgentLoad, ...]:
        """Per agent, the conversations taken (a take, or a first reply, which also takes) in the period and the
        median time from the applicant's last message before that to the agent's first reply."""
        rows = self.session.execute(select(AuditEntry.staff_id, AuditEntry.actor, AuditEntry.action,
                                           AuditEntry.target, AuditEntry.at).where(
            AuditEntry.action.in_(("take", "reply")), AuditEntry.target.like("conversation:%"),
            AuditEntry.at >= start, AuditEntry.at < end).order_by(AuditEntry.at, AuditEntry.id)).all()
        engaged: dict[tuple[str, int], datetime] = {}
        replied: dict[tuple[str, int], datetime] = {}
        staff_ids: dict[str, int | None] = {}
        for staff_id, actor, action, target, at in rows:
            try:
                conversation_id = int(target.split(":", 1)[1])
            except ValueError:
                continue
            key = (actor, conversation_id)
            staff_ids.setdefault(actor, staff_id)
            engaged.setdefault(key, at)
            if action == "reply":
                replied.setdefault(key, at)
        names = dict(self.session.execute(select(Staff.email, Staff.name).where(
            Staff.email.in_(list(staff_ids)))).tuples().all()) if staff_ids else {}
        waits: dict[str, list[timedelta]] = {actor: [] for actor in staff_ids}
        for (actor, conversation_id), first_reply in replied.items():
            since = engaged[(actor, conversation_id)]
            asked = self.session.execute(select(func.max(Message.created_at)).where(
                Message.conversation_id == conversation_id, Message.direction == "in",
                Message.created_at <= since)).scalar_one_or_none()
            waits[actor].append(max(timedelta(0), first_reply - (asked or since)))
        loads = [AgentLoad(staff_ids[actor], names.get(actor, actor), actor,
                           sum(1 for key in engaged if key[0] == actor), len(waits[actor]), _median(waits[actor]))
                 for actor in staff_ids]
        return tuple(sorted(loads, key=lambda load: (-load.handoffs, load.email)))

    # -- reminders and payments --------------------------------------------------------------------------
    def activity(self, start: datetime, end: datetime) -> Activity:
        def count(*conditions: object) -> int:
            return int(self.session.execute(select(func.count()).where(*conditions)).scalar_one())  # type: ignore[arg-type]

        reminders = count(Reminder.status == "sent", Reminder.created_at >= start, Reminder.created_at < end)
        in_period = (Nudge.created_at >= start, Nudge.created_at < end)
        payment_nudges = count(Nudge.anchor.like("contract:%"), *in_period)
        nudges = count(*in_period) - payment_nudges
        paid, centavos = self.session.execute(select(func.count(), func.coalesce(func.sum(Payment.amount_centavos), 0))
                                              .where(Payment.status == "paid", Payment.paid_at >= start,
                                                     Payment.paid_at < end)).one()
        periods = count(PeriodPayment.status == "paid", PeriodPayment.updated_at >= start,
                        PeriodPayment.updated_at < end)
        return Activity(reminders, nudges, payment_nudges, int(paid), int(centavos), periods)
