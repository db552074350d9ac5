"""How a worker learns that another process committed work: LISTEN/NOTIFY on PostgreSQL, a file watch on SQLite.

Lives beside `storage.db.notify_workers`, which sends the NOTIFY these listen for.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable

import psycopg
from sqlalchemy.engine import make_url

from storage.db import NOTIFY_CHANNEL

log = logging.getLogger(__name__)


class Wakeup(ABC):
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

    @abstractmethod
    def _watch(self) -> None:
        """Watch the database until stopped, calling `self.wake()` whenever another process commits work."""


class PostgresWakeup(Wakeup):
    """LISTEN for the NOTIFY a turn sends on commit, so a worker on another process or machine picks up a
    reply within milliseconds instead of at its next poll."""

    thread_name = "ptibot-listen"

    def __init__(self, database_url: str, wake: Callable[[], None]) -> None:
        super().__init__(wake)
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.wake()  # anything committed while we were not listening
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0):
                            self.wake()
            except psycopg.Error:
                if self._stop.is_set():
                    break  # stopped while the connection was being closed under us: nothing was lost
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
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresWakeup(database_url, wake)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return SqliteWakeup(url.database, wake)
    return None
