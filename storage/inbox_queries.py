"""Read models for the staff inbox: the conversation list (ordered by need) and one conversation in full."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from bot.core.text import normalise
from storage.crypto import Cipher
from storage.models import (
    Case,
    Contact,
    Contract,
    Conversation,
    ConversationLabel,
    Document,
    Message,
    Payment,
    Staff,
    StaffRead,
)

#: Documents an applicant sent for one of these slots wait for a person's review ("Por revisar").
REVIEW_SLOTS = ("id_front", "id_back", "tax_certificate", "proof_of_address", "curp_document")
#: Cases in these statuses wait for a person to look at them.
REVIEW_STATUSES = ("received", "in_review")
QUEUES = ("review", "waiting", "mine", "payments")


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: int
    channel: str
    name: str
    phone: str
    owner: str
    state: str
    waiting_since: datetime | None
    waiting_reason: str | None
    assigned_to: int | None
    assigned_email: str | None
    folio: str | None
    case_status: str | None
    updated_at: datetime | None
    last_inbound_at: datetime | None
    since: datetime | None = None  # in a queue: since when it waits (the oldest pending item)
    labels: tuple[str, ...] = ()
    unread: bool = False


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    id: int
    direction: str  # in | out | note
    author: str
    text: str
    buttons: tuple[str, ...]
    attachments: tuple[str, ...]
    status: str
    error: str | None
    at: datetime
    payload: str = ""  # an inbound button press or an event (document_ready), shown by its title
    kind: str = ""


@dataclass(frozen=True, slots=True)
class DocumentRow:
    id: int
    slot: str | None
    content_type: str
    size: int
    access_token: str
    review_status: str
    review_reason: str | None
    width: int | None
    height: int | None
    pages: int | None
    created_at: datetime
    former_slot: str | None = None
    case_id: int | None = None


class InboxQueries:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def conversations(self, *, view: str = "all", channel: str = "", status: str = "", query: str = "",
                      staff_id: int | None = None, label: str = "", limit: int = 300) -> list[ConversationRow]:
        """Waiting for a person first (longest wait on top), then the most recently active."""
        latest_case = (select(Case.conversation_id, func.max(Case.id).label("case_id"))
                       .group_by(Case.conversation_id).subquery())
        statement = (
            select(Conversation, Contact, Staff.email, Case.folio, Case.status)
            .join(Contact, Contact.id == Conversation.contact_id)
            .outerjoin(Staff, Staff.id == Conversation.assigned_to)
            .outerjoin(latest_case, latest_case.c.conversation_id == Conversation.id)
            .outerjoin(Case, Case.id == latest_case.c.case_id)
            .where(Conversation.state != "")
        )
        queue: dict[int, datetime] = {}
        if view == "waiting":
            statement = statement.where(Conversation.waiting_since.is_not(None))
        elif view == "mine" and staff_id is not None:
            statement = statement.where(Conversation.assigned_to == staff_id)
        elif view == "unassigned":
            statement = statement.where(Conversation.assigned_to.is_(None))
        elif view in ("review", "payments"):
            queue = self.review_queue() if view == "review" else self.payments_queue()
            statement = statement.where(Conversation.id.in_(list(queue) or [-1]))
        if label:
            statement = statement.where(Conversation.id.in_(
                select(ConversationLabel.conversation_id).where(ConversationLabel.label == label)))
        if channel:
            statement = statement.where(Contact.channel == channel)
        if status:
            statement = statement.where(Case.status == status)
        digits = "".join(ch for ch in query if ch.isdigit())
        exact = []
        if len(query.strip()) == 18:
            exact.append(Conversation.curp_hash == self.cipher.search_hash(query))
        if len(digits) >= 10 and not any(ch.isalpha() for ch in query):
            exact.append(Conversation.phone_hash == self.cipher.search_hash(digits[-10:]))
        if exact:  # a CURP or a phone: found through their keyed hashes, without decrypting anything
            statement = statement.where(or_(*exact))
            query = ""
        statement = statement.order_by(Conversation.waiting_since.is_(None), Conversation.waiting_since,
                                       Conversation.updated_at.desc()).limit(limit)
        rows = []
        needle = normalise(query)
        for conversation, contact, email, folio, case_status in self.session.execute(statement).all():
            data = self.cipher.decrypt_json(conversation.data, {})
            name = str(data.get("full_name") or self.cipher.decrypt_text(contact.display_name) or "")
            phone = str(data.get("phone") or data.get("channel_phone") or self.cipher.decrypt_text(contact.phone)
                        or "")
            if needle:
                haystack = normalise(" ".join([name, phone, folio or "", str(data.get("curp") or ""),
                                               str(data.get("email") or "")]))
                if needle not in haystack and not (len(digits) >= 4 and digits in phone.replace("+", "")):
                    continue
            rows.append(ConversationRow(
                conversation.id, contact.channel, name, phone, conversation.owner, conversation.state,
                conversation.waiting_since, conversation.waiting_reason, conversation.assigned_to, email,
                folio, case_status, conversation.updated_at, contact.last_inbound_at,
                queue.get(conversation.id, conversation.waiting_since)))
        if queue:  # a queue is worked oldest first
            rows.sort(key=lambda row: row.since or row.updated_at or datetime.max.replace(tzinfo=UTC))
        labels = self.labels_of([row.id for row in rows])
        unread = self.unread([row.id for row in rows], staff_id) if staff_id is not None else set()
        return [replace(row, labels=labels.get(row.id, ()), unread=row.id in unread) for row in rows]

    # -- queues ------------------------------------------------------------------------------------
    def review_queue(self) -> dict[int, datetime]:
        """Conversations with something for a person to review, and since when: a filed case not yet
        looked at, or a document sent for a slot and not yet approved or rejected."""
        waiting: dict[int, datetime] = {}
        documents = self.session.execute(
            select(Document.conversation_id, func.min(Document.created_at))
            .where(Document.review_status == "pending", Document.slot.in_(REVIEW_SLOTS))
            .group_by(Document.conversation_id)).all()
        for conversation_id, since in documents:
            waiting[conversation_id] = since
        latest = select(func.max(Case.id)).where(Case.conversation_id.is_not(None)).group_by(Case.conversation_id)
        cases = self.session.execute(select(Case.conversation_id, Case.created_at)
                                     .where(Case.id.in_(latest), Case.status.in_(REVIEW_STATUSES))).all()
        for conversation_id, since in cases:
            if conversation_id is not None:
                waiting[conversation_id] = min(since, waiting.get(conversation_id, since))
        return waiting

    def payments_queue(self) -> dict[int, datetime]:
        """Conversations with a transfer receipt waiting for staff to match it ("Pagos por confirmar")."""
        rows = self.session.execute(
            select(Contract.conversation_id, func.min(Payment.updated_at))
            .join(Contract, Contract.id == Payment.contract_id)
            .where(Payment.status == "pending", Payment.receipt_document_id.is_not(None),
                   Contract.conversation_id.is_not(None))
            .group_by(Contract.conversation_id)).all()
        return {conversation_id: since for conversation_id, since in rows}

    def has_payments(self) -> bool:
        return self.session.execute(select(Payment.id).limit(1)).first() is not None

    def counts(self, staff_id: int) -> dict[str, int]:
        """How many conversations each queue holds, for the navigation and the page title."""
        active = Conversation.state != ""
        waiting = self.session.execute(select(func.count()).select_from(Conversation).where(
            active, Conversation.waiting_since.is_not(None))).scalar_one()
        mine = self.session.execute(select(func.count()).select_from(Conversation).where(
            active, Conversation.assigned_to == staff_id)).scalar_one()
        return {"review": len(self.review_queue()), "waiting": int(waiting), "mine": int(mine),
                "payments": len(self.payments_queue())}

    # -- labels and read markers -------------------------------------------------------------------
    def labels_of(self, conversation_ids: list[int]) -> dict[int, tuple[str, ...]]:
        found: dict[int, list[str]] = {}
        if conversation_ids:
            for conversation_id, label in self.session.execute(
                    select(ConversationLabel.conversation_id, ConversationLabel.label)
                    .where(ConversationLabel.conversation_id.in_(conversation_ids))
                    .order_by(ConversationLabel.label)).all():
                found.setdefault(conversation_id, []).append(label)
        return {key: tuple(value) for key, value in found.items()}

    def all_labels(self) -> list[str]:
        return list(self.session.execute(select(ConversationLabel.label).distinct()
                                         .order_by(ConversationLabel.label)).scalars())

    def add_label(self, conversation_id: int, label: str) -> None:
        if label not in self.labels_of([conversation_id]).get(conversation_id, ()):
            self.session.add(ConversationLabel(conversation_id=conversation_id, label=label))
            self.session.flush()

    def remove_label(self, conversation_id: int, label: str) -> None:
        self.session.execute(delete(ConversationLabel).where(ConversationLabel.conversation_id == conversation_id,
                                                             ConversationLabel.label == label))

    def unread(self, conversation_ids: list[int], staff_id: int) -> set[int]:
        """Conversations where the applicant wrote after this staff member last opened them."""
        if not conversation_ids:
            return set()
        newest: dict[int, int] = {cid: last for cid, last in self.session.execute(
            select(Message.conversation_id, func.max(Message.id))
            .where(Message.conversation_id.in_(conversation_ids), Message.direction == "in")
            .group_by(Message.conversation_id)).all()}
        seen: dict[int, int] = {cid: last for cid, last in self.session.execute(
            select(StaffRead.conversation_id, StaffRead.last_message_id)
            .where(StaffRead.staff_id == staff_id, StaffRead.conversation_id.in_(conversation_ids))).all()}
        return {cid for cid, last in newest.items() if last > seen.get(cid, 0)}

    def mark_read(self, conversation_id: int, staff_id: int) -> None:
        last = self.session.execute(select(func.max(Message.id)).where(
            Message.conversation_id == conversation_id)).scalar_one() or 0
        row = self.session.execute(select(StaffRead).where(StaffRead.staff_id == staff_id,
                                                           StaffRead.conversation_id == conversation_id)
                                   ).scalar_one_or_none()
        if row is None:
            self.session.add(StaffRead(staff_id=staff_id, conversation_id=conversation_id, last_message_id=last))
        elif row.last_message_id < last:
            row.last_message_id = last

    def fingerprint(self, conversation_id: int | None = None) -> str:
        """A cheap value that changes whenever something an inbox page shows changes (for live updates)."""
        if conversation_id is None:
            parts = self.session.execute(select(func.max(Message.id), func.max(Conversation.updated_at),
                                                func.count(Conversation.assigned_to))
                                         .select_from(Conversation).outerjoin(
                                             Message, Message.conversation_id == Conversation.id)).one()
            extra = self.session.execute(select(func.max(Case.updated_at), func.count(Case.id))).one()
            documents = self.session.execute(select(func.max(Document.id), func.count(Document.id)).where(
                Document.review_status == "pending")).one()
            return repr((tuple(parts), tuple(extra), tuple(documents)))
        conversation = self.session.execute(select(Conversation.updated_at, Conversation.owner,
                                                   Conversation.assigned_to, Conversation.waiting_since)
                                            .where(Conversation.id == conversation_id)).one_or_none()
        message = self.session.execute(select(func.max(Message.id), func.count(Message.id)).where(
            Message.conversation_id == conversation_id, Message.status != "queued")).one()
        documents = self.session.execute(select(func.max(Document.id), func.count(Document.review_status))
                                         .where(Document.conversation_id == conversation_id,
                                                Document.review_status != "pending")).one()
        case = self.session.execute(select(func.max(Case.updated_at)).where(
            Case.conversation_id == conversation_id)).scalar_one_or_none()
        labels = self.labels_of([conversation_id]).get(conversation_id, ())
        return repr((tuple(conversation) if conversation else None, tuple(message),
                     tuple(documents), case, labels))

    def conversation(self, conversation_id: int) -> tuple[Conversation, Contact, dict[str, Any]] | None:
        row = self.session.execute(select(Conversation, Contact).join(Contact, Contact.id == Conversation.contact_id)
                                   .where(Conversation.id == conversation_id)).first()
        if row is None:
            return None
        conversation, contact = row
        return conversation, contact, self.cipher.decrypt_json(conversation.data, {})

    def transcript(self, conversation_id: int, after_id: int = 0) -> list[TranscriptEntry]:
        rows = self.session.execute(select(Message).where(Message.conversation_id == conversation_id,
                                                          Message.id > after_id).order_by(Message.id)).scalars()
        entries = []
        offered: dict[str, str] = {}  # the buttons last offered: a press is shown by its title
        for row in rows:
            body = self.cipher.decrypt_json(row.body, {})
            if row.direction == "out":
                offered.update({b["payload"]: b["title"] for b in body.get("buttons", []) if b.get("payload")})
            if body.get("kind") == "ack":
                continue
            text = body.get("text") or ""
            if row.direction == "in" and body.get("payload") and offered.get(body["payload"]):
                text = text or offered[body["payload"]]
            author = body.get("by", row.author) if row.direction == "note" else row.author
            entries.append(TranscriptEntry(
                row.id, row.direction, author, text, tuple(b["title"] for b in body.get("buttons", [])),
                tuple(a.get("filename") or a.get("kind", "") for a in body.get("attachments", [])), row.status,
                row.last_error, row.created_at, str(body.get("payload") or ""), str(body.get("kind") or "")))
        return entries

    def documents(self, conversation_id: int) -> list[DocumentRow]:
        # Voice notes are stored as documents for erasure and retention, but staff play them in the transcript.
        rows = self.session.execute(select(Document).where(Document.conversation_id == conversation_id,
                                                           Document.content_type.not_like("audio/%"))
                                    .order_by(Document.id)).scalars()
        return [DocumentRow(d.id, d.slot, d.content_type, d.size, d.access_token or "", d.review_status,
                            d.review_reason, d.width, d.height, d.pages, d.created_at, d.former_slot, d.case_id)
                for d in rows]

    def owner_of(self, conversation_id: int) -> tuple[str, int | None] | None:
        """Who has the conversation: ("bot" | "human", the assigned staff id); None if there is no such one."""
        row = self.session.execute(select(Conversation.owner, Conversation.assigned_to)
                                   .where(Conversation.id == conversation_id)).one_or_none()
        return (str(row[0]), row[1]) if row else None

    def document_in(self, conversation_id: int, document_id: int) -> bool:
        """Whether the document belongs to the conversation: ids in URLs are cross-checked (issue 18)."""
        return self.session.execute(select(Document.id).where(
            Document.id == document_id, Document.conversation_id == conversation_id)).first() is not None

    def case_in(self, conversation_id: int, case_id: int) -> bool:
        return self.session.execute(select(Case.id).where(
            Case.id == case_id, Case.conversation_id == conversation_id)).first() is not None

    def document_by_token(self, token: str) -> Document | None:
        return self.session.execute(select(Document).where(Document.access_token == token)).scalar_one_or_none()

    def cases(self, status: str = "") -> list[tuple[Case, str]]:
        statement = select(Case, Conversation.id).outerjoin(Conversation, Conversation.id == Case.conversation_id)
        if status:
            statement = statement.where(Case.status == status)
        rows = self.session.execute(statement.order_by(Case.updated_at.desc()).limit(500)).all()
        result = []
        for case, _ in rows:
            data = self.cipher.decrypt_json(case.data, {})
            result.append((case, str(data.get("full_name") or "")))
        return result
