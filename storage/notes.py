"""Staff notes: internal remarks kept among a conversation's messages, shown in the inbox, never sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.models import Contact, Conversation, Message


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
