"""Typed events: what a turn reports to its caller, and what happens outside a conversation that a turn must hear.

Both are `StrEnum`s, so they are stored and compared as the plain strings they always were.
"""

from __future__ import annotations

from enum import StrEnum


class DialogEvent(StrEnum):
    """Reported by a turn (`DialogResult.events`); the turn service and storage act on them."""

    HANDOFF = "handoff"  # the applicant asked for a person
    NEEDS_REVIEW = "needs_review"  # the eligibility result needs an advisor
    OFFERED_HUMAN = "offered_human"  # three misses in a row
    BOT_ERROR = "bot_error"  # a message kept failing on our side
    RETURNED_TO_BOT = "returned_to_bot"
    LANGUAGE_CHANGED = "language_changed"
    DATA_ERASED = "data_erased"  # "borrar mis datos", confirmed
    DATA_ACCESS = "data_access"  # "mis datos"
    OPPOSITION = "opposition"  # "me opongo"


class SystemEvent(StrEnum):
    """Something stored outside the conversation happened; it runs a turn of its own (`Inbound.kind == "event"`)."""

    CASE_FILED = "case_filed"
    DOCUMENT_READY = "document_ready"
    DOCUMENT_REJECTED = "document_rejected"
    DOCUMENT_REQUESTED = "document_requested"  # staff asked for a document again
    DOCUMENT_DOUBT = "document_doubt"  # a document read by the worker disagrees with the typed data (issue 21)
    RESUMED = "resumed"  # staff handed the conversation back
    TURN_FAILED = "turn_failed"


# Events that put a conversation in the staff queue, with the reason shown there.
WAITING_EVENTS = (DialogEvent.HANDOFF, DialogEvent.NEEDS_REVIEW, DialogEvent.OFFERED_HUMAN, DialogEvent.BOT_ERROR)
