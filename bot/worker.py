"""The background worker: sends the outbox in order per conversation, retrying what can be retried.

It runs as a thread inside `ptibot serve` or alone as `ptibot worker`; several can run against
PostgreSQL because claims skip rows another worker holds. A message stays queued in the database until
a send succeeds, so a crash at any point loses no reply.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from bot.channels import Sender
from bot.errors import SendError
from bot.metrics import SEND_FAILURES, SENT
from bot.throttle import Throttle
from bot.turns import utcnow
from storage.crypto import Cipher
from storage.db import Database
from storage.repositories import ContactRepository, MessageRepository, OutboxItem

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY = 2.0
MAX_DELAY = 600.0
STALE_CLAIM = timedelta(minutes=2)  # a send that takes longer than this belongs to a worker that died


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: 2 s, 4 s, 8 s … capped at 10 minutes."""
    ceiling = min(MAX_DELAY, BASE_DELAY * (2 ** attempts))
    return ceiling / 2 + rng() * ceiling / 2


class Dispatcher:
    """Claims due outbox rows and hands each to its channel's sender."""

    def __init__(self, database: Database, cipher: Cipher, senders: Mapping[str, Sender],
                 clock: Callable[[], datetime] = utcnow, batch: int = 50,
                 throttles: Mapping[str, Throttle] | None = None, stale_claim: timedelta = STALE_CLAIM) -> None:
        self.stale_claim = stale_claim
        self._next_recovery = 0.0
        self.database = database
        self.cipher = cipher
        self.senders = senders
        self.clock = clock
        self.batch = batch
        self.throttles = throttles or {}

    def run_once(self) -> int:
        """Send what is due now; return how many messages were handled."""
        # Taking over a dead worker's claims is a write; a few times a minute is plenty (and on SQLite
        # every write waits for the single writer).
        recover = time.monotonic() >= self._next_recovery
        if recover:
            self._next_recovery = time.monotonic() + min(15.0, self.stale_claim.total_seconds() / 2)
        with self.database.session_scope() as session:
            items = MessageRepository(session, self.cipher).claim_due(
                self.clock(), self.batch, stale_after=self.stale_claim, recover=recover)
        for item in items:
            self._deliver(item)
        return len(items)

    def seconds_until_due(self, ceiling: float) -> float:
        """How long the outbox can be left alone: until its next scheduled retry or paced message."""
        with self.database.session_scope() as session:
            due = MessageRepository(session, self.cipher).next_due()
        if due is None:
            return ceiling
        return min(ceiling, max(0.01, (due - self.clock()).total_seconds()))

    def _deliver(self, item: OutboxItem) -> None:
        sender = self.senders.get(item.channel)
        outcome: tuple[str, str | None, float | None]
        throttle = self.throttles.get(item.channel)
        paced = throttle is not None and item.outbound.kind != "ack"
        wait = throttle.reserve(item.recipient.external_id, self.clock()) if throttle and paced else 0
        if wait > 0:
            with self.database.session_scope() as session:
                MessageRepository(session, self.cipher).defer(item.id, self.clock() + timedelta(seconds=wait))
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
                elif error.permanent or item.attempts + 1 >= MAX_ATTEMPTS:
                    outcome = ("failed" if not error.permanent else "blocked", str(error), None)
                else:
                    outcome = ("retry", str(error), error.retry_after or backoff(item.attempts))
            except Exception as error:  # the dispatch boundary: a bug must not stop the queue
                log.exception("unexpected error sending message %s", item.id)
                outcome = ("retry", f"internal error: {type(error).__name__}", backoff(item.attempts))
        now = self.clock()
        with self.database.session_scope() as session:
            messages = MessageRepository(session, self.cipher)
            kind, detail, delay = outcome
            (SENT.labels(item.channel) if kind == "sent" else SEND_FAILURES.labels(item.channel, kind)).inc()
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


class Job(Protocol):
    def run_once(self) -> int:
        """Do what is due now; return how much was handled (0 lets the loop rest)."""
        ...


class Periodic:
    """Runs a job at most every `interval` seconds: the scheduler need not scan on every outbox poll."""

    def __init__(self, job: Job, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.job, self.interval, self.clock = job, interval, clock
        self._next = 0.0

    def run_once(self) -> int:
        if self.clock() < self._next:
            return 0
        self._next = self.clock() + self.interval
        return self.job.run_once()


NOTIFY_CHANNEL = "ptibot_outbox"


class PostgresWakeup:
    """LISTEN for the NOTIFY a turn sends on commit, so a worker on another process or machine picks up a
    reply within milliseconds instead of at its next poll."""

    def __init__(self, database_url: str, wake: Callable[[], None]) -> None:
        from sqlalchemy.engine import make_url

        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name="ptibot-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.wake()  # anything committed while we were not listening
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            self.wake()
            except psycopg.Error:
                log.warning("LISTEN connection lost; reconnecting")
                self._stop.wait(1.0)


class Worker:
    """A loop around the dispatcher and the other jobs; `wake()` makes it look at the outbox right away."""

    def __init__(self, dispatcher: Dispatcher, poll_interval: float = 0.5, jobs: Sequence[Job] = ()) -> None:
        self.dispatcher = dispatcher
        self.jobs: list[Job] = [dispatcher, *jobs]
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def run_forever(self) -> None:
        log.info("worker started")
        listener = None
        if self.dispatcher.database.is_postgres:
            listener = PostgresWakeup(self.dispatcher.database.url, self.wake)
            listener.start()
        while not self._stop.is_set():
            handled = 0
            for job in self.jobs:
                try:
                    handled += job.run_once()
                except Exception:  # the loop boundary: log, pause, go on (the database may be restarting)
                    log.exception("worker job %s failed", type(job).__name__)
            if handled == 0:
                try:
                    pause = self.dispatcher.seconds_until_due(self.poll_interval)
                except Exception:  # the database may be restarting: rest the usual interval
                    pause = self.poll_interval
                self._wake.wait(pause)
                self._wake.clear()
        if listener:
            listener.stop()
        log.info("worker stopped")

    def start_thread(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="ptibot-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=10)
