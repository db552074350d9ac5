"""What the worker read on a document, for the staff page beside it (issue 21): a template global, so the page's
view need not know about readings."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from bot.web.context import services_of
from locales import N_
from storage.document_readings import DocumentReadingRepository, ReadingRecord

FIELD_LABELS = {"curp": N_("CURP"), "rfc": N_("RFC"), "full_name": N_("Name"), "postal_code": N_("Postal code"),
                "issue_date": N_("Issue date"), "birth_date": N_("Birth date"), "regime": N_("Tax regime"),
                "address": N_("Address")}
OUTCOME_LABELS = {"match": N_("matches"), "partial": N_("partly matches"), "mismatch": N_("does not match"),
                  "unknown": N_("not compared"), "not_read": N_("not read"), "reading": N_("being read")}
NOTES = {"missing_words": N_("the document has more words (a second surname?)"),
         "extra_words": N_("the typed name has more words"), "too_old": N_("older than 3 months"),
         "unsure": N_("read with low confidence"), "not_typed": N_("not typed by the applicant")}


def document_reading(document_id: int) -> ReadingRecord | None:
    services = services_of(current_app)
    with services.database.session_scope() as session:
        return DocumentReadingRepository(session, services.cipher).for_document(document_id)


def documents_disagreeing(conversation_id: int) -> int:
    """For the review queue: documents waiting for review whose reading disagrees with the typed data."""
    services = services_of(current_app)
    with services.database.session_scope() as session:
        return DocumentReadingRepository(session, services.cipher).mismatches(conversation_id)


def init_app(app: Flask) -> None:
    globals_: dict[str, Any] = {"document_reading": document_reading, "documents_disagreeing": documents_disagreeing,
                                "reading_field_labels": FIELD_LABELS, "reading_outcome_labels": OUTCOME_LABELS,
                                "reading_notes": NOTES}
    app.jinja_env.globals.update(globals_)
