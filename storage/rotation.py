"""Key rotation: re-encrypt every encrypted column and document file under the newest key.

Keyed hashes (contacts' channel ids, CURP and phone search, the inbound queue's chat key) come from SECRET_KEY,
not from these keys, so they stay as they are.

MultiFernet.rotate is idempotent, so the job commits in batches and can simply be run again after an
interruption; once it has finished, older keys can be removed from DATA_ENCRYPTION_KEYS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from storage.crypto import Cipher
from storage.db import Database
from storage.files import DocumentStore
from storage.models import (
    Case,
    Contact,
    Conversation,
    Document,
    DocumentReading,
    Email,
    MediaJob,
    Message,
    QueuedInbound,
)

ENCRYPTED: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (Contact, ("external_ref", "display_name", "phone")), (Conversation, ("data",)), (Message, ("body",)),
    (Case, ("data",)), (MediaJob, ("ref",)), (Email, ("message",)), (QueuedInbound, ("body",)),
    (DocumentReading, ("fields",)),
)


def rotate_keys(database: Database, cipher: Cipher, store: DocumentStore, batch: int = 500,
                progress: Callable[[str, int], None] = lambda table, count: None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for model, columns in ENCRYPTED:
        done, last_id = 0, 0
        while True:
            with database.session_scope() as session:
                rows = session.execute(select(model).where(model.id > last_id).order_by(model.id).limit(batch)
                                       ).scalars().all()
                for row in rows:
                    values = {c: cipher.rotate(getattr(row, c)) for c in columns if getattr(row, c) is not None}
                    if values:
                        session.execute(update(model).where(model.id == row.id).values(**values))
                if not rows:
                    break
                last_id, done = rows[-1].id, done + len(rows)
        counts[model.__tablename__] = done
        progress(model.__tablename__, done)
    with database.session_scope() as session:
        names = list(session.execute(select(Document.storage_name)).scalars())
    for name in names:
        try:
            store.rotate(name)
        except FileNotFoundError:
            continue  # erased meanwhile
    counts["document_files"] = len(names)
    progress("document_files", len(names))
    return counts
