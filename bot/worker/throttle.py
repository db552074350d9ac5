"""Send-rate limits per channel: an overall rate and a minimum gap per chat (Telegram: ~30/s, 1/s per chat).

The dispatcher asks how many sends fit in the next moment before claiming rows, then books each send; a
positive answer means "not before that many seconds". Pacing aims a little under the provider's rate, and a
sliding window makes overrun impossible however late or bunched the sends: a send may start only a full
second (plus a guard) after the *end* of the send `per_second` places before it, so between the provider's
counting of the two there is always more than a second, whatever the network did in between.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from datetime import datetime

WINDOW = 1.0  # seconds: the span in which providers count sends
GUARD = 0.005  # seconds: clock granularity and drift between our clock and the provider's


class Throttle:
    def __init__(self, per_second: float, per_chat_interval: float = 0.0, remember_chats: int = 10000,
                 margin: float = 0.01) -> None:
        self.interval = 1.0 / (per_second * (1.0 - margin))
        self.per_chat_interval = per_chat_interval
        self._next_free = 0.0
        # When each of the last `per_second` sends may have reached the provider at the latest: its booking,
        # raised to the moment it returned by `finished`.
        self._window: deque[float] = deque(maxlen=max(1, math.floor(per_second)))
        self._chats: OrderedDict[str, float] = OrderedDict()
        self._remember = remember_chats
        self._lock = threading.Lock()

    def capacity(self, now: datetime, horizon: float) -> int:
        """How many sends (to distinct chats) the overall pace allows from `now` to `horizon` seconds later."""
        moment = now.timestamp()
        with self._lock:
            start = max(self._overall_free(), moment)
        if start > moment + horizon:
            return 0
        return math.floor((moment + horizon - start) / self.interval) + 1

    def seconds_until_free(self, now: datetime) -> float:
        """Seconds before the overall pace allows the next send (0 when it does now)."""
        with self._lock:
            return max(self._overall_free() - now.timestamp(), 0.0)

    def chat_wait(self, chat: str, now: datetime) -> float:
        """Seconds before `chat` may get another message (0 when it may now)."""
        with self._lock:
            return max(self._chats.get(chat, 0.0) - now.timestamp(), 0.0)

    def reserve(self, chat: str, now: datetime) -> float:
        """Book a send slot for `chat` now, or return how many seconds to wait before trying again."""
        moment = now.timestamp()
        with self._lock:
            chat_free = self._chats.get(chat, 0.0)
            wait = max(self._overall_free() - moment, chat_free - moment, 0.0)
            if wait > 0:
                return wait
            # A sender late by up to one interval keeps its schedule (a claim or a commit in between must not
            # slow the whole broadcast); later than that it starts afresh, so it never catches up in a burst.
            on_schedule = moment - self._next_free < self.interval
            self._next_free = (self._next_free if on_schedule else moment) + self.interval
            self._window.append(moment)
            self._chats[chat] = moment + self.per_chat_interval
            self._chats.move_to_end(chat)
            while len(self._chats) > self._remember:
                self._chats.popitem(last=False)
            return 0.0

    def finished(self, now: datetime) -> None:
        """The send booked last has returned (sent or not): the provider counted it by `now` at the latest.

        One thread sends per throttle (the worker's dispatcher), so the send booked last is the one that ended.
        """
        with self._lock:
            if self._window:
                self._window[-1] = max(self._window[-1], now.timestamp())

    def _overall_free(self) -> float:
        full = len(self._window) == self._window.maxlen
        return max(self._next_free, self._window[0] + WINDOW + GUARD if full else 0.0)
