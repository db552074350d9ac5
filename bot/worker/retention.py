"""Retention, run by the worker: documents of finished cases and abandoned enrollments do not stay forever,
and contacts erased at their request disappear once told. Logs counts only, never who."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from bot.core.clock import utcnow
from storage.crypto import Cipher
from storage.db import Database
from storage.files import DocumentStore
from storage.models import Case, Conversation, Document, Message, QueuedInbound
from storage.rights import FINAL_STATUSES, purge_erased_contacts

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
            finished = select(Case.id).where(Case.status.in_(FINAL_STATUSES),
                                             Case.updated_at < now - timedelta(days=self.document_days))
            old_documents = list(session.execute(select(Document).where(Document.case_id.in_(finished))).scalars())
            for document in old_documents:
                self.store.delete(document.storage_name)
                session.delete(document)
            has_case = select(Case.id).where(Case.conversation_id == Conversation.id).exists()
            abandoned = list(session.execute(select(Conversation.id).where(
                ~has_case, Conversation.state != "", Conversation.updated_at < now - timedelta(days=self.abandoned_days)
            )).scalars())
            for conversation_id in abandoned:
                for document in session.execute(select(Document).where(
                        Document.conversation_id == conversation_id)).scalars():
                    self.store.delete(document.storage_name)
                    session.delete(document)
                session.execute(delete(Message).where(Message.conversation_id == conversation_id))
                session.execute(update(Conversation).where(Conversation.id == conversation_id).values(
                    data=self.cipher.encrypt_json({}), state="", flow="", history="[]", curp_hash=None,
                    phone_hash=None))
            # Deliveries whose turn kept failing are kept for a while for diagnosis, not for ever.
            set_aside = session.execute(delete(QueuedInbound).where(
                QueuedInbound.failed_at < now - timedelta(days=self.abandoned_days)))
            set_aside_count = int(getattr(set_aside, "rowcount", 0) or 0)
        if erased or old_documents or abandoned or set_aside_count:
            log.info("retention: %d erased contacts removed, %d documents of finished cases deleted, "
                     "%d abandoned conversations purged, %d failed deliveries dropped", erased, len(old_documents),
                     len(abandoned), set_aside_count)
        return 0  # housekeeping never keeps the worker from resting
