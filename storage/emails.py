"""The email queue: an email is queued in the transaction that decides it and sent later by the worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.models import Email

SENDING_TIMEOUT = timedelta(minutes=10)  # an email still "sending" after this belongs to a worker that died


def queue_email(session: Session, cipher: Cipher, case_id: int | None, message: bytes, now: datetime) -> None:
    session.add(Email(case_id=case_id, message=cipher.encrypt(message), status="queued", attempts=0,
                      next_attempt_at=now, created_at=now))


def email_state(session: Session, case_id: int) -> tuple[str, str | None] | None:
    """The newest email of a case as staff see it: its status and the last error, if any."""
    row = session.execute(select(Email).where(Email.case_id == case_id).order_by(Email.id.desc())).scalars().first()
    return (row.status, row.last_error) if row else None


def claim_emails(session: Session, cipher: Cipher, now: datetime, limit: int = 5) -> list[tuple[int, int, bytes]]:
    """Take due emails for sending: `(id, attempts so far, raw message)`; stale claims are taken over first."""
    session.execute(update(Email).where(Email.status == "sending", Email.next_attempt_at < now - SENDING_TIMEOUT)
                    .values(status="queued"))
    query = select(Email).where(Email.status == "queued", Email.next_attempt_at <= now).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.execute(query).scalars())
    for row in rows:
        row.status, row.next_attempt_at = "sending", now
    return [(row.id, row.attempts, cipher.decrypt(row.message)) for row in rows]


def record_email_attempt(session: Session, email_id: int, **values: Any) -> None:
    session.execute(update(Email).where(Email.id == email_id).values(attempts=Email.attempts + 1, **values))
