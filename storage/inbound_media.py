"""Queries for what applicants sent besides text and documents: voice notes, places and contact cards.

A voice note's bytes are a `Document` (so retention, erasure, key rotation and the data export treat it as
they treat every file); `message_audio` ties it to its message. Places and contact cards live in the
message body (encrypted JSON), read back here for the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.enrollment import DocumentRepository
from storage.models import Document, Message, MessageAudio


@dataclass(frozen=True, slots=True)
class InboundMedia:
    """What the inbox shows under one inbound message: an audio to play, a place on a map, a contact card."""

    audio_token: str | None = None
    audio_type: str | None = None
    duration: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    place: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class InboundMediaRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def add_audio(self, message_id: int, storage_name: str, content_type: str, size: int, sha256: str,
                  duration: int | None, now: datetime) -> int | None:
        """Record a stored audio file for the inbound message `message_id`; None when that message is gone
        (erased meanwhile): the caller then deletes the file."""
        message = self.session.get(Message, message_id)
        if message is None:
            return None
        if duration is None:  # what the platform said (Telegram does), kept with the message
            sent = self.cipher.decrypt_json(message.body, {}).get("attachments") or []
            duration = next((a["duration"] for a in sent if a.get("kind") == "audio" and a.get("duration")), None)
        # Outside any slot and not awaiting a review: it is something said, not a document to check.
        document_id = DocumentRepository(self.session).add(message.conversation_id, storage_name, content_type[:40],
                                                           size, sha256, now, review_status="approved")
        self.session.add(MessageAudio(message_id=message_id, document_id=document_id, duration=duration,
                                      created_at=now))
        self.session.flush()
        return document_id

    def for_conversation(self, conversation_id: int) -> dict[int, InboundMedia]:
        """Per inbound message id, what it carried besides text: audio, place, contact card."""
        found: dict[int, dict[str, Any]] = {}
        audio = self.session.execute(
            select(MessageAudio.message_id, MessageAudio.duration, Document.access_token, Document.content_type)
            .join(Document, Document.id == MessageAudio.document_id)
            .join(Message, Message.id == MessageAudio.message_id)
            .where(Message.conversation_id == conversation_id))
        for message_id, duration, token, content_type in audio:
            found.setdefault(message_id, {}).update(audio_token=token, audio_type=content_type, duration=duration)
        rows = self.session.execute(select(Message.id, Message.body).where(
            Message.conversation_id == conversation_id, Message.direction == "in"))
        for message_id, body in rows:
            record = self.cipher.decrypt_json(body, {})
            if record.get("kind") not in ("location", "contact"):
                continue
            place, card = record.get("location") or {}, record.get("contact") or {}
            if place:
                found.setdefault(message_id, {}).update(
                    latitude=float(place["latitude"]), longitude=float(place["longitude"]),
                    place=", ".join(part for part in (place.get("name"), place.get("address")) if part) or None)
            if card:
                found.setdefault(message_id, {}).update(contact_name=card.get("name"), contact_phone=card.get("phone"))
        return {message_id: InboundMedia(**values) for message_id, values in found.items()}
