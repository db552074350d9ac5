"""Reading documents in the background (issue 21): each stored ID, tax certificate, CURP and proof of address is
read, compared with what the applicant typed, and the result kept for staff; a clear mismatch gets one question.

Reading takes about a second a page, so it never happens in a turn: the turn stores the document and this job
finds it afterwards. It runs on its own thread (`InBackground`) so OCR never delays the outbox. Logs carry counts
and timings, never what was read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.core.events import SystemEvent
from bot.dialog.engine import Engine
from bot.service.document_reading import DocumentRead, read_document
from flows.rules.document_fields import READABLE_SLOTS, compare, doubt, overall
from storage.conversations import ConversationRepository
from storage.crypto import Cipher, DecryptionError
from storage.db import Database
from storage.document_readings import DocumentReadingRepository, ReadingJob
from storage.files import DocumentStore
from storage.messages import MessageRepository

log = logging.getLogger(__name__)

RECENT = timedelta(days=14)  # documents older than this (stored before reading existed) are not read


class DocumentReader:
    """Claims unread documents, reads them, stores the comparison, and asks about a clear mismatch."""

    def __init__(self, database: Database, cipher: Cipher, store: DocumentStore, engine: Engine, *,
                 clock: Callable[[], datetime] = utcnow, on_queued: Callable[[], None] | None = None,
                 reader: Callable[..., DocumentRead] = read_document) -> None:
        self.database, self.cipher, self.store, self.engine = database, cipher, store, engine
        self.clock, self.on_queued, self.reader = clock, on_queued, reader

    def run_once(self, batch: int = 2) -> int:
        now = self.clock()
        with self.database.session_scope() as session:
            jobs = DocumentReadingRepository(session, self.cipher).claim(now, batch, READABLE_SLOTS, now - RECENT)
        asked = sum(self._read(job) for job in jobs)
        if asked and self.on_queued:
            self.on_queued()
        return len(jobs)

    def _read(self, job: ReadingJob) -> bool:
        now = self.clock()
        try:
            content: bytes | None = self.store.load(job.storage_name)
        except (FileNotFoundError, ValueError, DecryptionError):
            content = None  # erased meanwhile, or unreadable at rest: nothing to read
        read = self.reader(content, job.content_type, job.slot, self.engine.local_date(now)) if content \
            else DocumentRead()
        with self.database.session_scope() as session:
            conversations = ConversationRepository(session, self.cipher)
            state = conversations.lock_by_id(job.conversation_id)
            data = state.data if state else {}
            comparisons = compare(job.slot, read.fields, data, self.engine.local_date(now))
            outcome = overall(comparisons) if read.fields else "not_read"
            question = doubt(comparisons)
            still_held = (data.get("documents") or {}).get(job.slot) == job.document_id
            ask = (state is not None and question is not None and state.owner == "bot" and still_held
                   and not data.get("case") and state.state != "doc_doubt")
            if ask and state is not None and question is not None:
                turn = self.engine.run_event(state, SystemEvent.DOCUMENT_DOUBT, {
                    "slot": job.slot, "field": question.field, "found": question.found, "typed": question.typed},
                    now)
                conversations.save(job.conversation_id, turn.conversation, turn.events)
                _locale, channel = conversations.addressee(job.conversation_id)
                for reply in turn.replies:
                    MessageRepository(session, self.cipher).queue(
                        job.conversation_id, channel, replace(reply, kind="document_request"), now)
            DocumentReadingRepository(session, self.cipher).finish(
                job.id, outcome=outcome, method=read.method,
                fields={name: {"value": f.value, "confidence": f.confidence} for name, f in read.fields.items()},
                comparisons=[asdict(c) for c in comparisons], milliseconds=read.milliseconds, asked=ask, now=now)
        log.info("document read: slot=%s method=%s outcome=%s pages=%d ms=%d asked=%s", job.slot, read.method,
                 outcome, read.pages, read.milliseconds, ask)
        return ask


class InBackground:
    """Runs a slow job on a thread of its own, so the worker loop (and the outbox it sends) never waits for it.

    `run_once` only makes sure the thread is working and returns 0: the loop may rest; the thread drains the
    job until it finds nothing, then stops until the next wake-up.
    """

    def __init__(self, job: DocumentReader) -> None:
        self.job = job
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run_once(self) -> int:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._drain, name="ptibot-document-reading", daemon=True)
                self._thread.start()
        return 0

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread's current round (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _drain(self) -> None:
        try:
            while self.job.run_once():
                pass
        except Exception:  # the database may be restarting: the next wake-up tries again
            log.exception("document reading failed")
