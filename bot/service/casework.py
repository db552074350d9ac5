"""What staff do to a conversation or a case, each in one transaction with an audit record.

Every message to the applicant goes through the outbox with its kind (staff reply, status update,
document request), so each channel applies its own rules; the conversation row is locked like in a
turn, so a staff action and an applicant's message never interleave.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from zoneinfo import ZoneInfo

from bot.core.clock import utcnow
from bot.core.errors import BotError
from bot.core.events import SystemEvent
from bot.core.messages import Attachment, Outbound
from bot.core.state import DialogState
from bot.dialog.engine import Engine
from bot.service.document_checks import check_document
from bot.service.enrollment_email import build_enrollment_email
from flows.rules.case_status import NEXT_STATUSES, STATUSES
from flows.rules.document_slots import LABELS as DOCUMENT_LABELS
from flows.rules.payments import deadline, first_period, long_date, month_name
from locales import N_, translate
from storage.conversations import ConversationRepository
from storage.crypto import Cipher
from storage.db import Database, Session
from storage.document_readings import DocumentReadingRepository
from storage.emails import queue_email
from storage.enrollment import CaseRecord, CaseRepository, DocumentRepository
from storage.files import DocumentStore
from storage.messages import MessageRepository
from storage.notes import NoteRepository
from storage.staff import AuditRepository, StaffRecord
from storage.subscriptions import MembershipRepository, SubscriptionRecord

NEEDS_REASON = ("documents_observed", "rejected", "cancelled")
PERIOD = re.compile(r"20\d\d-(0[1-9]|1[0-2])")


class CaseWorkError(BotError):
    """A staff action that cannot be done as asked; the message is shown to staff as is."""


class CaseWork:
    def __init__(self, database: Database, cipher: Cipher, engine: Engine, documents: DocumentStore, *,
                 mail_from: str | None = None, business_name: str = "Gestoría PTI",
                 on_queued: Callable[[], None] | None = None) -> None:
        """`on_queued` wakes the worker, so what staff queued leaves now rather than at its next poll."""
        self.database, self.cipher, self.engine, self.documents = database, cipher, engine, documents
        self.mail_from = mail_from
        self.business_name = business_name
        self.on_queued = on_queued

    # -- conversations -----------------------------------------------------------------------------
    def take(self, staff: StaffRecord, conversation_id: int) -> None:
        """Take the conversation; the applicant hears that a person is with them, by first name (issue 14)."""
        with self._scope() as session:
            self._hand_to(session, conversation_id, staff)
            self._audit(session, staff, "take", f"conversation:{conversation_id}")
        self._wake()

    def _hand_to(self, session: Session, conversation_id: int, person: StaffRecord) -> None:
        """Give the conversation to `person` and tell the applicant who is with them now (take and assign)."""
        state = self._lock(session, conversation_id)
        conversations = ConversationRepository(session, self.cipher)
        conversations.assign(conversation_id, person.id, "human")
        state.owner = "human"
        self._spoke(conversations, conversation_id, state)
        first_name = person.name.split()[0] if person.name.strip() else ""
        locale = self._locale(session, conversation_id)
        text = translate(locale, N_("%(name)s from our team is now with you and will reply here."),
                         name=first_name) if first_name else \
            translate(locale, N_("A person from our team is now with you and will reply here."))
        self._queue(session, conversation_id, Outbound(text, kind="staff_reply"))

    def reply(self, staff: StaffRecord, conversation_id: int, text: str) -> None:
        """Send a staff message; replying also takes the conversation, so the bot cannot talk over staff."""
        text = text.strip()
        if not text:
            raise CaseWorkError(N_("Empty message."))
        with self._scope() as session:
            state = self._lock(session, conversation_id)
            text = fill_variables(text, state.data)
            conversations = ConversationRepository(session, self.cipher)
            conversations.assign(conversation_id, staff.id, "human")
            state.owner = "human"
            self._spoke(conversations, conversation_id, state)
            # The web chat labels the bubble with the person's first name (issue 19); other channels ignore it.
            first_name = staff.name.split()[0] if staff.name.strip() else ""
            self._queue(session, conversation_id, Outbound(text, kind="staff_reply",
                                                           control=(("staff_name", first_name),)), author="staff")
            self._audit(session, staff, "reply", f"conversation:{conversation_id}")
        self._wake()

    def note(self, staff: StaffRecord, conversation_id: int, text: str) -> None:
        if not text.strip():
            raise CaseWorkError(N_("Empty note."))
        with self._scope() as session:
            self._lock(session, conversation_id)
            NoteRepository(session, self.cipher).add(conversation_id, text.strip(), staff.email, utcnow())
            self._audit(session, staff, "note", f"conversation:{conversation_id}")

    def hand_back(self, staff: StaffRecord, conversation_id: int) -> None:
        """Return the conversation to the bot, which picks up where the flow was with a reminder."""
        with self._scope() as session:
            state = self._lock(session, conversation_id)
            conversations = ConversationRepository(session, self.cipher)
            conversations.assign(conversation_id, None, "bot")
            state.owner = "bot"
            turn = self.engine.run_event(state, SystemEvent.RESUMED, {}, utcnow())
            conversations.save(conversation_id, turn.conversation, ("returned_to_bot",))
            for reply in turn.replies:
                self._queue(session, conversation_id, replace(reply, kind="staff_reply"))
            self._audit(session, staff, "hand_back", f"conversation:{conversation_id}")
        self._wake()

    # -- cases -------------------------------------------------------------------------------------
    def set_status(self, staff: StaffRecord, case_id: int, status: str, reason: str = "", document: str = "") -> None:
        """Move a case on; "documents observed" with a `document` slot asks the applicant for that one again."""
        reason = reason.strip()
        if document and (status != "documents_observed" or document not in DOCUMENT_LABELS):
            raise CaseWorkError(N_("A document can only be asked for again with the status documents observed."))
        with self._scope() as session:
            case = CaseRepository(session, self.cipher).get(case_id)
            if case is None:
                raise CaseWorkError(N_("No such case."))
            if status not in NEXT_STATUSES.get(case.status, ()):
                raise CaseWorkError(N_("The case cannot move to that status from where it is."))
            if status in NEEDS_REASON and not reason:
                raise CaseWorkError(N_("This status needs a reason."))
            CaseRepository(session, self.cipher).set_status(case_id, status, staff.email, utcnow(), reason or None)
            if case.conversation_id is not None:
                self._announce(session, case.conversation_id, case.folio, status, "" if document else reason)
                if document:
                    self._request_document(session, case.conversation_id, document, reason)
            self._audit(session, staff, "case_status", f"case:{case_id}", status)
        self._wake()

    def review_document(self, staff: StaffRecord, document_id: int, approve: bool, reason: str = "") -> None:
        reason = reason.strip()
        if not approve and not reason:
            raise CaseWorkError(N_("Say why the document is rejected."))
        with self._scope() as session:
            documents = DocumentRepository(session)
            document = documents.get(document_id)
            if document is None:
                raise CaseWorkError(N_("No such document."))
            documents.review(document_id, approve, reason or None)
            # Beside what the worker read on it, so reading thresholds can be tuned against staff's verdicts.
            DocumentReadingRepository(session, self.cipher).record_decision(document_id, approve, utcnow())
            if not approve and document.slot:
                self._request_document(session, document.conversation_id, document.slot, reason)
                documents.clear_slot(document_id)
            self._audit(session, staff, "document_review", f"document:{document_id}",
                        "approved" if approve else f"rejected: {reason}")
        self._wake()

    def deliver_results(self, staff: StaffRecord, case_id: int, receipt: bytes, slip: bytes) -> None:
        """Attach the IMSS enrollment receipt and the first payment slip, send them, mark the case enrolled."""
        pages = []
        for content in (receipt, slip):
            check = check_document(content)
            if not check.ok or check.content_type != "application/pdf":
                raise CaseWorkError(N_("Both files must be readable PDFs."))
            pages.append(check.pages)
        with self._scope() as session:
            cases = CaseRepository(session, self.cipher)
            case = cases.get(case_id)
            if case is None or case.conversation_id is None:
                raise CaseWorkError(N_("No such case."))
            if case.status != "filed_with_imss":
                raise CaseWorkError(N_("Mark the case as filed with IMSS before sending the receipt."))
            attachments = []
            for (slot, content, filename), page_count in zip(
                    (("imss_receipt", receipt, "comprobante-inscripcion-imss.pdf"),
                     ("payment_slip", slip, "linea-de-captura.pdf")), pages, strict=True):
                name = self.documents.save(content)
                DocumentRepository(session).add(
                    case.conversation_id, name, "application/pdf", len(content), hashlib.sha256(content).hexdigest(),
                    utcnow(), slot=slot, case_id=case.id, review_status="approved", pages=page_count)
                attachments.append(Attachment("document", name, "application/pdf", filename))
            locale = self._locale(session, case.conversation_id)
            text = translate(locale, N_(
                "Your IMSS enrollment is done! 🎉 Here are your enrollment receipt and the payment slip (línea de "
                "captura) of your first contribution. Pay it by %(deadline)s at the bank or by SPEI, then register "
                "at your clinic (UMF). Your IMSS services start on the 1st of the month after your enrollment. We "
                "also send them to your email."), deadline=self._first_deadline(locale))
            self._queue(session, case.conversation_id, Outbound(text, attachments=tuple(attachments),
                                                                kind="status_update"))
            self._email_results(session, case, locale, [(a.filename or "documento.pdf", c) for a, c in zip(
                attachments, (receipt, slip), strict=True)])
            cases.set_status(case.id, "enrolled", staff.email, utcnow(), "receipt and payment slip delivered")
            self._audit(session, staff, "deliver_results", f"case:{case_id}")
        self._wake()

    def _email_results(self, session: Session, case: CaseRecord, locale: str, files: list[tuple[str, bytes]]
                       ) -> None:
        """The promised email with both PDFs, to the address the applicant confirmed in the journey."""
        data = CaseRepository(session, self.cipher).data(case.id)
        if not data.get("email"):
            return
        message = build_enrollment_email(
            to=str(data["email"]), mail_from=self.mail_from or "ptibot@localhost", locale=locale,
            name=str(data.get("full_name") or ""), folio=case.folio or "", deadline=self._first_deadline(locale),
            business=self.business_name, attachments=files)
        queue_email(session, self.cipher, case.id, message.as_bytes(), utcnow())

    # -- membership --------------------------------------------------------------------------------
    def send_payment_line(self, staff: StaffRecord, conversation_id: int, period: str, pdf: bytes) -> None:
        """Attach the línea de captura of a period and send it to the applicant."""
        check = check_document(pdf)
        if not check.ok or check.content_type != "application/pdf" or not PERIOD.fullmatch(period):
            raise CaseWorkError(N_("Give the period as YYYY-MM and a readable PDF."))
        with self._scope() as session:
            membership = MembershipRepository(session)
            subscription = self._subscription(membership, conversation_id)
            name = self.documents.save(pdf)
            document_id = DocumentRepository(session).add(conversation_id, name, "application/pdf", len(pdf),
                                                          hashlib.sha256(pdf).hexdigest(), utcnow(),
                                                          slot="payment_line", review_status="approved",
                                                          pages=check.pages)
            membership.set_payment(subscription.id, period, "line_sent", utcnow(), document_id)
            locale = self._locale(session, conversation_id)
            text = translate(locale, N_("Here is your línea de captura for %(period)s. Pay it by %(deadline)s at the "
                                        "bank or by SPEI."), period=month_name(deadline(period), locale),
                             deadline=long_date(deadline(period), locale))
            attachment = Attachment("document", name, "application/pdf", f"linea-de-captura-{period}.pdf")
            self._queue(session, conversation_id, Outbound(text, attachments=(attachment,), kind="payment_reminder"))
            self._audit(session, staff, "payment_line", f"conversation:{conversation_id}", period)
        self._wake()

    def confirm_payment(self, staff: StaffRecord, conversation_id: int, period: str) -> None:
        """Staff checked the receipt: the period is paid, and the applicant hears it."""
        if not PERIOD.fullmatch(period):
            raise CaseWorkError(N_("Give the period as YYYY-MM, like 2027-01."))
        with self._scope() as session:
            membership = MembershipRepository(session)
            subscription = self._subscription(membership, conversation_id)
            membership.set_payment(subscription.id, period, "paid", utcnow())
            locale = self._locale(session, conversation_id)
            self._queue(session, conversation_id, Outbound(translate(
                locale, N_("We confirmed your IMSS payment for %(period)s. Thank you!"),
                period=month_name(deadline(period), locale)),
                kind="status_update"))
            self._audit(session, staff, "payment_confirmed", f"conversation:{conversation_id}", period)
        self._wake()

    # -- helpers -----------------------------------------------------------------------------------
    def _first_deadline(self, locale: str) -> str:
        """When the first línea de captura is due, with its month: "20 de diciembre de 2026", not "day 20"."""
        zone = self.engine.hours.zone if self.engine.hours else ZoneInfo("America/Mexico_City")
        return long_date(deadline(first_period(utcnow(), zone)), locale)

    @staticmethod
    def _spoke(conversations: ConversationRepository, conversation_id: int, state: DialogState) -> None:
        """A person just spoke to the applicant: the waiting line waits for the next quiet spell."""
        state.data["_spoke_at"] = utcnow().isoformat()
        conversations.save(conversation_id, state, ())

    def _request_document(self, session: Session, conversation_id: int, slot: str, reason: str) -> None:
        """The conversation goes to that document's request, so the next photo fills it."""
        state = self._lock(session, conversation_id)
        turn = self.engine.run_event(state, SystemEvent.DOCUMENT_REQUESTED, {"slot": slot, "reason": reason},
                                     utcnow())
        ConversationRepository(session, self.cipher).save(conversation_id, turn.conversation, turn.events)
        for reply in turn.replies:
            self._queue(session, conversation_id, replace(reply, kind="document_request"))

    @staticmethod
    def _subscription(membership: MembershipRepository, conversation_id: int) -> SubscriptionRecord:
        subscription = membership.for_conversation(conversation_id)
        if subscription is None:
            raise CaseWorkError(N_("This applicant has no payment reminders."))
        return subscription

    def _scope(self) -> AbstractContextManager[Session]:
        return self.database.session_scope()

    def _lock(self, session: Session, conversation_id: int) -> DialogState:
        """The conversation, locked, with its case as the case table has it now (not as the chat last saw it)."""
        state = ConversationRepository(session, self.cipher).lock_by_id(conversation_id)
        if state is None:
            raise CaseWorkError(N_("No such conversation."))
        case = CaseRepository(session, self.cipher).latest_status(conversation_id)
        if case is not None:
            state.data["case"] = {"folio": case[0], "status": case[1]}
        return state

    def _locale(self, session: Session, conversation_id: int) -> str:
        locale, _channel = ConversationRepository(session, self.cipher).addressee(conversation_id)
        return locale

    def _queue(self, session: Session, conversation_id: int, outbound: Outbound, author: str = "bot") -> None:
        _locale, channel = ConversationRepository(session, self.cipher).addressee(conversation_id)
        MessageRepository(session, self.cipher).queue(conversation_id, channel, outbound, utcnow(), author=author)

    def _announce(self, session: Session, conversation_id: int, folio: str, status: str, reason: str) -> None:
        locale = self._locale(session, conversation_id)
        text = translate(locale, N_("News about your case *%(folio)s*: it is now %(status)s."), folio=folio,
                         status=translate(locale, STATUSES[status]))
        if reason:
            text += "\n" + translate(locale, N_("Reason: %(reason)s"), reason=reason)
        self._queue(session, conversation_id, Outbound(text, kind="status_update"))

    def _audit(self, session: Session, staff: StaffRecord, action: str, target: str, detail: str | None = None
               ) -> None:
        AuditRepository(session).add(staff, action, target, utcnow(), detail)

    def _wake(self) -> None:
        if self.on_queued:
            self.on_queued()


def fill_variables(text: str, data: dict[str, object]) -> str:
    """Canned responses say {nombre} and {folio}; fill them from what the applicant told us."""
    case = data.get("case")
    folio = str(case.get("folio", "")) if isinstance(case, dict) else ""
    values = {"nombre": str(data.get("full_name") or "").split(" ")[0], "folio": folio}
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text

