"""Queries for media jobs: inbound files the worker must download before the document checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.core.messages import Attachment
from storage.conversations import contact_external_id
from storage.crypto import Cipher
from storage.models import Contact, Conversation, MediaJob, Message
from storage.queues import MEDIA, ClaimColumns, mark_claimed, release_stale, skip_locked

_CLAIM = ClaimColumns(MediaJob.id, MediaJob.status, MediaJob.claimed_at, working="fetching")


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

    def add(self, message_id: int, channel: str, attachment: Attachment, now: datetime) -> None:
        """Queue a download of a file the inbound message `message_id` carried. Whose it is comes from the
        message's conversation when the job is claimed: no second copy of the channel id is kept here."""
        self.session.add(MediaJob(
            message_id=message_id, channel=channel,
            ref=self.cipher.encrypt(attachment.ref.encode()), content_type=attachment.content_type,
            size=attachment.size, status="queued", attempts=0, next_attempt_at=now, created_at=now))

    def claim_due(self, now: datetime, limit: int, *, stale_after: timedelta | None = MEDIA.stale_after,
                  recover: bool = True) -> list[MediaJobRecord]:
        """Claim due jobs oldest first; jobs of a worker that died mid-download are taken over."""
        if recover:
            release_stale(self.session, _CLAIM, now, stale_after)
        query = skip_locked(select(MediaJob, Contact.external_ref)
                            .join(Message, Message.id == MediaJob.message_id)
                            .join(Conversation, Conversation.id == Message.conversation_id)
                            .join(Contact, Contact.id == Conversation.contact_id)
                            .where(MediaJob.status == "queued",
                                   or_(MediaJob.next_attempt_at.is_(None), MediaJob.next_attempt_at <= now))
                            .order_by(MediaJob.id).limit(limit), of=MediaJob)
        jobs = [MediaJobRecord(job.id, job.message_id, job.channel, contact_external_id(self.cipher, external_ref),
                               self.cipher.decrypt(job.ref).decode(), job.content_type, job.size, job.attempts)
                for job, external_ref in self.session.execute(query)]
        mark_claimed(self.session, _CLAIM, [job.id for job in jobs], now)
        return jobs

    def finish(self, job_id: int, status: str, now: datetime, error: str | None = None) -> None:
        self.session.execute(update(MediaJob).where(MediaJob.id == job_id).values(
            status=status, attempts=MediaJob.attempts + 1, claimed_at=None, last_error=error))

    def retry(self, job_id: int, when: datetime, error: str) -> None:
        self.session.execute(update(MediaJob).where(MediaJob.id == job_id).values(
            status="queued", attempts=MediaJob.attempts + 1, claimed_at=None, next_attempt_at=when,
            last_error=error))
