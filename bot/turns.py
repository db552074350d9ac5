"""One turn end to end, in one database transaction: dedupe, lock, run the engine, queue the replies.

Nothing here talks to the network: replies become queued outbox rows, so a webhook can answer as soon
as the transaction commits and a crash after that loses nothing (the worker sends them later).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.engine import Engine
from bot.messages import Inbound
from storage.crypto import Cipher
from storage.db import Database
from storage.repositories import (
    ContactRepository,
    ConversationRepository,
    MessageRepository,
    StoredReply,
)

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TurnOutcome:
    """What happened: `duplicate` is true when the provider id was seen before (nothing was run)."""

    duplicate: bool
    conversation_id: int
    inbound_id: int | None
    replies: tuple[StoredReply, ...]
    events: tuple[str, ...] = ()


class TurnService:
    def __init__(self, database: Database, cipher: Cipher, engine: Engine, default_locale: str,
                 clock: Callable[[], datetime] = utcnow,
                 on_queued: Callable[[], None] | None = None) -> None:
        self.database = database
        self.cipher = cipher
        self.engine = engine
        self.default_locale = default_locale
        self.clock = clock
        self.on_queued = on_queued

    def handle(self, inbound: Inbound) -> TurnOutcome:
        """Store the inbound message and run its turn, exactly once per provider id."""
        now = self.clock()
        with self.database.session_scope() as session:
            contact = ContactRepository(session, self.cipher).get_or_create(inbound, now)
            conversations = ConversationRepository(session, self.cipher)
            conversation_id, state = conversations.lock(
                contact.id, contact.locale or self.default_locale, now)
            messages = MessageRepository(session, self.cipher)
            inbound_id = messages.record_inbound(conversation_id, inbound, now)
            if inbound_id is None:
                original = messages.find_inbound(inbound.channel, inbound.provider_id)
                replies = messages.replies_to(original) if original is not None else []
                return TurnOutcome(True, conversation_id, original, tuple(replies))
            turn = self.engine.run(state, inbound, now, self.default_locale)
            conversations.save(conversation_id, turn.conversation, turn.events)
            for reply in turn.replies:
                messages.queue(conversation_id, inbound.channel, reply, now, in_reply_to=inbound_id)
            replies = messages.replies_to(inbound_id)
        log.info("turn channel=%s conversation=%s state=%s replies=%d events=%s", inbound.channel,
                 conversation_id, turn.conversation.state, len(replies), ",".join(turn.events) or "-")
        if replies and self.on_queued:
            self.on_queued()
        return TurnOutcome(False, conversation_id, inbound_id, tuple(replies), turn.events)
