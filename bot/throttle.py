"""Send-rate limits per channel: an overall rate and a minimum gap per chat (Telegram: ~30/s, 1/s per chat).

The dispatcher asks before each send; a positive answer means "not before that many seconds", and the
message is rescheduled without counting an attempt, so other chats are not held up behind it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime


class Throttle:
    def __init__(self, per_second: float, per_chat_interval: float = 0.0, remember_chats: int = 10000) -> None:
        self.interval = 1.0 / per_second
        self.per_chat_interval = per_chat_interval
        self._next_free = 0.0
        self._chats: OrderedDict[str, float] = OrderedDict()
        self._remember = remember_chats
        self._lock = threading.Lock()

    def reserve(self, chat: str, now: datetime) -> float:
        """Book a send slot for `chat` now, or return how many seconds to wait before trying again."""
        moment = now.timestamp()
        with self._lock:
            chat_free = self._chats.get(chat, 0.0)
            wait = max(self._next_free - moment, chat_free - moment, 0.0)
            if wait > 0:
                return wait
            self._next_free = max(self._next_free, moment) + self.interval
            self._chats[chat] = moment + self.per_chat_interval
            self._chats.move_to_end(chat)
            while len(self._chats) > self._remember:
                self._chats.popitem(last=False)
            return 0.0
