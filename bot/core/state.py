"""The dialog state of one conversation, as the engine and storage exchange it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class DialogState:
    """Where a conversation stands in the dialog: the engine changes it, storage loads it and saves it back.

    A bottom-layer type because both the pure engine and storage speak it, and neither may import the other.
    """

    flow: str = ""
    state: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    locale: str = "es_MX"
    owner: str = "bot"
    misses: int = 0
    updated_at: datetime | None = None
