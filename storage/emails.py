"""The email queue: an email is queued in the transaction that decides it and sent later by the worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.crypto import Cipher
from storage.models import Email
from storage.queues import EMAIL, ClaimColumns, mark_claimed, release_stale, skip_locked

# Emails have no claim column of their own: a claim moves the due time to the moment of the claim.
_CLAIM = ClaimColumns(Email.id, Email.status, Email.next_attempt_at, working="sending", clear_on_release=False)


def queue_email(session: Session, cipher: Cipher, case_id: int | None, message: bytes, now: datetime) -> None:
    session.add(Email(case_id=case_id, message=cipher.encrypt(message), status="queued", attempts=0,
                      next_attempt_at=now, created_at=now))


def email_state(session: Session, case_id: int) -> tuple[str, str | None] | None:
    """The newest email of a case as staff see it: its status and the last error, if any."""
    row = session.execute(select(Email).where(Email.case_id == case_id).order_by(Email.id.desc())).scalars().first()
    return (row.status, row.last_error) if row else None


def claim_emails(session: Session, cipher: Cipher, now: datetime, limit: int = 5,
                 stale_after: timedelta | None = EMAIL.stale_after) -> list[tuple[int, int, bytes]]:
    """Take due emails for sending: `(id, attempts so far, raw message)`; stale claims are taken over first."""
    release_stale(session, _CLAIM, now, stale_after)
    query = skip_locked(select(Email).where(Email.status == "queued", Email.next_attempt_at <= now).limit(limit))
    jobs = [(row.id, row.attempts, cipher.decrypt(row.message)) for row in session.execute(query).scalars()]
    mark_claimed(session, _CLAIM, [email_id for email_id, _, _ in jobs], now)
    return jobs


def record_email_attempt(session: Session, email_id: int, **values: Any) -> None:
    session.execute(update(Email).where(Email.id == email_id).values(attempts=Email.attempts + 1, **values))
