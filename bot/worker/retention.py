"""Retention, run by the worker: documents of finished cases and abandoned enrollments do not stay forever,
and contacts erased at their request disappear once told. Logs counts only, never who."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from storage.crypto import Cipher
from storage.db import Database
from storage.files import DocumentStore
from storage.retention import delete_finished_case_documents, drop_failed_deliveries, purge_abandoned_conversations
from storage.rights import purge_erased_contacts

log = logging.getLogger(__name__)


class RetentionJob:
    def __init__(self, database: Database, cipher: Cipher, store: DocumentStore, *, document_days: int = 90,
                 abandoned_days: int = 30, clock: Callable[[], datetime] = utcnow) -> None:
        self.database, self.cipher, self.store, self.clock = database, cipher, store, clock
        self.document_days, self.abandoned_days = document_days, abandoned_days

    def run_once(self) -> int:
        now = self.clock()
        with self.database.session_scope() as session:
            erased = purge_erased_contacts(session)
            documents = delete_finished_case_documents(session, self.store, now - timedelta(days=self.document_days))
            abandoned = purge_abandoned_conversations(session, self.cipher, self.store,
                                                      now - timedelta(days=self.abandoned_days), now)
            # Deliveries whose turn kept failing are kept for a while for diagnosis, not for ever.
            set_aside = drop_failed_deliveries(session, now - timedelta(days=self.abandoned_days))
        if erased or documents or abandoned or set_aside:
            log.info("retention: %d erased contacts removed, %d documents of finished cases deleted, "
                     "%d abandoned conversations purged, %d failed deliveries dropped", erased, documents,
                     abandoned, set_aside)
        return 0  # housekeeping never keeps the worker from resting
