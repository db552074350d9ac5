"""Business-initiated messages (status updates, staff replies, reminders): queued like any reply, in the
applicant's language, marked with their kind so each channel can apply its rules (the WhatsApp 24-hour
window and templates, opt-outs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.messages import Button, Outbound
from locales import translate
from storage.conversations import ConversationRepository
from storage.crypto import Cipher
from storage.db import Session
from storage.messages import MessageRepository


def queue_notice(session: Session, cipher: Cipher, conversation_id: int, kind: str, msgid: str, now: datetime, *,
                 author: str = "system", buttons: tuple[Button, ...] = (), **values: Any) -> int:
    """Queue a notice for one conversation; returns the outbound message id."""
    locale, channel = ConversationRepository(session, cipher).addressee(conversation_id)
    text = translate(locale, msgid, **values)
    return MessageRepository(session, cipher).queue(conversation_id, channel, Outbound(text, buttons, kind=kind), now,
                                                    author=author)
