"""Document readings: what the worker read on each document and how it compared with the typed data (issue 21).

The values read are personal, so they are stored encrypted and leave with the applicant's other data (erasure,
retention). What stays after that is anonymous: the slot, each field's outcome and confidence, and staff's
decision on the document, which is what tuning the thresholds needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.models import Document, DocumentReading
from storage.queues import skip_locked
from storage.sql import insert_ignoring_duplicates

STALE_AFTER = timedelta(minutes=10)  # a worker that died mid-reading: another one reads the document again


@dataclass(frozen=True, slots=True)
class ReadingJob:
    id: int
    document_id: int
    conversation_id: int
    slot: str
    storage_name: str
    content_type: str


@dataclass(frozen=True, slots=True)
class ReadingRecord:
    document_id: int
    slot: str
    status: str
    outcome: str | None
    method: str | None
    comparisons: list[dict[str, Any]]
    asked: bool
    decision: str | None


class DocumentReadingRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def claim(self, now: datetime, limit: int, slots: tuple[str, ...], since: datetime) -> list[ReadingJob]:
        """Claim documents in `slots` received since `since` that nobody has read yet (or whose reader died).

        The unique document id decides between two workers: the one whose insert lands reads it.
        """
        jobs: list[ReadingJob] = []
        stale = skip_locked(select(DocumentReading.id, Document.id, Document.conversation_id, Document.slot,
                                   Document.storage_name, Document.content_type)
                            .join(Document, Document.id == DocumentReading.document_id)
                            .where(DocumentReading.status == "reading", DocumentReading.claimed_at < now - STALE_AFTER)
                            .limit(limit), of=DocumentReading)
        for reading_id, document_id, conversation_id, slot, name, content_type in self.session.execute(stale).all():
            self.session.execute(update(DocumentReading).where(DocumentReading.id == reading_id).values(claimed_at=now))
            jobs.append(ReadingJob(reading_id, document_id, conversation_id, slot, name, content_type))
        unread = ~select(DocumentReading.id).where(DocumentReading.document_id == Document.id).exists()
        candidates = self.session.execute(
            select(Document.id, Document.conversation_id, Document.slot, Document.storage_name, Document.content_type)
            .where(Document.slot.in_(slots), Document.review_status == "pending", Document.created_at >= since, unread)
            .order_by(Document.id).limit(max(0, limit - len(jobs)))).all()
        for document_id, conversation_id, slot, name, content_type in candidates:
            reading_id = insert_ignoring_duplicates(self.session, DocumentReading.__table__, {
                "document_id": document_id, "conversation_id": conversation_id, "slot": slot, "status": "reading",
                "summary": "{}", "asked": False, "claimed_at": now, "created_at": now}, ["document_id"])
            if reading_id is not None:
                jobs.append(ReadingJob(reading_id, document_id, conversation_id, slot, name, content_type))
        return jobs

    def finish(self, reading_id: int, *, outcome: str, method: str, fields: dict[str, Any],
               comparisons: list[dict[str, Any]], milliseconds: int, asked: bool, now: datetime) -> None:
        summary = {c["field"]: [c["outcome"], c["confidence"]] for c in comparisons}
        self.session.execute(update(DocumentReading).where(DocumentReading.id == reading_id).values(
            status="done", outcome=outcome, method=method, summary=json.dumps(summary, sort_keys=True),
            fields=self.cipher.encrypt_json({"fields": fields, "comparisons": comparisons}),
            milliseconds=milliseconds, asked=asked, claimed_at=None, read_at=now))

    def for_document(self, document_id: int) -> ReadingRecord | None:
        row = self.session.execute(select(DocumentReading).where(DocumentReading.document_id == document_id)
                                   ).scalar_one_or_none()
        if row is None:
            return None
        stored = self.cipher.decrypt_json(row.fields, {}) if row.fields else {}
        return ReadingRecord(document_id, row.slot, row.status, row.outcome, row.method,
                             list(stored.get("comparisons") or []), row.asked, row.decision)

    def mismatches(self, conversation_id: int) -> int:
        """How many of a conversation's documents waiting for review disagree with the typed data."""
        return int(self.session.execute(
            select(func.count()).select_from(DocumentReading)
            .join(Document, Document.id == DocumentReading.document_id)
            .where(DocumentReading.conversation_id == conversation_id, DocumentReading.outcome == "mismatch",
                   Document.review_status == "pending")).scalar_one())

    def record_decision(self, document_id: int, approved: bool, now: datetime) -> None:
        """Staff's verdict on the document, kept beside what was read: the data to tune thresholds with."""
        self.session.execute(update(DocumentReading).where(DocumentReading.document_id == document_id).values(
            decision="approved" if approved else "rejected", decided_at=now))

    def tuning_rows(self) -> list[tuple[str, str | None, dict[str, Any], str | None]]:
        """(slot, outcome, {field: [outcome, confidence]}, decision) of every reading: no personal value."""
        rows = self.session.execute(select(DocumentReading.slot, DocumentReading.outcome, DocumentReading.summary,
                                           DocumentReading.decision).where(DocumentReading.status == "done"))
        return [(slot, outcome, json.loads(summary or "{}"), decision) for slot, outcome, summary, decision in rows]


def forget_readings(session: Session, *, conversation_id: int | None = None,
                    document_ids: list[int] | None = None) -> None:
    """Erase the values read (erasure, retention): the encrypted fields go and the row no longer points at
    anyone; the anonymous summary and staff's decision stay for tuning."""
    if conversation_id is not None:
        session.execute(update(DocumentReading).where(DocumentReading.conversation_id == conversation_id).values(
            fields=None, document_id=None, conversation_id=None))
    if document_ids:
        session.execute(update(DocumentReading).where(DocumentReading.document_id.in_(document_ids)).values(
            fields=None, document_id=None, conversation_id=None))
