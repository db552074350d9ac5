"""The background worker loop: the outbox dispatcher and the other jobs, woken when there is work.

It runs as a thread inside `ptibot serve` or alone as `ptibot worker`; several can run against
PostgreSQL because every job claims its rows with SKIP LOCKED or runs in one short transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.dispatcher import Dispatcher

log = logging.getLogger(__name__)

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
