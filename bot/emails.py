"""Emails to applicants go through their own outbox: queued in the transaction that decides them, sent by
the worker with retries, and their state shown to staff on the case."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.dispatcher import backoff
from bot.errors import SendError
from bot.mailer import Mailer
from bot.turns import utcnow
from storage.crypto import Cipher
from storage.db import Database
from storage.models import Email

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 10


def queue_email(session: Session, cipher: Cipher, case_id: int | None, message: bytes, now: datetime) -> None:
    session.add(Email(case_id=case_id, message=cipher.encrypt(message), status="queued", attempts=0,
                      next_attempt_at=now, created_at=now))


def email_state(session: Session, case_id: int) -> tuple[str, str | None] | None:
    row = session.execute(select(Email).where(Email.case_id == case_id).order_by(Email.id.desc())).scalars().first()
    return (row.status, row.last_error) if row else None


class MailJob:
    def __init__(self, database: Database, cipher: Cipher, mailer: Mailer,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.database, self.cipher, self.mailer, self.clock = database, cipher, mailer, clock

    def run_once(self) -> int:
        from email import message_from_bytes, policy
        from email.message import EmailMessage

        now = self.clock()
        with self.database.session_scope() as session:
            session.execute(update(Email).where(Email.status == "sending", Email.next_attempt_at < now -
                                                timedelta(minutes=10)).values(status="queued"))
            query = select(Email).where(Email.status == "queued", Email.next_attempt_at <= now).limit(5)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.execute(query).scalars())
            jobs = [(row.id, row.attempts, self.cipher.decrypt(row.message)) for row in rows]
            for row in rows:
                row.status, row.next_attempt_at = "sending", now
        for email_id, attempts, raw in jobs:
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            values: dict[str, object]
            try:
                self.mailer.send(message)
                values = {"status": "sent", "sent_at": self.clock(), "last_error": None}
            except SendError as error:
                failed = error.permanent or attempts + 1 >= MAX_ATTEMPTS
                values = {"status": "failed" if failed else "queued", "last_error": str(error),
                          "next_attempt_at": self.clock() + timedelta(seconds=backoff(attempts))}
                log.warning("email %s %s: %s", email_id, "failed" if failed else "will be retried", error)
            with self.database.session_scope() as session:
                session.execute(update(Email).where(Email.id == email_id).values(attempts=Email.attempts + 1,
                                                                                 **values))
        return len(jobs)
