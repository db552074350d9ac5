"""Read models for the staff inbox: the conversation list (ordered by need) and one conversation in full."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.core.text import normalise
from storage.crypto import Cipher
from storage.models import Case, Contact, Conversation, Document, Message, Staff


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


class InboxQueries:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def conversations(self, *, view: str = "all", channel: str = "", status: str = "", query: str = "",
                      staff_id: int | None = None, limit: int = 300) -> list[ConversationRow]:
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
        if view == "waiting":
            statement = statement.where(Conversation.waiting_since.is_not(None))
        elif view == "mine" and staff_id is not None:
            statement = statement.where(Conversation.assigned_to == staff_id)
        elif view == "unassigned":
            statement = statement.where(Conversation.assigned_to.is_(None))
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
                folio, case_status, conversation.updated_at, contact.last_inbound_at))
        return rows

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
        for row in rows:
            body = self.cipher.decrypt_json(row.body, {})
            if body.get("kind") == "ack":
                continue
            text = body.get("text") or ""
            if row.direction == "in" and not text:
                text = {"document_ready": "[document received]", "document_rejected": "[document refused]"}.get(
                    body.get("payload") or "", f"[{body.get('payload') or body.get('kind')}]")
            author = body.get("by", row.author) if row.direction == "note" else row.author
            entries.append(TranscriptEntry(
                row.id, row.direction, author, text, tuple(b["title"] for b in body.get("buttons", [])),
                tuple(a.get("filename") or a.get("kind", "") for a in body.get("attachments", [])), row.status,
                row.last_error, row.created_at))
        return entries

    def documents(self, conversation_id: int) -> list[DocumentRow]:
        rows = self.session.execute(select(Document).where(Document.conversation_id == conversation_id)
                                    .order_by(Document.id)).scalars()
        return [DocumentRow(d.id, d.slot, d.content_type, d.size, d.access_token or "", d.review_status,
                            d.review_reason, d.width, d.height, d.pages, d.created_at) for d in rows]

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
