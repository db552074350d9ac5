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
from storage.db import NOTIFY_CHANNEL

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




class Wakeup:
    """A daemon thread that calls `wake` when another process has committed work for this worker."""

    thread_name = "ptibot-wakeup"

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        raise NotImplementedError


class PostgresWakeup(Wakeup):
    """LISTEN for the NOTIFY a turn sends on commit, so a worker on another process or machine picks up a
    reply within milliseconds instead of at its next poll."""

    thread_name = "ptibot-listen"

    def __init__(self, database_url: str, wake: Callable[[], None]) -> None:
        from sqlalchemy.engine import make_url

        super().__init__(wake)
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)

    def _watch(self) -> None:
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


class SqliteWakeup(Wakeup):
    """SQLite's stand-in for LISTEN/NOTIFY, for a worker in its own process on the same machine.

    `PRAGMA data_version` changes whenever another connection commits to the file; reading it takes no
    lock and costs microseconds, so polling it every 10 ms wakes the worker within milliseconds of a
    webhook's commit instead of at its next half-second poll.
    """

    thread_name = "ptibot-sqlite-watch"

    def __init__(self, path: str, wake: Callable[[], None], interval: float = 0.01) -> None:
        super().__init__(wake)
        self.path = path
        self.interval = interval

    def _watch(self) -> None:
        import sqlite3

        connection = sqlite3.connect(self.path, check_same_thread=False)
        try:
            seen = connection.execute("PRAGMA data_version").fetchone()[0]
            while not self._stop.wait(self.interval):
                try:
                    version = connection.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:
                    continue
                if version != seen:
                    seen = version
                    self.wake()
        finally:
            connection.close()


def wakeup_for(database_url: str, wake: Callable[[], None]) -> Wakeup | None:
    """What tells this worker that another process committed work, for the database in use."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresWakeup(database_url, wake)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return SqliteWakeup(url.database, wake)
    return None


class Worker:
    """The dispatcher and the other jobs in one loop, and the queued webhook turns in a thread of their own.

    Turns get their own thread so an applicant's message never waits behind a paced broadcast or a long
    scheduler pass; each turn that queues replies wakes the dispatcher. `wake()` wakes both.
    """

    def __init__(self, dispatcher: Dispatcher, poll_interval: float = 0.5, jobs: Sequence[Job] = (),
                 turns: Job | None = None) -> None:
        self.dispatcher = dispatcher
        self.turns = turns
        self.jobs: list[Job] = [dispatcher, *jobs]
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._turns_wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._turns_thread: threading.Thread | None = None

    def wake(self) -> None:
        self._turns_wake.set()
        self._wake.set()

    def run_forever(self) -> None:
        log.info("worker started")
        listener = wakeup_for(self.dispatcher.database.url, self.wake)
        if listener:
            listener.start()
        if self.turns is not None:
            self._turns_thread = threading.Thread(target=self._run_turns, args=(self.turns,), name="ptibot-turns",
                                                  daemon=True)
            self._turns_thread.start()
        while not self._stop.is_set():
            self._wake.clear()  # before the pass: a wake-up during it is kept for the next wait
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
        if listener:
            listener.stop()
        if self._turns_thread:
            self._turns_thread.join(timeout=10)
        log.info("worker stopped")

    def _run_turns(self, turns: Job) -> None:
        while not self._stop.is_set():
            self._turns_wake.clear()
            try:
                handled = turns.run_once()
            except Exception:  # the database may be restarting: log, rest, try again
                log.exception("queued turns failed")
                handled = 0
            if handled:
                self._wake.set()  # their replies are queued: the dispatcher's turn
            else:
                self._turns_wake.wait(self.poll_interval)

    def start_thread(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="ptibot-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake()
        if self._thread:
            self._thread.join(timeout=10)
