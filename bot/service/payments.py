"""Contracts and payments applied to a conversation: opening a payment when the applicant accepts, the transfer
receipt they send, and a confirmation (staff, or a provider) that files the case or starts the membership, each
in one transaction.

A confirmation is applied at most once: the payment's status moves from "pending" to "paid" in one conditional
UPDATE under the conversation's lock, and only the call that moved it files the case (a service contract) or
starts or renews the membership (a membership contract) and tells the applicant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.clock import utcnow
from bot.core.errors import BotError
from bot.core.events import SystemEvent
from bot.core.messages import Outbound
from bot.core.state import DialogState
from bot.dialog.engine import DialogResult, Engine
from bot.dialog.turn import Turn
from bot.service.payment_receipts import PaymentReceipts
from bot.service.stripe_checkout import CheckoutError, StripeCheckout
from flows.model import AcceptContract, StartPayment
from flows.rules.payments import first_period, last_covered_day, local_date, membership_end
from flows.rules.prices import CONCEPTS, price_for
from locales import N_, translate
from storage.conversations import ConversationRepository
from storage.crypto import Cipher
from storage.db import Database, Session
from storage.enrollment import CaseRecord, ConsentRepository
from storage.messages import MessageRepository
from storage.payments import ContractRecord, PaymentRecord, PaymentRepository
from storage.staff import AuditRepository, StaffRecord
from storage.subscriptions import MembershipRepository

RECEIPT_SLOT = "payment_receipt"
# The document slot of a transfer receipt, and the kind of contract it pays.
RECEIPT_SLOTS = {RECEIPT_SLOT: "service", "membership_receipt": "membership"}
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
RETRY_EVENTS = {"checkout.session.async_payment_failed": "failed", "checkout.session.expired": "expired"}
log = logging.getLogger(__name__)
CONTRACT_CONSENT = "service_contract"  # the membership's is "membership_contract"
# Where each kind of contract keeps its payment in the conversation data, and the steps that show it.
DATA_KEY = {"service": "payment", "membership": "membership_payment"}
STEPS = {
    "service": {"offer": "contract_offer", "method": "payment_method", "card": "payment_card",
                "spei": "payment_spei", "retry": "payment_retry", "rejected": "payment_receipt_rejected"},
    "membership": {"offer": "reminders_offer", "method": "membership_method", "card": "membership_card",
                   "spei": "membership_spei", "retry": "membership_retry", "rejected": "membership_receipt_rejected"},
}


class PaymentError(BotError):
    """A payment action that cannot be done as asked; the message is shown to staff as is."""


@dataclass(frozen=True, slots=True)
class SpeiAccount:
    """Where applicants transfer to (SPEI_CLABE, SPEI_BENEFICIARY)."""

    clabe: str
    beneficiary: str
    offered: bool = True  # False in production with the example or a malformed CLABE: then only Stripe


def without_spei(replies: list[Outbound]) -> list[Outbound]:
    """The replies without their "Bank transfer (SPEI)" buttons, for when SPEI is not offered."""
    return [replace(reply, buttons=tuple(b for b in reply.buttons if b.payload != "spei")) for reply in replies]


def enter_step(engine: Engine, conversation: DialogState, step: str, now: datetime) -> DialogResult:
    """Enter a step of the flows from outside a turn (after storage did something), as the engine would."""
    turn = Turn(engine, conversation, now)
    try:
        turn.enter(step)
        return turn.result()
    finally:
        turn.release()


# Files the enrollment case from the conversation (TurnService._file_case: its data, eligibility and review flags).
CaseFiler = Callable[[Session, DialogState, int, int, datetime], CaseRecord]


class Payments:
    def __init__(self, database: Database, cipher: Cipher, engine: Engine, spei: SpeiAccount, file_case: CaseFiler,
                 *, checkout: StripeCheckout | None = None, on_queued: Callable[[], None] | None = None) -> None:
        self.database, self.cipher, self.engine, self.spei = database, cipher, engine, spei
        self.file_case = file_case
        self.checkout = checkout  # None: SPEI only (no STRIPE_SECRET_KEY)
        # With Stripe and no real CLABE (production with the example account), SPEI is never shown: only Stripe.
        self.spei_offered = spei.offered or checkout is None
        self.on_queued = on_queued
        self.receipts: PaymentReceipts | None = None  # the PDF receipt of a confirmed payment

    # -- inside a turn (the caller's transaction) ------------------------------------------------------
    def accept(self, session: Session, conversation: DialogState, effect: AcceptContract, contact_id: int,
               conversation_id: int, inbound_id: int | None, now: datetime) -> list[Outbound]:
        """The applicant accepted: record the contract at today's price and open its SPEI payment (an open one
        is reused, so accepting twice never makes two), then show how to pay."""
        payments = PaymentRepository(session)
        price = price_for(effect.plan, self.engine.local_date(now))
        contract = self._open_contract(payments, conversation_id, effect.kind)
        if contract is None or contract.plan != effect.plan:
            contract = payments.accept_contract(contact_id, conversation_id, effect.kind, effect.plan,
                                                price.total_centavos, effect.version, inbound_id, now)
        ConsentRepository(session).record(contact_id, f"{effect.kind}_contract", effect.version, True, inbound_id,
                                          now)
        if self.checkout is not None and not self.spei_offered:  # one way to pay: straight to its link
            return self.start(session, conversation, StartPayment("stripe", effect.kind), conversation_id, now)
        if self.checkout is not None:
            conversation.data[DATA_KEY[effect.kind]] = {"amount_centavos": contract.amount_centavos,
                                                        "status": "choosing"}
            return list(enter_step(self.engine, conversation, STEPS[effect.kind]["method"], now).replies)
        return self.start(session, conversation, StartPayment("spei", effect.kind), conversation_id, now)

    def start(self, session: Session, conversation: DialogState, effect: StartPayment, conversation_id: int,
              now: datetime) -> list[Outbound]:
        """Open the accepted contract's payment by the chosen method (a pending one of that method is reused) and
        show how to pay: the Checkout link, or the transfer details."""
        payments = PaymentRepository(session)
        steps = STEPS[effect.kind]
        contract = self._open_contract(payments, conversation_id, effect.kind)
        if contract is None:
            return list(enter_step(self.engine, conversation, steps["offer"], now).replies)
        method = effect.method if self.checkout is not None else "spei"
        if not self.spei_offered:
            method = "stripe"
        payment = payments.latest_for_conversation(conversation_id, effect.kind)
        if payment is None or payment.contract_id != contract.id or payment.status != "pending" \
                or payment.method != method:
            if payment is not None and payment.contract_id == contract.id and payment.status == "pending":
                payments.transition(payment.id, "expired", now, note="replaced by another method")
            payment = payments.start_payment(contract.id, method, now)
        replies: list[Outbound] = []
        if method == "stripe" and payment.checkout_url is None:
            assert self.checkout is not None
            try:
                link = self.checkout.create(payment.id, payment.reference, payment.amount_centavos,
                                            translate(conversation.locale, CONCEPTS[contract.plan]))
            except CheckoutError:
                payments.transition(payment.id, "failed", now, note="checkout could not be created")
                if not self.spei_offered:
                    log.exception("checkout failed; SPEI not offered: the applicant may try again")
                    failed = payments.get(payment.id) or payment
                    conversation.data[DATA_KEY[effect.kind]] = {**self._view(failed), "status": "choosing"}
                    return without_spei(list(enter_step(self.engine, conversation, steps["retry"], now).replies))
                log.exception("checkout failed; offering SPEI")
                payment = payments.start_payment(contract.id, "spei", now)
                replies.append(Outbound(translate(conversation.locale, N_(
                    "Card payments are not available right now. You can pay by bank transfer:"))))
            else:
                payments.set_checkout(payment.id, link.session_id, link.url, now)
                payment = payments.get(payment.id) or payment
        conversation.data[DATA_KEY[effect.kind]] = self._view(payment)
        step = steps["card"] if payment.method == "stripe" else steps["spei"]
        replies += list(enter_step(self.engine, conversation, step, now).replies)
        return replies if self.spei_offered else without_spei(replies)

    def record_receipt(self, session: Session, conversation: DialogState, conversation_id: int, document_id: int,
                       now: datetime, kind: str = "service") -> None:
        """A transfer receipt the applicant sent: it waits on the pending payment of that kind of contract for
        staff to check."""
        payments = PaymentRepository(session)
        payment = payments.latest_for_conversation(conversation_id, kind)
        if payment is not None and payment.status == "pending":
            payments.attach_receipt(payment.id, document_id, now)
            key = DATA_KEY[kind]
            conversation.data[key] = {**(conversation.data.get(key) or {}), "note": None, "receipt": True}

    # -- confirmations and rejections (own transaction) ------------------------------------------------
    def confirm(self, payment_id: int, staff: StaffRecord, conversation_id: int) -> bool:
        """Staff matched the transfer: the payment is paid and the case filed. False if it was applied before."""
        now = utcnow()
        with self.database.session_scope() as session:
            payments = PaymentRepository(session)
            if self._payment_and_conversation(payments, payment_id)[1] != conversation_id:
                raise PaymentError(N_("No such payment."))
            applied = self.apply_paid(session, payment_id, staff.email, now)
            AuditRepository(session).add(staff, "payment_confirm", f"payment:{payment_id}", now,
                                         None if applied else "already applied")
        self._wake()
        return applied

    def reject(self, payment_id: int, staff: StaffRecord, conversation_id: int, reason: str) -> None:
        """Staff could not match the receipt: the applicant hears why and is asked for it again."""
        reason = reason.strip()
        if not reason:
            raise PaymentError(N_("Say why the receipt is rejected."))
        now = utcnow()
        with self.database.session_scope() as session:
            payments = PaymentRepository(session)
            payment, found = self._payment_and_conversation(payments, payment_id)
            if found != conversation_id:
                raise PaymentError(N_("No such payment."))
            conversations = ConversationRepository(session, self.cipher)
            state = conversations.lock_by_id(conversation_id)
            if state is None or not payments.reject_receipt(payment_id, reason, staff.email, now):
                raise PaymentError(N_("This payment is not waiting for a receipt."))
            kind = self._kind(payments, payment)
            key = DATA_KEY[kind]
            state.data[key] = {**(state.data.get(key) or self._view(payment)), "note": reason, "receipt": False}
            slot = next(slot for slot, slot_kind in RECEIPT_SLOTS.items() if slot_kind == kind)
            (state.data.get("documents") or {}).pop(slot, None)
            result = enter_step(self.engine, state, STEPS[kind]["rejected"], now)
            conversations.save(conversation_id, result.conversation, result.events)
            self._queue(session, conversation_id, result.replies, now)
            AuditRepository(session).add(staff, "payment_reject", f"payment:{payment_id}", now, reason)
        self._wake()

    def apply_paid(self, session: Session, payment_id: int, actor: str, now: datetime,
                   provider_payment_id: str | None = None) -> bool:
        """Mark the payment paid and file the case (the service) or start the membership, and tell the applicant;
        exactly once."""
        payments = PaymentRepository(session)
        payment, conversation_id = self._payment_and_conversation(payments, payment_id)
        conversations = ConversationRepository(session, self.cipher)
        state = conversations.lock_by_id(conversation_id)  # first: a turn of this conversation waits for us
        if not payments.transition(payment_id, "paid", now, actor=actor, provider_payment_id=provider_payment_id):
            return False
        contract = payments.contract(payment.contract_id)
        if state is None or contract is None or contract.contact_id is None:
            return True  # the applicant erased their data: the payment is recorded, there is nobody to file for
        key = DATA_KEY.get(contract.kind, "payment")
        state.data[key] = {**(state.data.get(key) or self._view(payment)), "status": "paid"}
        folio: str | None = None
        if contract.kind == "membership":
            self._start_membership(session, state, contract, payment, conversation_id, now)
        elif contract.kind == "service" and contract.case_id is None:
            state.data.pop("payment", None)  # not part of the filed data
            case = self.file_case(session, state, contract.contact_id, conversation_id, now)
            state.data["payment"] = {**self._view(payment), "status": "paid"}
            payments.link_case(contract.id, case.id)
            contract, folio = replace(contract, case_id=case.id), case.folio
            result = self.engine.run_event(state, SystemEvent.CASE_FILED,
                                           {"folio": case.folio, "status": case.status}, now)
            conversations.save(conversation_id, result.conversation, result.events)
            self._queue(session, conversation_id, result.replies, now)
        else:
            conversations.save(conversation_id, state, ())
        if self.receipts is not None:  # BUSINESS_NAME and the document store come from bot.wiring
            receipt = self.receipts.issue(session, conversation_id, state.locale, state.data,
                                          replace(payment, paid_at=now), contract, folio, now)
            self._queue(session, conversation_id, (receipt,), now)
        return True

    # -- Stripe events (the webhook's transaction) -----------------------------------------------------
    def apply_stripe_event(self, event_id: str, kind: str, session_id: str, payment_status: str,
                           payment_intent: str | None) -> str:
        """Apply a verified Checkout event once per event id; what happened, for the log."""
        now = utcnow()
        with self.database.session_scope() as session:
            payments = PaymentRepository(session)
            payment = payments.by_provider_session(session_id) if session_id else None
            if not payments.record_event("stripe", event_id, kind, payment.id if payment else None, now):
                return "duplicate"
            if payment is None:
                return "unknown session"
            if kind in PAID_EVENTS and (kind != "checkout.session.completed" or payment_status == "paid"):
                applied = self.apply_paid(session, payment.id, "stripe", now, provider_payment_id=payment_intent)
                outcome = "paid" if applied else "already paid"
            elif kind in RETRY_EVENTS:
                outcome = self._offer_retry(session, payment, RETRY_EVENTS[kind], now)
            else:
                outcome = "waiting"  # an OXXO voucher was issued: its payment confirms later
        self._wake()
        return outcome

    def _offer_retry(self, session: Session, payment: PaymentRecord, status: str, now: datetime) -> str:
        """The payment failed or its link expired: the applicant may choose how to pay again (a new link)."""
        payments = PaymentRepository(session)
        _payment, conversation_id = self._payment_and_conversation(payments, payment.id)
        conversations = ConversationRepository(session, self.cipher)
        state = conversations.lock_by_id(conversation_id)
        if not payments.transition(payment.id, status, now, actor="stripe") or state is None:
            return "ignored"
        kind = self._kind(payments, payment)
        state.data[DATA_KEY[kind]] = {**self._view(payment), "status": "choosing"}
        result = enter_step(self.engine, state, STEPS[kind]["retry"], now)
        conversations.save(conversation_id, result.conversation, result.events)
        replies = result.replies if self.spei_offered else tuple(without_spei(list(result.replies)))
        self._queue(session, conversation_id, replies, now)
        return status

    # -- the membership ---------------------------------------------------------------------------------
    def _start_membership(self, session: Session, state: DialogState, contract: ContractRecord,
                          payment: PaymentRecord, conversation_id: int, now: datetime) -> None:
        """A membership payment confirmed: the membership starts, or is renewed from the end of its period."""
        assert contract.contact_id is not None
        zone = self.zone
        months = price_for(contract.plan, local_date(contract.accepted_at, zone)).months
        frequency = str(state.data.get("reminder_frequency") or "monthly")
        until = MembershipRepository(session).activate(
            contract.contact_id, conversation_id, frequency, first_period(now, zone), contract.plan, contract.id,
            now, lambda current: membership_end(current, now, months, zone))
        state.data.update(reminders_active=True, reminder_frequency=frequency, membership={
            "status": "active", "plan": contract.plan, "until": last_covered_day(until, zone).isoformat()})
        state.data[DATA_KEY["membership"]] = {**self._view(payment), "status": "paid"}
        result = enter_step(self.engine, state, "membership_activated", now)
        ConversationRepository(session, self.cipher).save(conversation_id, result.conversation, result.events)
        self._queue(session, conversation_id, result.replies, now)

    @property
    def zone(self) -> ZoneInfo:
        """BUSINESS_TIMEZONE (the engine's business hours carry it): membership periods are the member's dates."""
        return self.engine.hours.zone if self.engine.hours else ZoneInfo("America/Mexico_City")

    # -- helpers ---------------------------------------------------------------------------------------
    @staticmethod
    def _open_contract(payments: PaymentRepository, conversation_id: int, kind: str) -> ContractRecord | None:
        """The contract of `kind` a payment is for: the service's until it is filed, a membership's until paid."""
        if kind == "membership":
            return payments.unpaid_contract(conversation_id, kind)
        return payments.open_contract(conversation_id, kind)

    @staticmethod
    def _kind(payments: PaymentRepository, payment: PaymentRecord) -> str:
        contract = payments.contract(payment.contract_id)
        return contract.kind if contract is not None and contract.kind in DATA_KEY else "service"

    def _view(self, payment: PaymentRecord) -> dict[str, object]:
        """What the dialog shows of a payment (kept in the conversation data)."""
        return {"id": payment.id, "reference": payment.reference, "amount_centavos": payment.amount_centavos,
                "status": payment.status, "method": payment.method, "clabe": self.spei.clabe,
                "beneficiary": self.spei.beneficiary, "url": payment.checkout_url or ""}

    @staticmethod
    def _payment_and_conversation(payments: PaymentRepository, payment_id: int) -> tuple[PaymentRecord, int]:
        payment = payments.get(payment_id)
        contract = payments.contract(payment.contract_id) if payment else None
        if payment is None or contract is None or contract.conversation_id is None:
            raise PaymentError(N_("No such payment."))
        return payment, contract.conversation_id

    def _queue(self, session: Session, conversation_id: int, replies: tuple[Outbound, ...], now: datetime) -> None:
        _locale, channel = ConversationRepository(session, self.cipher).addressee(conversation_id)
        messages = MessageRepository(session, self.cipher)
        for reply in replies:
            messages.queue(conversation_id, channel, replace(reply, kind="status_update"), now)

    def _wake(self) -> None:
        if self.on_queued:
            self.on_queued()
