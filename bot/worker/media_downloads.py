"""Inbound media: the worker downloads what applicants sent on a channel and feeds the document turn.

Downloading never happens while a webhook waits: the turn only records a media job. Here the job's
bytes are fetched through the channel (Telegram getFile, Twilio MediaUrl with basic auth), no more than the
largest file of its kind we accept. A document is checked, encrypted and handed to the conversation as
`document_ready` or `document_rejected`; a voice note (already answered) is stored encrypted for staff; a
contact card (WhatsApp sends it as a vCard file) is read and its turn runs now.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from bot.core.clock import utcnow
from bot.core.errors import MediaTooLarge, SendError
from bot.core.events import SystemEvent
from bot.core.messages import VCARD_TYPES, Inbound
from bot.service.document_checks import ADVICE, MAX_BYTES
from bot.service.turns import TurnService
from bot.service.uploads import MAX_AUDIO_BYTES, MAX_VCARD_BYTES, keep_audio, parse_vcard, receive_document
from storage.crypto import Cipher
from storage.db import Database
from storage.files import DocumentStore
from storage.media_jobs import MediaJobRecord, MediaJobRepository
from storage.queues import MEDIA

log = logging.getLogger(__name__)
LIMITS = {"audio": MAX_AUDIO_BYTES, "contact": MAX_VCARD_BYTES, "document": MAX_BYTES}


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
        kind = _kind_of(job.content_type)
        fetcher = self.fetchers.get(job.channel)
        try:
            if fetcher is None:
                raise SendError(f"channel {job.channel} cannot download media here")
            content = fetcher.fetch(job.ref, job.size, LIMITS[kind])
        except MediaTooLarge:
            self._failed(job, inbound, kind, "too_large", "too large")
            return
        except SendError as error:
            if MEDIA.gives_up(job.attempts, permanent=error.permanent):
                self._failed(job, inbound, kind, "unreadable", str(error))
            else:
                with self.database.session_scope() as session:
                    MediaJobRepository(session, self.cipher).retry(
                        job.id, MEDIA.retry_at(job.attempts, self.clock()), str(error))
            return
        if kind == "audio":  # the voice note was answered when it came; now staff can play it
            keep_audio(self.turns, self.store, job.message_id, content, job.content_type, None)
        elif kind == "contact":
            self.turns.handle(replace(inbound, kind="contact", contact=parse_vcard(content)))
        else:
            receive_document(self.turns, self.store, inbound, content)
        self._finish(job, "done", None)

    def _failed(self, job: MediaJobRecord, inbound: Inbound, kind: str, reason: str, error: str) -> None:
        """A file that cannot be had: a document's sender hears why; a voice note was answered already, and a
        contact card that cannot be read is answered like any contact."""
        if kind == "document":
            self.turns.handle(_rejected(inbound, reason))
        elif kind == "contact":
            self.turns.handle(replace(inbound, kind="contact"))
        self._finish(job, "failed", error)

    def _finish(self, job: MediaJobRecord, status: str, error: str | None) -> None:
        with self.database.session_scope() as session:
            MediaJobRepository(session, self.cipher).finish(job.id, status, self.clock(), error)


def _kind_of(content_type: str | None) -> str:
    """What a job downloads, by the type the channel reported: a voice note, a contact card or a document."""
    if (content_type or "").startswith("audio/"):
        return "audio"
    if content_type in VCARD_TYPES:
        return "contact"
    return "document"


def _rejected(inbound: Inbound, reason: str) -> Inbound:
    return Inbound(inbound.channel, inbound.contact_ref, inbound.provider_id, kind="event",
                   payload=SystemEvent.DOCUMENT_REJECTED, meta=(("reason", reason), ("advice", ADVICE.get(reason, ""))))
