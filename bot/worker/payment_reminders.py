"""Gentle reminders of an accepted, unpaid contract (the service or a membership): at most two (24 h and 72 h
after it was accepted), never in the quiet hours, none while staff check its transfer receipt, then rest. A
membership's reminders name its plan and its payment reference.

Each reminder is recorded in the nudges table under (conversation, "contract:<id>", kind) in the transaction that
queues it, so two workers or a restart never send one twice; one missed through downtime is skipped, not caught up.
"""

from __future__ import annotations

from bot.core.messages import Outbound
from bot.worker.reminders import ScheduledJob
from flows.rules.prices import CONCEPTS, amount
from locales import N_, translate
from storage.messages import MessageRepository
from storage.payments import PaymentRepository
from storage.subscriptions import MembershipRepository

TEXTS = {
    "pay1": N_("Hi! Your enrollment is ready to be filed with IMSS as soon as your payment of %(total)s MXN "
               "arrives. Write *estado* to see how to pay. If you changed your mind, there is nothing to do."),
    "pay2": N_("A last reminder: your payment of %(total)s MXN is still pending, so we have not filed your "
               "enrollment. Write *estado* when you want to continue. We will not write about it again."),
    "membership_pay1": N_("Hi! Your membership (%(plan)s) starts as soon as your payment of %(total)s MXN with "
                          "reference %(reference)s arrives. Write *membresía* to see how to pay. If you changed "
                          "your mind, there is nothing to do."),
    "membership_pay2": N_("A last reminder: the payment of your membership (%(plan)s) for %(total)s MXN with "
                          "reference %(reference)s is still pending, so it has not started. Write *membresía* "
                          "when you want to continue. We will not write about it again."),
    "membership_pay1_open": N_("Hi! Your membership (%(plan)s) starts as soon as your payment of %(total)s MXN "
                               "arrives. Write *membresía* to see how to pay. If you changed your mind, there is "
                               "nothing to do."),
    "membership_pay2_open": N_("A last reminder: the payment of your membership (%(plan)s) for %(total)s MXN is "
                               "still pending, so it has not started. Write *membresía* when you want to "
                               "continue. We will not write about it again."),
}
KINDS = ("service", "membership")  # what a contract sells; both get the same two reminders


class PaymentReminderJob(ScheduledJob):
    """Reminds an unpaid contract twice at most, using the nudge schedule (NUDGE_AFTER_HOURS, by default 24 and
    72 hours) counted from the moment the contract was accepted."""

    def run_once(self) -> int:
        now = self.clock()
        if self.schedule.quiet(now):
            return 0
        first, second = self.schedule.nudges
        queued = 0
        with self.database.session_scope() as session:
            unpaid = [contract for kind in KINDS
                      for contract in PaymentRepository(session).unpaid_contracts(now - first, kind)]
            for contract in unpaid:
                waited = now - contract.accepted_at
                kind = "pay2" if waited >= second else "pay1"
                if waited >= second + first:
                    continue  # long gone: a reminder now would be noise
                if not MembershipRepository(session).record_nudge(contract.conversation_id,
                                                                  f"contract:{contract.id}", kind, now):
                    continue
                total = amount(contract.amount_centavos)
                if contract.plan in CONCEPTS and contract.plan != "service":  # a membership: named, with its
                    key = f"membership_{kind}" if contract.reference else f"membership_{kind}_open"  # reference
                    text = translate(contract.locale, TEXTS[key], total=total, reference=contract.reference,
                                     plan=translate(contract.locale, CONCEPTS[contract.plan]))
                else:
                    text = translate(contract.locale, TEXTS[kind], total=total)
                MessageRepository(session, self.cipher).queue(
                    contract.conversation_id, contract.channel, Outbound(text, kind="nudge"), now, author="system")
                queued += 1
        if queued and self.on_queued:
            self.on_queued()
        return queued
