"""The outbox dispatcher: sends queued replies in order per conversation, retrying what can be retried.

A message stays queued in the database until a send succeeds, so a crash at any point loses no reply;
several dispatchers can run against PostgreSQL because claims skip rows another one holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot.channels import Sender
from bot.core.clock import utcnow
from bot.core.errors import SendError
from bot.core.metrics import SEND_FAILURES, SENT
from bot.worker.throttle import Throttle
from storage.conversations import ContactRepository
from storage.crypto import Cipher
from storage.db import OUTAGE_ERRORS, Database
from storage.messages import MessageRepository, OutboxItem
from storage.queues import OUTBOX

log = logging.getLogger(__name__)

PACING_HORIZON = 0.5  # seconds of a rate limit's sends claimed at once; the dispatcher sleeps between them


class Dispatcher:
    """Claims due outbox rows and hands each to its channel's sender.

    `stale_claim` (OUTBOX_CLAIM_TIMEOUT) replaces the outbox policy's time after which a claim is a dead
    worker's.
    """

    def __init__(self, database: Database, cipher: Cipher, senders: Mapping[str, Sender],
                 clock: Callable[[], datetime] = utcnow, batch: int = 50,
                 throttles: Mapping[str, Throttle] | None = None, stale_claim: timedelta | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = OUTBOX if stale_claim is None else replace(OUTBOX, stale_after=stale_claim)
        # Taking over a dead worker's claims is a write; a few times a minute is plenty (and on SQLite
        # every write waits for the single writer).
        stale = self.policy.stale_after
        self._recovery_every = min(15.0, stale.total_seconds() / 2) if stale is not None else 15.0
        self._next_recovery = 0.0
        self._throttled_for = 0.0
        self.database = database
        self.cipher = cipher
        self.senders = senders
        self.clock = clock
        self.sleep = sleep
        self.batch = batch
        self.throttles = throttles or {}

    def run_once(self) -> int:
        """Send what is due now; return how many messages were handled."""
        recover = time.monotonic() >= self._next_recovery
        if recover:
            self._next_recovery = time.monotonic() + self._recovery_every
        now = self.clock()
        # Claim no more than each rate limit lets go soon: a row claimed only to be put back costs two writes.
        limits = {channel: throttle.capacity(now, PACING_HORIZON) for channel, throttle in self.throttles.items()}
        with self.database.session_scope() as session:
            items = MessageRepository(session, self.cipher).claim_due(
                now, self.batch, stale_after=self.policy.stale_after, recover=recover, limits=limits)
        self._throttled_for = 0.0 if items else min(
            (self.throttles[channel].seconds_until_free(now) for channel, room in limits.items() if room == 0),
            default=0.0)
        # Unpaced messages first, so a broadcast's pacing never holds them up.
        for item in sorted(items, key=lambda item: item.channel in self.throttles):
            self._deliver(item)
        return len(items)

    def seconds_until_due(self, ceiling: float) -> float:
        """How long the outbox can be left alone: until its next scheduled retry or paced message."""
        with self.database.session_scope() as session:
            due = MessageRepository(session, self.cipher).next_due()
        if due is None:
            return ceiling
        return min(ceiling, max(0.01, (due - self.clock()).total_seconds(), self._throttled_for))

    def _pace(self, item: OutboxItem, throttle: Throttle) -> bool:
        """Wait for the channel's next slot (it is near: claims follow capacity); False if the chat must wait."""
        chat = item.recipient.external_id
        while (wait := throttle.reserve(chat, self.clock())) > 0:
            if throttle.chat_wait(chat, self.clock()) > 0 or wait > PACING_HORIZON + 0.5:
                with self.database.session_scope() as session:
                    MessageRepository(session, self.cipher).defer(item.id, self.clock() + timedelta(seconds=wait))
                return False
            self.sleep(wait)
        return True

    def _deliver(self, item: OutboxItem) -> None:
        sender = self.senders.get(item.channel)
        outcome: tuple[str, str | None, float | None]
        throttle = self.throttles.get(item.channel) if item.outbound.kind != "ack" else None
        if throttle is not None and not self._pace(item, throttle):
            return
        if sender is None:
            outcome = ("retry", f"channel {item.channel} is not configured", 60.0)
        else:
            try:
                result = sender.send(item.recipient, item.outbound)
                outcome = ("sent", result.provider_id, None)
            except SendError as error:
                if error.outcome in ("held", "suppressed"):
                    outcome = (error.outcome, str(error), None)
                elif self.policy.gives_up(item.attempts, permanent=error.permanent):
                    outcome = ("failed" if not error.permanent else "blocked", str(error), None)
                else:
                    outcome = ("retry", str(error), error.retry_after or self.policy.backoff(item.attempts))
            except Exception as error:  # the dispatch boundary: a bug must not stop the queue
                log.exception("unexpected error sending message %s", item.id)
                outcome = ("retry", f"internal error: {type(error).__name__}", self.policy.backoff(item.attempts))
            finally:
                if throttle is not None:
                    throttle.finished(self.clock())
        kind = outcome[0]
        (SENT.labels(item.channel) if kind == "sent" else SEND_FAILURES.labels(item.channel, kind)).inc()
        self._record(item, outcome)

    def _record(self, item: OutboxItem, outcome: tuple[str, str | None, float | None]) -> None:
        """Store what the provider answered, waiting out a database outage rather than giving up.

        The message may already be with the provider: if its claim were left to go stale instead, the
        next worker would send it again. So this retries until the database answers (a worker can do
        nothing else meanwhile anyway).
        """
        pause = 0.5
        while True:
            try:
                self._store_outcome(item, outcome)
                return
            except OUTAGE_ERRORS as error:
                log.warning("database unavailable while recording message %s (%s); retrying in %.1fs", item.id,
                            type(error.orig).__name__, pause)
                self.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _store_outcome(self, item: OutboxItem, outcome: tuple[str, str | None, float | None]) -> None:
        now = self.clock()
        with self.database.session_scope() as session:
            messages = MessageRepository(session, self.cipher)
            kind, detail, delay = outcome
            if kind == "sent":
                messages.mark_sent(item.id, detail, now)
            elif kind in ("held", "suppressed"):
                messages.set_status(item.id, kind, detail or "", now)
                log.info("message %s %s: %s", item.id, kind, detail)
            elif kind == "retry":
                messages.mark_retry(item.id, detail or "", now + timedelta(seconds=delay or 0), now)
                log.warning("message %s will be retried in %.1fs: %s", item.id, delay, detail)
            else:
                messages.mark_failed(item.id, detail or "", now)
                if kind == "blocked":
                    ContactRepository(session, self.cipher).set_reachable(item.contact_id, False)
                log.warning("message %s failed for good: %s", item.id, detail)
