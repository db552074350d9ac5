"""Staff notes (internal remarks kept among a conversation's messages, shown in the inbox, never sent) and
staff corrections of an applicant's data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.models import Case, Contact, Conversation, DataCorrection, Message


class NoteRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def add(self, conversation_id: int, text: str, author_email: str, now: datetime) -> None:
        """Keep a note in the conversation's timeline, encrypted like its messages (it may quote them)."""
        channel = self.session.execute(
            select(Contact.channel).join(Conversation, Conversation.contact_id == Contact.id)
            .where(Conversation.id == conversation_id)).scalar_one()
        self.session.add(Message(conversation_id=conversation_id, channel=channel, direction="note",
                                 author="staff", status="internal", attempts=0,
                                 body=self.cipher.encrypt_json({"text": text, "by": author_email}),
                                 created_at=now))


@dataclass(frozen=True, slots=True)
class CorrectionRecord:
    field: str
    old: str
    new: str
    reason: str
    actor: str
    at: datetime


class CorrectionRepository:
    """Staff corrections of an applicant's data: the field, old and new values (encrypted), who and why."""

    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def add(self, conversation_id: int, case_id: int | None, field: str, old: Any, new: Any, reason: str,
            actor: str, now: datetime) -> None:
        self.session.add(DataCorrection(conversation_id=conversation_id, case_id=case_id, field=field,
                                        change=self.cipher.encrypt_json({"old": old, "new": new}), reason=reason,
                                        actor=actor, at=now))
        if case_id is not None:  # the case keeps the data as corrected
            case = self.session.get(Case, case_id)
            if case is not None:
                data = self.cipher.decrypt_json(case.data, {})
                data[field] = new
                case.data = self.cipher.encrypt_json(data)
                case.updated_at = now

    def for_conversation(self, conversation_id: int) -> list[CorrectionRecord]:
        rows = self.session.execute(select(DataCorrection).where(DataCorrection.conversation_id == conversation_id)
                                    .order_by(DataCorrection.id)).scalars()
        result = []
        for row in rows:
            change = self.cipher.decrypt_json(row.change, {})
            result.append(CorrectionRecord(row.field, str(change.get("old") or ""), str(change.get("new") or ""),
                                           row.reason, row.actor, row.at))
        return result
