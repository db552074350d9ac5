"""The paid membership's own calendar, run by the worker: renewal notices before a paid period ends, and the end.

A member hears 5 days before their membership ends and on its last day (at the reminder hour of
BUSINESS_TIMEZONE, never at night); each notice is recorded in the nudges table under (conversation,
"membership:<id>:<end date>", kind) in the transaction that queues it, so it goes once even with two workers or
after a restart, and renewing (a new end date) starts afresh. When the period ends unrenewed the membership
lapses: IMSS reminders had already stopped at that moment (storage filters them by `paid_until`), and the member
gets one message saying so and how to renew. Legacy memberships (no end) are never concerned.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.messages import Outbound
from bot.worker.reminders import ScheduledJob
from flows.rules.payments import RENEWAL_NOTICES, last_covered_day, long_date, renewal_due
from locales import N_, translate
from storage.conversations import ConversationRepository
from storage.db import Session
from storage.messages import MessageRepository
from storage.subscriptions import MembershipListing, MembershipRepository

TEXTS = {
    "renew5": N_("Your payment reminders membership ends on %(last_day)s. To keep your IMSS reminders, renew it: "
                 "write *membresía* and choose *Renew*. The new period starts when the current one ends."),
    "renew1": N_("Today, %(last_day)s, is the last day of your payment reminders membership. To keep your IMSS "
                 "reminders, write *membresía* and choose *Renew*."),
    "lapsed": N_("Your payment reminders membership ended on %(last_day)s, so we no longer send you IMSS payment "
                 "reminders. To get them again, write *membresía* and choose a plan."),
}
LOOKAHEAD_DAYS = max(RENEWAL_NOTICES.values()) + 1


class MembershipJob(ScheduledJob):
    """Lapses the memberships whose period ended and sends the renewal notices that are due, once each."""

    def run_once(self) -> int:
        now = self.clock()
        queued = 0
        with self.database.session_scope() as session:
            membership = MembershipRepository(session)
            # Lapsing changes no message by itself, so it runs at night too; its message waits for the morning.
            for ended in membership.lapse(now):
                self._update_conversation(session, ended.conversation_id, now)
            if not self.schedule.quiet(now):
                queued += self._lapse_messages(session, membership, now)
                queued += self._renewal_notices(session, membership, now)
        if queued and self.on_queued:
            self.on_queued()
        return queued

    def _renewal_notices(self, session: Session, membership: MembershipRepository, now: datetime) -> int:
        queued = 0
        zone = self.schedule.zone
        for member in membership.ending_within(now, LOOKAHEAD_DAYS):
            assert member.paid_until is not None
            due = sorted(((renewal_due(member.paid_until, kind, zone, self.schedule.send_at), kind)
                          for kind in RENEWAL_NOTICES), reverse=True)
            sent = False
            for at, kind in due:
                if at > now or not membership.record_nudge(member.conversation_id, _anchor(member), kind, now):
                    continue
                if not sent and not member.opted_out:  # the latest due speaks; an earlier one missed stays silent
                    queued += self._queue(session, member, kind, now)
                sent = True
        return queued

    def _lapse_messages(self, session: Session, membership: MembershipRepository, now: datetime) -> int:
        """One message per lapsed membership, sent once (recorded), even if the worker was down when it ended."""
        queued = 0
        for member in membership.lapsed_since(now):
            if membership.record_nudge(member.conversation_id, _anchor(member), "lapsed", now) \
                    and not member.opted_out:
                queued += self._queue(session, member, "lapsed", now)
        return queued

    def _update_conversation(self, session: Session, conversation_id: int, now: datetime) -> None:
        """What the chat shows of the membership follows it: no longer subscribed."""
        conversations = ConversationRepository(session, self.cipher)
        state = conversations.lock_by_id(conversation_id)
        if state is None:
            return
        state.data["reminders_active"] = False
        state.data["membership"] = {**(state.data.get("membership") or {}), "status": "lapsed"}
        conversations.save(conversation_id, state, ())

    def _queue(self, session: Session, member: MembershipListing, kind: str, now: datetime) -> int:
        assert member.paid_until is not None
        last_day = long_date(last_covered_day(member.paid_until, self.schedule.zone), member.locale)
        MessageRepository(session, self.cipher).queue(
            member.conversation_id, member.channel,
            Outbound(translate(member.locale, TEXTS[kind], last_day=last_day), kind="payment_reminder"), now,
            author="system")
        return 1


def _anchor(member: MembershipListing) -> str:
    """The period a notice is about: the membership and the end of its paid period."""
    assert member.paid_until is not None
    return f"membership:{member.id}:{member.paid_until.date().isoformat()}"
