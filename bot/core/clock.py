"""The clock: every timestamp the bot stores is timezone-aware UTC, taken here so tests can pin it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
