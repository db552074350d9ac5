"""Queries for media jobs: inbound files the worker must download before the document checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.core.messages import Attachment
from storage.crypto import Cipher
from storage.models import MediaJob


@dataclass(frozen=True, slots=True)
class MediaJobRecord:
    id: int
    message_id: int
    channel: str
    contact_ref: str
    ref: str
    content_type: str | None
    size: int | None
    attempts: int


class MediaJobRepository:
    def __init__(self, session: Session, cipher: Cipher) -> None:
        self.session = session
        self.cipher = cipher

    def add(self, message_id: int, channel: str, contact_ref: str, attachment: Attachment, now: datetime) -> None:
        self.session.add(MediaJob(
            message_id=message_id, channel=channel, contact_ref=contact_ref,
            ref=self.cipher.encrypt(attachment.ref.encode()), content_type=attachment.content_type,
            size=attachment.size, status="queued", attempts=0, next_attempt_at=now, created_at=now))

    def claim_due(self, now: datetime, limit: int, *, stale_after: timedelta, recover: bool = True
                  ) -> list[MediaJobRecord]:
        """Claim due jobs oldest first; jobs of a worker that died mid-download are taken over."""
        if recover:
            self.session.execute(update(MediaJob).where(MediaJob.status == "fetching",
                                                        MediaJob.claimed_at < now - stale_after)
                                 .values(status="queued", claimed_at=None))
        query = (select(MediaJob).where(MediaJob.status == "queued",
                                        or_(MediaJob.next_attempt_at.is_(None), MediaJob.next_attempt_at <= now))
                 .order_by(MediaJob.id).limit(limit))
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        jobs = []
        for job in self.session.execute(query).scalars():
            job.status, job.claimed_at = "fetching", now
            jobs.append(MediaJobRecord(job.id, job.message_id, job.channel, job.contact_ref,
                                       self.cipher.decrypt(job.ref).decode(), job.content_type, job.size,
                                       job.attempts))
        return jobs

    def finish(self, job_id: int, status: str, now: datetime, error: str | None = None) -> None:
        self.session.execute(update(MediaJob).where(MediaJob.id == job_id).values(
            status=status, attempts=MediaJob.attempts + 1, claimed_at=None, last_error=error))

    def retry(self, job_id: int, when: datetime, error: str) -> None:
        self.session.execute(update(MediaJob).where(MediaJob.id == job_id).values(
            status="queued", attempts=MediaJob.attempts + 1, claimed_at=None, next_attempt_at=when,
            last_error=error))
