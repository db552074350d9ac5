"""Inbound media: the worker downloads what applicants sent on a channel and feeds the document turn.

Downloading never happens while a webhook waits: the turn only records a media job. Here the job's
bytes are fetched through the channel (Telegram getFile, Twilio MediaUrl with basic auth), no more than the
largest document we accept, checked, encrypted and handed to the conversation as `document_ready` or
`document_rejected`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from bot.core.clock import utcnow
from bot.core.errors import MediaTooLarge, SendError
from bot.core.events import SystemEvent
from bot.core.messages import Inbound
from bot.service.document_checks import ADVICE, MAX_BYTES
from bot.service.turns import TurnService
from bot.service.uploads import receive_document
from storage.crypto import Cipher
from storage.db import Database
from storage.files import DocumentStore
from storage.media_jobs import MediaJobRecord, MediaJobRepository
from storage.queues import MEDIA

log = logging.getLogger(__name__)


class MediaFetcher(Protocol):
    """The downloading half of a channel."""

    def fetch(self, ref: str, size_hint: int | None, max_bytes: int) -> bytes:
        """Return the file's bytes; raise `MediaTooLarge` as soon as more than `max_bytes` arrived (sizes the
        provider reports are hints, never trusted), or `SendError` for network trouble."""
        ...


class MediaWorker:
    def __init__(self, database: Database, cipher: Cipher, turns: TurnService, store: DocumentStore,
                 fetchers: Mapping[str, MediaFetcher], clock: Callable[[], datetime] = utcnow) -> None:
        self.database = database
        self.cipher = cipher
        self.turns = turns
        self.store = store
        self.fetchers = fetchers
        self.clock = clock
        self._next_recovery = 0.0

    def run_once(self, batch: int = 5) -> int:
        recover = time.monotonic() >= self._next_recovery
        if recover:
            self._next_recovery = time.monotonic() + 60
        with self.database.session_scope() as session:
            jobs = MediaJobRepository(session, self.cipher).claim_due(
                self.clock(), batch, stale_after=MEDIA.stale_after, recover=recover)
        for job in jobs:
            self._process(job)
        return len(jobs)

    def _process(self, job: MediaJobRecord) -> None:
        inbound = Inbound(job.channel, job.contact_ref, f"media:{job.id}")
        fetcher = self.fetchers.get(job.channel)
        try:
            if fetcher is None:
                raise SendError(f"channel {job.channel} cannot download media here")
            content = fetcher.fetch(job.ref, job.size, MAX_BYTES)
        except MediaTooLarge:
            self.turns.handle(_rejected(inbound, "too_large"))
            self._finish(job, "failed", "too large")
            return
        except SendError as error:
            if MEDIA.gives_up(job.attempts, permanent=error.permanent):
                self.turns.handle(_rejected(inbound, "unreadable"))
                self._finish(job, "failed", str(error))
            else:
                with self.database.session_scope() as session:
                    MediaJobRepository(session, self.cipher).retry(
                        job.id, MEDIA.retry_at(job.attempts, self.clock()), str(error))
            return
        receive_document(self.turns, self.store, inbound, content)
        self._finish(job, "done", None)

    def _finish(self, job: MediaJobRecord, status: str, error: str | None) -> None:
        with self.database.session_scope() as session:
            MediaJobRepository(session, self.cipher).finish(job.id, status, self.clock(), error)


def _rejected(inbound: Inbound, reason: str) -> Inbound:
    return Inbound(inbound.channel, inbound.contact_ref, inbound.provider_id, kind="event",
                   payload=SystemEvent.DOCUMENT_REJECTED, meta=(("reason", reason), ("advice", ADVICE.get(reason, ""))))
