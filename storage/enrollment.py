"""Queries for the enrollment journey: consents, cases with their history, and documents."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.models import Case, CaseEvent, Consent, Conversation, Document


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: int
    folio: str
    status: str
    conversation_id: int | None
    eligibility: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    kind: str
    version: str
    accepted: bool
    message_id: int | None
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: int
    conversation_id: int
    slot: str | None
    storage_name: str
    content_type: str
    size: int
    case_id: int | None


class ConsentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, contact_id: int, kind: str, version: str, accepted: bool, message_id: int | None,
               now: datetime) -> None:
        self.session.add(Consent(contact_id=contact_id, kind=kind, version=version, accepted=accepted,
                                 message_id=message_id, recorded_at=now))

    def for_contact(self, contact_id: int) -> list[ConsentRecord]:
        rows = self.session.execute(
            select(Consent).where(Consent.contact_id == contact_id).order_by(Consent.id)).scalars()
        return [ConsentRecord(r.kind, r.version, r.accepted, r.message_id, r.recorded_at) for r in rows]


class CaseRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def create(self, contact_id: int, conversation_id: int, data: dict[str, Any], eligibility: str,
               reasons: Sequence[str], flags: Sequence[str], now: datetime) -> CaseRecord:
        """File a case with status "received"; the folio comes from the row id (PTI-2026-000123)."""
        case = Case(contact_id=contact_id, conversation_id=conversation_id, status="received",
                    data=self.cipher.encrypt_json(data), eligibility=eligibility,
                    eligibility_reasons=json.dumps(list(reasons)), flags=json.dumps(list(flags)),
                    created_at=now, updated_at=now)
        self.session.add(case)
        self.session.flush()
        case.folio = f"PTI-{now.year}-{case.id:06d}"
        self.session.add(CaseEvent(case_id=case.id, status="received", actor="applicant", at=now))
        self.session.execute(update(Document).where(Document.conversation_id == conversation_id,
                                                    Document.slot.is_not(None), Document.case_id.is_(None))
                             .values(case_id=case.id))
        return self._record(case)

    def latest_for_conversation(self, conversation_id: int) -> CaseRecord | None:
        case = self.session.execute(
            select(Case).where(Case.conversation_id == conversation_id).order_by(Case.id.desc()).limit(1)
        ).scalar_one_or_none()
        return self._record(case) if case else None

    def latest_status(self, conversation_id: int) -> tuple[str, str] | None:
        """Folio and status of the conversation's latest case: all a turn needs, without its data."""
        row = self.session.execute(
            select(Case.folio, Case.status).where(Case.conversation_id == conversation_id)
            .order_by(Case.id.desc()).limit(1)).first()
        return (row.folio, row.status) if row else None

    def get(self, case_id: int) -> CaseRecord | None:
        case = self.session.get(Case, case_id)
        return self._record(case) if case else None

    def data(self, case_id: int) -> dict[str, Any]:
        """What the applicant told us when the case was filed, decrypted; empty if the case or its data is gone."""
        case = self.session.get(Case, case_id)
        return self.cipher.decrypt_json(case.data, {}) if case else {}

    def set_status(self, case_id: int, status: str, actor: str, now: datetime, note: str | None = None) -> None:
        self.session.execute(update(Case).where(Case.id == case_id).values(status=status, updated_at=now))
        self.session.add(CaseEvent(case_id=case_id, status=status, actor=actor, note=note, at=now))

    def history(self, case_id: int) -> list[tuple[str, str, datetime]]:
        rows = self.session.execute(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).scalars()
        return [(row.status, row.actor, row.at) for row in rows]

    @staticmethod
    def _record(case: Case) -> CaseRecord:
        return CaseRecord(case.id, case.folio or "", case.status, case.conversation_id, case.eligibility,
                          case.created_at)


class DocumentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, conversation_id: int, storage_name: str, content_type: str, size: int, sha256: str,
            now: datetime, *, width: int | None = None, height: int | None = None,
            pages: int | None = None, slot: str | None = None, case_id: int | None = None,
            review_status: str = "pending") -> int:
        """Record a stored file. An applicant's upload waits for review outside any slot; what staff send
        (the IMSS receipt, a payment line) comes in its slot, approved."""
        document = Document(conversation_id=conversation_id, storage_name=storage_name,
                            content_type=content_type, size=size, sha256=sha256, width=width, height=height,
                            pages=pages, created_at=now, access_token=secrets.token_urlsafe(24),
                            slot=slot, case_id=case_id, review_status=review_status)
        self.session.add(document)
        self.session.flush()
        return document.id

    def on_file(self, contact_id: int, sha256: str) -> tuple[bool, int]:
        """Whether this applicant already has this exact file on record (one staff rejected does not count: they
        may send it again), and how many bytes of documents they have stored in all."""
        mine = (select(Document.id).join(Conversation, Conversation.id == Document.conversation_id)
                .where(Conversation.contact_id == contact_id))
        same = self.session.execute(mine.where(Document.sha256 == sha256, Document.review_status != "rejected")
                                    .limit(1)).first()
        total = self.session.execute(
            select(func.coalesce(func.sum(Document.size), 0)).join(
                Conversation, Conversation.id == Document.conversation_id).where(Conversation.contact_id == contact_id)
        ).scalar_one()
        return same is not None, int(total)

    def assign(self, document_id: int, conversation_id: int, slot: str) -> None:
        """Put a document in a slot; it joins the conversation's case when one was already filed."""
        case_id = self.session.execute(
            select(Case.id).where(Case.conversation_id == conversation_id).order_by(Case.id.desc()).limit(1)
        ).scalar_one_or_none()
        self.session.execute(update(Document).where(Document.id == document_id,
                                                    Document.conversation_id == conversation_id)
                             .values(slot=slot, case_id=case_id))

    def get(self, document_id: int) -> DocumentRecord | None:
        row = self.session.get(Document, document_id)
        if row is None:
            return None
        return DocumentRecord(row.id, row.conversation_id, row.slot, row.storage_name, row.content_type, row.size,
                              row.case_id)

    def review(self, document_id: int, approved: bool, reason: str | None) -> None:
        """Staff's verdict on a document; a rejection keeps its reason for the applicant and the inbox."""
        row = self.session.get(Document, document_id)
        assert row is not None
        row.review_status = "approved" if approved else "rejected"
        row.review_reason = reason

    def clear_slot(self, document_id: int) -> None:
        """Take a rejected document out of its slot, so the applicant's next upload fills it."""
        row = self.session.get(Document, document_id)
        assert row is not None
        row.former_slot = row.slot or row.former_slot  # the inbox still says what it was sent for
        row.slot = None
