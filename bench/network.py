"""The loopback Bot API and Twilio fakes, a network away and strict about the providers' limits.

`tests/fakes` answer at once and limit nothing unless asked; a real provider is 50–200 ms away and answers
429 when a bot sends too fast. Here each call takes `round_trip` seconds (half before the fake sees the
request, half for the answer to come back, so a send is counted when it arrives, as the provider counts it),
and the limits are enforced at arrival:

- Telegram: at most `per_second` (30) sendMessage calls accepted in any second; per chat a token bucket
  of `chat_burst` (3) refilled at `chat_rate` (1) a second, with a tenth of a token of tolerance for the
  jitter of the round trip. A refused call gets 429 with `retry_after`, like the Bot API's flood control.
- Twilio: at most `per_second` messages accepted in any second per account (429, code 20429) and, when
  `pair_rate` is set, a token bucket per recipient (Meta's pair rate limit).

Every accepted send is also handed to `on_send(chat, arrived_at, final)` (`final`: the message carries a
keyboard, which ends an answer of the bot under test), so a load driver can wait for its answers.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import harness

harness.project_on_path()

from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402 - after the path is set
from tests.fakes.telegram_api import _error as telegram_error  # noqa: E402
from tests.fakes.twilio_api import FakeTwilioAPI, _Response  # noqa: E402
from tests.fakes.twilio_api import _error as twilio_error  # noqa: E402

DEFAULT_ROUND_TRIP = 0.1
TOLERANCE = 0.1  # of a token: a round trip's jitter can bring two sends of one chat a little closer

SendHook = Callable[[str, float, bool], None]


class _Limits:
    """A sliding one-second window overall, and a token bucket per chat (none when `chat_rate` is 0)."""

    def __init__(self, per_second: float, chat_rate: float, chat_burst: float) -> None:
        self.per_second, self.chat_rate, self.chat_burst = per_second, chat_rate, chat_burst
        self._recent: deque[float] = deque()
        self._chats: dict[str, tuple[float, float]] = {}  # chat -> (tokens, at)
        self.refused_overall = 0
        self.refused_chat = 0

    def admit(self, chat: str, now: float) -> float:
        """0 when the send is accepted (and counted), else the retry_after to answer."""
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if self.per_second and len(self._recent) >= self.per_second:
            self.refused_overall += 1
            return max(1.0, math.ceil(1.0 - (now - self._recent[0])))
        if self.chat_rate:
            tokens, at = self._chats.get(chat, (self.chat_burst, now))
            tokens = min(self.chat_burst, tokens + (now - at) * self.chat_rate)
            if tokens < 1.0 - TOLERANCE:
                self.refused_chat += 1
                return float(math.ceil((1.0 - tokens) / self.chat_rate))
            self._chats[chat] = (tokens - 1.0, now)
        self._recent.append(now)
        return 0.0


class SlowBotAPI(FakeTelegramAPI):
    """The Bot API `round_trip` seconds away, enforcing 30/s per bot and a burst-then-1/s bucket per chat."""

    def __init__(self, token: str, round_trip: float = DEFAULT_ROUND_TRIP, per_second: float = 30,
                 chat_rate: float = 1.0, chat_burst: float = 3, on_send: SendHook | None = None) -> None:
        super().__init__(expected_token=token)
        self.round_trip = round_trip
        self.limits = _Limits(per_second, chat_rate, chat_burst)
        self.on_send = on_send
        self.accepted = 0

    def __enter__(self) -> SlowBotAPI:
        self.start()
        return self

    def _handle(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        time.sleep(self.round_trip / 2)  # the request's way there
        answer = super()._handle(token, method, params)
        time.sleep(self.round_trip / 2)  # and the answer's way back
        return answer

    def _answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method != "sendMessage" or token != self.expected_token:
            return super()._answer(token, method, params)
        now = time.monotonic()
        chat = str(params.get("chat_id"))
        retry_after = self.limits.admit(chat, now)
        if retry_after:
            self.rejected_429 += 1
            return telegram_error(429, f"Too Many Requests: retry after {int(retry_after)}", int(retry_after))
        status, payload = super()._answer(token, method, params)
        if status == 200:
            self.accepted += 1
            if self.on_send is not None:
                self.on_send(chat, now, bool(params.get("reply_markup")))
        return status, payload

    def clear(self) -> None:
        """Forget recorded calls (a long run would otherwise keep every one)."""
        super().clear()


class SlowTwilioAPI(FakeTwilioAPI):
    """Twilio `round_trip` seconds away, enforcing the account's rate and, optionally, Meta's pair limit."""

    def __init__(self, round_trip: float = DEFAULT_ROUND_TRIP, per_second: float = 80, pair_rate: float = 0.0,
                 pair_burst: float = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.round_trip = round_trip
        self.limits = _Limits(per_second, pair_rate, pair_burst)
        self.accepted = 0
        self.arrivals: list[float] = []
        self._arrivals_lock = threading.Lock()

    def __enter__(self) -> SlowTwilioAPI:
        self.start()
        return self

    def _handle(self, method: str, path: str, params: dict[str, list[str]], authorization: str | None
                ) -> _Response | None:
        time.sleep(self.round_trip / 2)
        answer = super()._handle(method, path, params, authorization)
        time.sleep(self.round_trip / 2)
        return answer

    def _create_message(self, params: dict[str, list[str]]) -> _Response:
        now = time.monotonic()
        if self.limits.admit((params.get("To") or [""])[0], now):
            self.rejected_429 += 1
            return twilio_error(429, 20429)
        answer = super()._create_message(params)
        if answer.status < 300:
            self.accepted += 1
            with self._arrivals_lock:
                self.arrivals.append(now)
        return answer


class Arrivals:
    """What reached each chat, for a driver waiting for the end of the bot's answer (its keyboard message)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._by_chat: defaultdict[str, list[tuple[float, bool]]] = defaultdict(list)

    def __call__(self, chat: str, at: float, final: bool) -> None:
        with self._cond:
            self._by_chat[chat].append((at, final))
            self._cond.notify_all()

    def count(self, chat: str) -> int:
        with self._cond:
            return len(self._by_chat[chat])

    def wait_answer(self, chat: str, seen: int, timeout: float) -> list[tuple[float, bool]] | None:
        """The messages that reached `chat` after the first `seen`, up to and including a final one; None
        when no final one came within `timeout` seconds."""
        def ended() -> bool:
            return any(final for _, final in self._by_chat[chat][seen:])

        with self._cond:
            if not self._cond.wait_for(ended, timeout):
                return None
            messages = self._by_chat[chat][seen:]
            last = next(index for index, (_, final) in enumerate(messages) if final)
            return messages[:last + 1]
