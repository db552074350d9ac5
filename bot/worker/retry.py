"""When to try again after a failure: exponential backoff with full jitter, shared by every queue."""

from __future__ import annotations

import random
from collections.abc import Callable

BASE_DELAY = 2.0
MAX_DELAY = 600.0


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: 2 s, 4 s, 8 s … capped at 10 minutes."""
    ceiling = min(MAX_DELAY, BASE_DELAY * (2 ** attempts))
    return ceiling / 2 + rng() * ceiling / 2
