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
from storage.files import DocumentStore


def receive_document(turns: TurnService, store: DocumentStore, inbound: Inbound, content: bytes) -> TurnReceipt:
    """Run the turn for one uploaded file; `inbound` names who sent it and its provider id."""
    check = check_document(content)
    if not check.ok or check.content_type is None:
        event = replace(inbound, kind="event", payload=SystemEvent.DOCUMENT_REJECTED,
                        meta=(*inbound.meta, ("reason", check.reason or ""), ("advice", check.advice or "")))
        return turns.handle(event)
    name = store.save(content)
    stored = StoredFile(name, check.content_type, len(content), hashlib.sha256(content).hexdigest(),
                        check.width, check.height, check.pages)
    outcome = turns.handle(replace(inbound, kind="event", payload=SystemEvent.DOCUMENT_READY), stored)
    if outcome.duplicate:
        store.delete(name)  # a redelivered upload: the first copy is the one on file
    return outcome
