"""Uploaded documents, from any channel: check the bytes, store them encrypted, run the document turn.

The applicant hears "received" or specific retake advice; a rejected file is never kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from bot.core.events import SystemEvent
from bot.core.messages import Inbound
from bot.service.document_checks import check_document
from bot.service.turns import StoredFile, TurnReceipt, TurnService
from locales import N_
from storage.conversations import ContactRepository
from storage.enrollment import DocumentRepository
from storage.files import DocumentStore

ALREADY_ON_FILE = N_("We already have this exact file, thank you! There is no need to send it again.")
QUOTA_FULL = N_("We cannot keep more files from this chat: you have sent the most we accept. "
                "If something is missing, write *asesor* and a person will help you.")


def receive_document(turns: TurnService, store: DocumentStore, inbound: Inbound, content: bytes,
                     quota: int | None = None) -> TurnReceipt:
    """Run the turn for one uploaded file; `inbound` names who sent it and its provider id.

    The same file is kept once per applicant (a repeat is acknowledged, not stored again), and `quota` caps the
    bytes one applicant may have stored (the anonymous web chat's limit).
    """
    digest = hashlib.sha256(content).hexdigest()
    already, stored_bytes = _on_file(turns, inbound, digest)
    if already:
        return turns.handle(_rejected(inbound, "duplicate", ALREADY_ON_FILE))
    if quota is not None and stored_bytes + len(content) > quota:
        return turns.handle(_rejected(inbound, "quota", QUOTA_FULL))
    check = check_document(content)
    if not check.ok or check.content_type is None:
        return turns.handle(_rejected(inbound, check.reason or "", check.advice or ""))
    name = store.save(content)
    stored = StoredFile(name, check.content_type, len(content), digest, check.width, check.height, check.pages)
    outcome = turns.handle(replace(inbound, kind="event", payload=SystemEvent.DOCUMENT_READY), stored)
    if outcome.duplicate:
        store.delete(name)  # a redelivered upload: the first copy is the one on file
    return outcome


def _rejected(inbound: Inbound, reason: str, advice: str) -> Inbound:
    return replace(inbound, kind="event", payload=SystemEvent.DOCUMENT_REJECTED,
                   meta=(*inbound.meta, ("reason", reason), ("advice", advice)))


def _on_file(turns: TurnService, inbound: Inbound, digest: str) -> tuple[bool, int]:
    """Whether the sender already has this file on record, and the bytes they have stored."""
    with turns.database.session_scope() as session:
        contact = ContactRepository(session, turns.cipher).find(inbound.channel, inbound.contact_ref)
        return DocumentRepository(session).on_file(contact.id, digest) if contact else (False, 0)
