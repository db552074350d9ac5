"""Database engine and sessions: SQLite with WAL and foreign keys by default, PostgreSQL in production."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.files import PRIVATE_FILE, make_private_dir

__all__ = ["OUTAGE_ERRORS", "NOTIFY_CHANNEL", "Database", "Session", "checkpoint_after_commit", "make_engine",
           "notify_workers"]

log = logging.getLogger(__name__)

# What a database outage raises (server down or restarting, connection dropped). Callers above storage
# catch these to wait and retry rather than count a failure, without importing SQLAlchemy themselves.
OUTAGE_ERRORS: tuple[type[DBAPIError], ...] = (OperationalError, InterfaceError)

NOTIFY_CHANNEL = "ptibot_outbox"  # what workers LISTEN on (storage.wakeup.PostgresWakeup)
_NOTIFY = text(f"NOTIFY {NOTIFY_CHANNEL}")


def notify_workers(session: Session) -> None:
    """Wake the workers, wherever they run, when this transaction commits (PostgreSQL; elsewhere nothing:
    a worker on SQLite watches the file instead). Once per session, however much work it queues."""
    if session.get_bind().dialect.name == "postgresql" and not session.info.get(NOTIFY_CHANNEL):
        session.execute(_NOTIFY)
        session.info[NOTIFY_CHANNEL] = True


_CHECKPOINT = "ptibot_wal_checkpoint"
_READ_ONLY = "ptibot_read_only"  # an execution option: the transaction only reads (see Database.read_scope)
BUSY_TIMEOUT_S = 30
CHECKPOINT_WAIT_MS = 2000


def checkpoint_after_commit(session: Session) -> None:
    """Ask for the SQLite write-ahead log to be emptied once this transaction commits (see
    `Database.checkpoint`): after an erasure, the old page images there still hold what was erased."""
    session.info[_CHECKPOINT] = True


def _private_sqlite_files(path: Path) -> None:
    """The database file, created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the
    mode of the database file. Files left 0644 by an older version are tightened."""
    make_private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE))
    for name in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        try:
            if name.stat().st_mode & 0o777 != PRIVATE_FILE:
                os.chmod(name, PRIVATE_FILE)
        except FileNotFoundError:
            continue
        except PermissionError:  # not ours to change: say so rather than refuse to start
            log.warning("database file %s is readable by others and not ours to chmod", name)


def make_engine(url: str, **options: Any) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys, a busy timeout so threads wait, not fail, and
    `secure_delete`, so deleted rows are overwritten with zeros instead of lingering in free pages."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            _private_sqlite_files(Path(path))
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin so BEGIN IMMEDIATE works.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # Take the write lock up front: one turn at a time per database, no upgrade deadlocks. A read-only
            # transaction takes none: in WAL mode it reads a snapshot while the writer goes on.
            read_only = connection.get_execution_options().get(_READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 10)
    return create_engine(url, **options)


class Database:
    """The engine plus a session factory; one per process."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **options)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False)
        # SQLite has one writer at a time and its busy handler sleeps with growing pauses, so threads of
        # one process queue here instead: waits are short and served in order. Other processes still
        # rely on the busy timeout.
        self._writer = threading.RLock() if self.engine.dialect.name == "sqlite" else None

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def single_writer(self) -> bool:
        """SQLite: one writer at a time, so a pass that may well find nothing looks first in a `read_scope`."""
        return self._writer is not None

    @contextmanager
    def read_scope(self) -> Iterator[Session]:
        """A transaction that only reads, rolled back at the end.

        On SQLite it waits for no writer and holds none up: it takes neither this process's writer lock nor
        the database's. A worker woken for nothing (SQLite's file watch wakes it for every commit, its own
        too) would otherwise take the one writer's turn only to find nothing, while a turn waits for it.
        """
        session = self._readers()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        if self._writer is not None:
            self._writer.acquire()
        session = self.sessions()
        try:
            yield session
            session.commit()
            if session.info.pop(_CHECKPOINT, False):
                try:
                    self.checkpoint()
                except Exception as error:  # committed already: the next checkpoint will catch up
                    log.warning("write-ahead log checkpoint failed: %s", type(error).__name__)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if self._writer is not None:
                self._writer.release()

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database and truncate it to zero bytes, so page images
        written before an erasure do not outlive it there (secure_delete has zeroed the rows in the pages
        themselves). A reader in another process can make it incomplete; the next one finishes the job.
        PostgreSQL: nothing to do here."""
        if self.engine.dialect.name != "sqlite":
            return
        connection = self.engine.raw_connection()  # outside any transaction: a checkpoint cannot run in one
        try:
            cursor = connection.cursor()
            # It waits for other processes' readers to move on: a short wait, not the 30 s a write may take.
            cursor.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
            try:
                busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
                cursor.close()
        finally:
            connection.close()
        if busy:
            log.info("write-ahead log checkpoint incomplete: another process is reading the database")

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (the health check)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
