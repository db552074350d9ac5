"""The worker side of the inbound queue: run each chat's waiting turns in order, one at a time.

A worker takes the oldest waiting delivery of a chat, runs its turn and deletes the queue row in one
transaction, so a crash at any point either leaves the delivery queued or has finished its turn: an
acknowledged message is never lost and never run twice, however many workers run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.core.events import SystemEvent
from bot.core.messages import Inbound
from bot.core.metrics import QUEUE_WAIT_SECONDS, TURN_FAILURES
from bot.service.turns import TurnService
from storage.crypto import Cipher
from storage.db import OUTAGE_ERRORS, Database
from storage.inbound_queue import InboundQueueRepository, QueuedDelivery
from storage.queues import INBOUND

log = logging.getLogger(__name__)


class InboundWorker:
    """The worker side: run waiting turns, each in its own transaction, up to `batch` per call.

    The worker runs this in a thread of its own; every turn that queued replies wakes the dispatcher (through
    `TurnService.finished`), so a burst's first replies leave while the rest is still being worked through.
    """

    def __init__(self, database: Database, cipher: Cipher, turns: TurnService,
                 clock: Callable[[], datetime] = utcnow, batch: int = 20) -> None:
        self.database = database
        self.cipher = cipher
        self.turns = turns
        self.clock = clock
        self.batch = batch

    def run_once(self) -> int:
        handled = 0
        while handled < self.batch and self.run_next():
            handled += 1
        return handled

    def run_next(self) -> bool:
        """Run the next waiting turn; False when nothing is waiting."""
        started = time.perf_counter()
        delivery: QueuedDelivery | None = None
        if self.database.single_writer:  # look before taking the one writer's turn: most wake-ups find nothing
            with self.database.read_scope() as session:
                if not InboundQueueRepository(session, self.cipher).any_waiting(self.clock()):
                    return False
        try:
            with self.database.session_scope() as session:
                queue = InboundQueueRepository(session, self.cipher)
                now = self.clock()
                delivery = queue.take_next(now)
                if delivery is None:
                    return False
                QUEUE_WAIT_SECONDS.observe(max(0.0, (now - delivery.received_at).total_seconds()))
                outcome = self.turns.run_queued(session, delivery.inbound, now)
        except OUTAGE_ERRORS:
            raise  # the database is unreachable or restarting: nothing was done, the loop rests and retries
        except Exception as error:
            if delivery is None:
                raise
            self._failed(delivery, error)
            return True
        self.turns.finished(delivery.inbound, outcome, started, counted=True)
        return True

    def _failed(self, delivery: QueuedDelivery, error: Exception) -> None:
        """The turn raised and was rolled back: try again later, and after a few tries set it aside.

        Only the exception's type is kept: its message could quote what the applicant wrote.
        """
        reason = f"turn raised {type(error).__name__}"
        now = self.clock()
        set_aside = False
        with self.database.session_scope() as session:
            queue = InboundQueueRepository(session, self.cipher)
            if INBOUND.gives_up(delivery.attempts):
                queue.mark_failed(delivery.id, reason, now)
                TURN_FAILURES.labels("failed").inc()
                log.error("queued message %s set aside after %d failed turns", delivery.id, delivery.attempts + 1,
                          exc_info=error)
                set_aside = True
            else:
                delay = INBOUND.backoff(delivery.attempts)
                queue.retry_later(delivery.id, reason, now + timedelta(seconds=delay))
                TURN_FAILURES.labels("retry").inc()
                log.warning("queued message %s: turn failed, retrying in %.1fs", delivery.id, delay, exc_info=error)
        if set_aside:
            self._hand_over(delivery.inbound)

    def _hand_over(self, inbound: Inbound) -> None:
        """Tell the applicant we failed them and put the chat in front of a person (a turn of its own)."""
        event = replace(inbound, kind="event", payload=SystemEvent.TURN_FAILED, text="", attachments=(), ack=(),
                        provider_id=f"{inbound.provider_id}:failed")
        try:
            self.turns.handle(event)
        except Exception:  # nothing more the bot can do: the error log and the metric remain
            log.exception("could not hand over the chat of a set-aside message")
