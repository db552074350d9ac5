"""Business-initiated messages (status updates, staff replies, reminders): queued like any reply, in the
applicant's language, marked with their kind so each channel can apply its rules (the WhatsApp 24-hour
window and templates, opt-outs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.i18n import translate
from bot.messages import Button, Outbound
from storage.crypto import Cipher
from storage.models import Contact, Conversation
from storage.repositories import MessageRepository


def queue_notice(session: Session, cipher: Cipher, conversation_id: int, kind: str, msgid: str, now: datetime, *,
                 author: str = "system", buttons: tuple[Button, ...] = (), **values: Any) -> int:
    """Queue a notice for one conversation; returns the outbound message id."""
    conversation = session.execute(select(Conversation).where(Conversation.id == conversation_id)).scalar_one()
    contact = session.get(Contact, conversation.contact_id)
    assert contact is not None
    text = translate(conversation.locale, msgid, **values)
    return MessageRepository(session, cipher).queue(conversation_id, contact.channel,
                                                    Outbound(text, buttons, kind=kind), now, author=author)
