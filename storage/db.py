"""Database engine and sessions: SQLite with WAL and foreign keys by default, PostgreSQL in production."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["OUTAGE_ERRORS", "NOTIFY_CHANNEL", "Database", "Session", "make_engine", "notify_workers"]

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


def make_engine(url: str, **options: Any) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys and a busy timeout so threads wait, not fail."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin so BEGIN IMMEDIATE works.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # Take the write lock up front: one turn at a time per database, no upgrade deadlocks.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

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
        # SQLite has one writer at a time and its busy handler sleeps with growing pauses, so threads of
        # one process queue here instead: waits are short and served in order. Other processes still
        # rely on the busy timeout.
        self._writer = threading.RLock() if self.engine.dialect.name == "sqlite" else None

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        if self._writer is not None:
            self._writer.acquire()
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if self._writer is not None:
                self._writer.release()

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (the health check)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
