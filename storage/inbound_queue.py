"""The inbound queue: provider deliveries stored at the webhook, taken by workers one chat turn at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, exists, func, select, update
from sqlalchemy.orm import Session

from bot.core.messages import Inbound
from storage.crypto import Cipher
from storage.models import QueuedInbound
from storage.queues import skip_locked
from storage.sql import insert_ignoring_duplicates

_QUEUE = cast(Table, QueuedInbound.__table__)
_EARLIER = _QUEUE.alias("earlier")
# Built once: constructing this statement cost more than running it. The delivery is taken off the queue as it
# is claimed (one statement, not a claim and a delete): the delete holds the row until the turn's transaction
# ends, and a turn that fails rolls it back onto the queue.
_NEXT_ID = skip_locked(
    select(_QUEUE.c.id)
    .where(_QUEUE.c.failed_at.is_(None), _QUEUE.c.available_at <= bindparam("now", type_=_QUEUE.c.available_at.type),
           ~exists().where(_EARLIER.c.chat_key == _QUEUE.c.chat_key, _EARLIER.c.id < _QUEUE.c.id,
                           _EARLIER.c.failed_at.is_(None)))
    .order_by(_QUEUE.c.id).limit(1), of=_QUEUE)
_TAKE_NEXT = (delete(_QUEUE).where(_QUEUE.c.id == _NEXT_ID.scalar_subquery())
              .returning(_QUEUE.c.id, _QUEUE.c.body, _QUEUE.c.attempts, _QUEUE.c.received_at))


@dataclass(frozen=True, slots=True)
class QueuedDelivery:
    id: int
    inbound: Inbound
    attempts: int
    received_at: datetime


def chat_key(cipher: Cipher, channel: str, contact_ref: str) -> str:
    """One chat's rows share this key; keyed, so the queue holds no phone number in clear."""
    return cipher.search_hash(f"{channel}:{contact_ref}")


class InboundQueueRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def add(self, inbound: Inbound, now: datetime) -> bool:
        """Queue a delivery; False when this provider id is already waiting (a redelivery)."""
        return insert_ignoring_duplicates(self.session, _QUEUE, {
            "channel": inbound.channel, "provider_id": inbound.provider_id,
            "chat_key": chat_key(self.cipher, inbound.channel, inbound.contact_ref),
            "body": self.cipher.encrypt_json(inbound.to_delivery()), "received_at": now, "available_at": now,
            "attempts": 0,
        }, ["channel", "provider_id"]) is not None

    def take_next(self, now: datetime) -> QueuedDelivery | None:
        """The oldest delivery whose chat has nothing older waiting, off the queue when this transaction commits.

        Another worker's row is skipped, and so is every later row of that chat (an older one still exists
        until that worker's turn commits), so two workers never run one chat's turns at once or out of
        order. If this transaction rolls back, the delivery is back in its place. A failed row no longer
        holds its chat back.
        """
        row = self.session.execute(_TAKE_NEXT, {"now": now}).first()
        if row is None:
            return None
        return QueuedDelivery(row.id, Inbound.from_delivery(self.cipher.decrypt_json(row.body)), row.attempts,
                              row.received_at)

    def any_waiting(self, now: datetime) -> bool:
        """Whether a delivery may be waiting for its turn (a cheap look: `take_next` decides which)."""
        return self.session.execute(select(_QUEUE.c.id).where(
            _QUEUE.c.failed_at.is_(None), _QUEUE.c.available_at <= now).limit(1)).first() is not None

    def retry_later(self, queue_id: int, error: str, available_at: datetime) -> None:
        self.session.execute(update(_QUEUE).where(_QUEUE.c.id == queue_id).values(
            attempts=_QUEUE.c.attempts + 1, last_error=error, available_at=available_at))

    def mark_failed(self, queue_id: int, error: str, now: datetime) -> None:
        """Kept for staff to see in the logs and metrics; the chat's later messages go ahead."""
        self.session.execute(update(_QUEUE).where(_QUEUE.c.id == queue_id).values(
            attempts=_QUEUE.c.attempts + 1, last_error=error, failed_at=now))

    def depth(self) -> tuple[int, datetime | None]:
        """How many deliveries wait for their turn, and when the oldest arrived."""
        count, oldest = self.session.execute(
            select(func.count(), func.min(_QUEUE.c.received_at)).where(_QUEUE.c.failed_at.is_(None))).one()
        if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC from an aggregate
            oldest = oldest.replace(tzinfo=UTC)
        return int(count), oldest

