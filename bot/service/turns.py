"""One turn end to end, in one database transaction: dedupe, lock, run the engine, queue the replies.

Nothing here talks to the network: replies become queued outbox rows, so a webhook can answer as soon
as the transaction commits and a crash after that loses nothing (the worker sends them later).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.clock import utcnow
from bot.core.events import DialogEvent, SystemEvent
from bot.core.messages import Inbound, Outbound
from bot.core.metrics import DUPLICATES, INBOUND, TURN_SECONDS
from bot.core.state import DialogState
from bot.dialog.engine import DialogResult, Engine
from bot.service.payments import RECEIPT_SLOTS, Payments, SpeiAccount, without_spei
from bot.service.stripe_checkout import StripeCheckout
from flows.model import AcceptContract, AssignDocument, FileCase, RecordConsent, StartPayment, Subscribe, Unsubscribe
from flows.rules.ages import age_differs
from flows.rules.document_slots import missing_required
from flows.rules.eligibility_assessment import assess
from flows.rules.legal import TERMS
from flows.rules.payments import first_period, nearest_period
from locales import N_, translate
from storage.conversations import ContactRepository, ConversationRepository
from storage.crypto import Cipher
from storage.db import Database, Session
from storage.enrollment import CaseRecord, CaseRepository, ConsentRepository, DocumentRepository
from storage.files import DocumentStore
from storage.media_jobs import MediaJobRepository
from storage.messages import MessageRepository, StoredReply
from storage.rights import RightsRepository, erase_applicant
from storage.subscriptions import MembershipRepository

log = logging.getLogger(__name__)
# Channels whose replies travel in the answer to the request itself (the web chat page, the terminal):
# nothing is left for the worker to send.
INLINE_CHANNELS = frozenset({"webchat", "cli"})
# Channels that hold replies outside a messaging window (WhatsApp's 24 hours): a message from the
# applicant reopens it, so held replies go. Elsewhere nothing is ever held and the update is skipped.
WINDOWED_CHANNELS = frozenset({"whatsapp"})


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An upload that passed the document checks and sits encrypted in the document store."""

    storage_name: str
    content_type: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None


@dataclass(frozen=True, slots=True)
class TurnReceipt:
    """What happened: `duplicate` is true when the provider id was seen before (nothing was run)."""

    duplicate: bool
    conversation_id: int
    inbound_id: int | None
    replies: tuple[StoredReply, ...]
    events: tuple[str, ...] = ()


class TurnService:
    def __init__(self, database: Database, cipher: Cipher, engine: Engine, default_locale: str,
                 clock: Callable[[], datetime] = utcnow,
                 on_queued: Callable[[], None] | None = None, documents: DocumentStore | None = None,
                 export_link: Callable[[int], str] | None = None, spei: SpeiAccount | None = None,
                 checkout: StripeCheckout | None = None) -> None:
        self.documents = documents
        # SPEI_CLABE / SPEI_BENEFICIARY come from the settings through bot.wiring.
        self.payments = Payments(database, cipher, engine, spei or SpeiAccount("002180700000000001", "Gestoría PTI"),
                                 self._file_case, checkout=checkout, on_queued=self._wake)
        self.export_link = export_link
        self.database = database
        self.cipher = cipher
        self.engine = engine
        self.default_locale = default_locale
        self.clock = clock
        self.on_queued = on_queued

    def handle(self, inbound: Inbound, stored_file: StoredFile | None = None) -> TurnReceipt:
        """Store the inbound message and run its turn, exactly once per provider id.

        `stored_file` is a checked, encrypted upload: it is recorded in the same transaction and its id
        travels to the engine in the inbound event.
        """
        started = time.perf_counter()
        with self.database.session_scope() as session:
            outcome = self._run(session, inbound, stored_file, self.clock(), read_back=True)
        self.finished(inbound, outcome, started)
        return outcome

    def run_queued(self, session: Session, inbound: Inbound, now: datetime) -> TurnReceipt:
        """The turn of a delivery taken from the inbound queue, in the caller's transaction.

        Nobody waits for its replies (the worker sends them), so they are not read back.
        """
        return self._run(session, inbound, None, now, read_back=False)

    def finished(self, inbound: Inbound, outcome: TurnReceipt, started: float, counted: bool = False) -> None:
        """After the commit: metrics, and a wake-up for the worker so it finds what the turn queued.

        `counted`: the delivery was already counted when the webhook queued it.
        """
        if outcome.duplicate:
            DUPLICATES.labels(inbound.channel).inc()
        elif not counted:
            INBOUND.labels(inbound.channel).inc()
        TURN_SECONDS.observe(time.perf_counter() - started)
        if not outcome.duplicate and inbound.channel not in INLINE_CHANNELS:
            self._wake()

    def _run(self, session: Session, inbound: Inbound, stored_file: StoredFile | None,
             now: datetime, read_back: bool) -> TurnReceipt:
        contact = ContactRepository(session, self.cipher).get_or_create(inbound, now)
        conversations = ConversationRepository(session, self.cipher)
        conversation_id, state = conversations.lock(contact.id, contact.locale or self.default_locale, now)
        messages = MessageRepository(session, self.cipher)
        inbound_id = messages.record_inbound(conversation_id, inbound, now)
        if inbound_id is None:
            original = messages.find_inbound(inbound)
            replies = messages.replies_to(original) if original is not None and read_back else []
            return TurnReceipt(True, conversation_id, original, tuple(replies))
        inline = inbound.channel in INLINE_CHANNELS
        if inbound.ack:
            messages.queue(conversation_id, inbound.channel, Outbound("", kind="ack", control=inbound.ack),
                           now, in_reply_to=inbound_id, delivered_inline=inline)
        contacts = ContactRepository(session, self.cipher)
        if inbound.kind == "status":
            contacts.set_reachable(contact.id, inbound.payload == "reachable")
            return TurnReceipt(False, conversation_id, inbound_id, ())
        if inbound.kind in ("opt_out", "opt_in"):
            contacts.set_opted_out(contact.id, inbound.kind == "opt_out")
            ConsentRepository(session).record(contact.id, "business_messages", TERMS.version,
                                              inbound.kind == "opt_in", inbound_id, now)
        if inbound.kind != "event" and inbound.channel in WINDOWED_CHANNELS:
            messages.release_held(contact.id, now)
        if inbound.phone and "channel_phone" not in state.data:
            state.data["channel_phone"] = inbound.phone
        if inbound.attachments and not inline:
            # Files are downloaded by the worker; the document turn runs when they arrive.
            jobs = MediaJobRepository(session, self.cipher)
            for attachment in inbound.attachments:
                jobs.add(inbound_id, inbound.channel, attachment, now)
            if inbound.kind != "audio":  # a voice note is answered now; its file is kept once downloaded
                replies = messages.replies_to(inbound_id) if read_back else []
                return TurnReceipt(False, conversation_id, inbound_id, tuple(replies))
        case = CaseRepository(session, self.cipher).latest_status(conversation_id)
        if case is not None:
            state.data["case"] = {"folio": case[0], "status": case[1]}
        if stored_file is not None:
            document_id = DocumentRepository(session).add(
                conversation_id, stored_file.storage_name, stored_file.content_type, stored_file.size,
                stored_file.sha256, now, width=stored_file.width, height=stored_file.height,
                pages=stored_file.pages)
            inbound = replace(inbound, meta=(*inbound.meta, ("document_id", str(document_id))))
        turn = self.engine.run(state, inbound, now, self.default_locale)
        extra = self._apply_effects(session, turn, contact.id, conversation_id, inbound_id, now)
        extra += self._apply_rights(session, turn, inbound, contact.id, conversation_id, inbound_id, now)
        conversations.save(conversation_id, turn.conversation, turn.events)
        outgoing = [*turn.replies, *extra]
        if not self.payments.spei_offered:  # production without a real CLABE: no SPEI button, on any step
            outgoing = without_spei(outgoing)
        for reply in outgoing:
            messages.queue(conversation_id, inbound.channel, reply, now, in_reply_to=inbound_id,
                           delivered_inline=inline)
        replies = messages.replies_to(inbound_id) if read_back else []
        queued = len(turn.replies) + len(extra) + bool(inbound.ack)
        log.info("turn channel=%s conversation=%s state=%s replies=%d events=%s", inbound.channel,
                 conversation_id, turn.conversation.state, queued, ",".join(turn.events) or "-")
        return TurnReceipt(False, conversation_id, inbound_id, tuple(replies), turn.events)

    def _zone(self) -> ZoneInfo:
        """BUSINESS_TIMEZONE (the engine's business hours carry it): payment periods are the applicant's dates."""
        return self.engine.hours.zone if self.engine.hours else ZoneInfo("America/Mexico_City")

    def _wake(self) -> None:
        if self.on_queued:
            self.on_queued()

    def _apply_effects(self, session: Session, turn: DialogResult, contact_id: int, conversation_id: int,
                       inbound_id: int, now: datetime) -> list[Outbound]:
        """Store what the engine decided, in the turn's transaction; return replies of follow-up events."""
        replies: list[Outbound] = []
        for effect in turn.effects:
            if isinstance(effect, RecordConsent):
                ConsentRepository(session).record(contact_id, effect.kind, effect.version, effect.accepted,
                                                  inbound_id, now)
            elif isinstance(effect, AssignDocument):
                DocumentRepository(session).assign(effect.document_id, conversation_id, effect.slot)
                if effect.slot == "payment_proof":
                    self._record_payment_proof(session, conversation_id, effect.document_id, now)
                elif effect.slot in RECEIPT_SLOTS:  # a transfer receipt of the service or of a membership
                    self.payments.record_receipt(session, turn.conversation, conversation_id, effect.document_id,
                                                 now, RECEIPT_SLOTS[effect.slot])
            elif isinstance(effect, AcceptContract):
                replies.extend(self.payments.accept(session, turn.conversation, effect, contact_id, conversation_id,
                                                    inbound_id, now))
            elif isinstance(effect, StartPayment):
                replies.extend(self.payments.start(session, turn.conversation, effect, conversation_id, now))
            elif isinstance(effect, Subscribe):
                frequency = str(turn.conversation.data.get("reminder_frequency") or "monthly")
                MembershipRepository(session).subscribe(contact_id, conversation_id, frequency,
                                                        first_period(now, self._zone()), now)
            elif isinstance(effect, Unsubscribe):
                MembershipRepository(session).cancel(contact_id, now)
            elif isinstance(effect, FileCase):
                case = self._file_case(session, turn.conversation, contact_id, conversation_id, now)
                follow = self.engine.run_event(turn.conversation, SystemEvent.CASE_FILED,
                                               {"folio": case.folio, "status": case.status}, now)
                replies.extend(follow.replies)
        return replies

    def _apply_rights(self, session: Session, turn: DialogResult, inbound: Inbound, contact_id: int,
                      conversation_id: int, inbound_id: int, now: datetime) -> list[Outbound]:
        """ARCO rights asked in the chat: each is recorded with its deadline; erasure happens right away."""
        rights = RightsRepository(session)
        replies: list[Outbound] = []
        if DialogEvent.DATA_ERASED in turn.events:
            assert self.documents is not None, "erasure needs the document store"
            folio, in_progress = erase_applicant(session, self.cipher, self.documents, contact_id, conversation_id,
                                                 inbound_id, now)
            detail = f"case {folio} was in progress and was cancelled" if in_progress else None
            rights.record("cancellation", inbound.channel, folio, now, completed=True, detail=detail)
        if DialogEvent.DATA_ACCESS in turn.events:
            link = self.export_link(contact_id) if self.export_link else None
            if link:
                replies.append(Outbound(translate(turn.conversation.locale, N_(
                    "You can download everything we hold about you here (valid for one hour): %(link)s"),
                    link=link)))
            rights.record("access", inbound.channel, None, now, completed=True)
        if DialogEvent.OPPOSITION in turn.events:
            ContactRepository(session, self.cipher).set_opted_out(contact_id, True)
            MembershipRepository(session).cancel(contact_id, now)
            ConsentRepository(session).record(contact_id, "business_messages", TERMS.version, False, inbound_id, now)
            rights.record("opposition", inbound.channel, None, now, completed=True)
        return replies

    def _record_payment_proof(self, session: Session, conversation_id: int, document_id: int,
                              now: datetime) -> None:
        """A receipt the applicant sent for the period whose deadline is nearest: reminders of it stop."""
        membership = MembershipRepository(session)
        subscription = membership.for_conversation(conversation_id)
        if subscription is not None:
            membership.set_payment(subscription.id, nearest_period(now, self._zone()), "proof_received", now,
                                   document_id)

    def _file_case(self, session: Session, conversation: DialogState, contact_id: int, conversation_id: int,
                   now: datetime) -> CaseRecord:
        data = conversation.data
        snapshot = {k: v for k, v in data.items() if not k.startswith("_") and k not in ("editing", "case")}
        if not snapshot.get("phone") and data.get("phone_confirmed"):
            snapshot["phone"] = data.get("channel_phone")  # the WhatsApp number, confirmed by the applicant
        result = assess(data)
        flags = [flag for flag, raised in (
            ("nss_check_digit", data.get("flag_nss_check")),
            ("rfc_check_digit", data.get("rfc_check_digit_ok") is False),
            ("eligibility_review", result.outcome != "likely"),
            ("documents_pending", bool(missing_required(data))),
            ("nss_missing", data.get("nss_status") == "none"),  # optional: staff look it up (issue 14)
            ("health_question", data.get("_health_question")),  # asked a health question in the chat
            ("age_differs", age_differs(data)),  # the CURP's age is not the one chosen in the questionnaire
        ) if raised]
        return CaseRepository(session, self.cipher).create(contact_id, conversation_id, snapshot, result.outcome,
                                                           result.reasons, flags, now)
