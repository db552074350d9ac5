"""Send-rate limits per channel: an overall pace per bot and a token bucket per chat, safe for concurrent sends.

Telegram's rule (core.telegram.org/bots/faq, "My bot is hitting limits"): about 30 messages a second
overall, and "in a particular chat, avoid sending more than one message per second. We may allow short
bursts that go over this limit, but eventually you'll begin receiving 429 errors". So a chat gets a token
bucket (a burst of a few messages, then about one a second) instead of a fixed gap: a 3-message answer to
an applicant who was quiet for a few seconds goes out at once.

The overall pace spaces sends evenly a little under the provider's rate, and a sliding window makes a
burst impossible however the network bunches them: a send may start only a full second (plus a guard)
after the provider can have counted the send `per_second` places before it. The provider counts a send when
its request arrives: the old one no later than its answer came back less the way back, the new one no
sooner than the way there after it leaves; the two ways together are taken as the shortest round trip
ever seen (the time a send takes with no queueing anywhere; the last few, slowed by a busy machine, would
overstate it and let a rare 429 through).

A 429 stops the chat, or the whole bot for a provider-wide one, for exactly the `retry_after` it named.

The sends waiting for a slot stand in line: the overall pace serves them in turn, interactive replies before
broadcasts and, among each, the one due earliest first (so a broadcast yields while a reply waits). Without a
line, whichever sender woke first took the slot: with ten waiting, an applicant could lose it again and again
to answers queued after theirs.

All times are seconds (datetimes are converted at the edge), so the pacing is testable with a fake clock.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime

WINDOW = 1.0  # seconds: the span in which providers count sends
GUARD = 0.005  # seconds: clock granularity and drift between our clock and the provider's
SPREAD_SAMPLES = 64  # round trips remembered: the typical one
UNLIMITED = 2**31  # what `chat_room` says of a channel without a per-chat limit


class TokenBucket:
    """`burst` tokens, refilled at `rate` a second; a send takes one. Times are plain seconds."""

    __slots__ = ("rate", "burst", "tokens", "at", "blocked_until")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, now
        self.blocked_until = 0.0

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now

    def wait(self, now: float) -> float:
        """Seconds before a token is there (0 when one is there now)."""
        self._refill(now)
        blocked = self.blocked_until - now
        short = (1.0 - self.tokens) / self.rate if self.tokens < 1.0 else 0.0
        return max(blocked, short, 0.0)

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0

    def landed(self, now: float) -> None:
        """The send that took the last token has returned: the provider counted it by `now` at the latest, so
        the refill counts from then (a late arrival cannot bring two sends closer than the bucket allows)."""
        self.at = max(self.at, now)

    def block(self, until: float) -> None:
        """Nothing before `until` (a 429's retry_after); one send is allowed right at `until`."""
        self.blocked_until = max(self.blocked_until, until)
        self.tokens = min(self.tokens, 1.0)


@dataclass(frozen=True, slots=True)
class _Waiting:
    """A send standing in line: served in the order of `place` (a broadcast?, due since, ticket)."""

    place: tuple[bool, float, int]
    starts_answer: bool  # an applicant's first message of an answer, not the rest of one they are getting


@dataclass(slots=True)
class _Send:
    chat: str
    start: float
    end: float | None = None


class Throttle:
    """One bot's limits on one channel.

    Args:
        per_second: the provider's overall rate for this bot or account (Telegram 30, WhatsApp
            `WHATSAPP_SEND_RATE`).
        chat_rate: sustained messages per second to one chat (Telegram 1; WhatsApp's pair limit 1/6);
            0 means no per-chat limit.
        chat_burst: messages one chat may get at once after a quiet spell (Telegram 3).
        margin: how far under the provider's overall rate to aim. The per-chat rate is kept exactly, but a
            chat's bucket refills only from the moment its last send returned (see `TokenBucket.landed`).
        join_bubbles: an answer's bubbles may go as one message when the chat's limit would make them trickle
            in (see `bot.worker.joining`).
    """

    def __init__(self, per_second: float, chat_rate: float = 0.0, chat_burst: float = 1.0,
                 remember_chats: int = 10000, margin: float = 0.01, per_chat_interval: float = 0.0,
                 join_bubbles: bool = False) -> None:
        self.per_second = per_second
        self.join_bubbles = join_bubbles
        self.interval = 1.0 / (per_second * (1.0 - margin))
        # `per_chat_interval` (a fixed gap) is the token bucket of one token refilled every that many seconds.
        self.chat_rate = chat_rate or (1.0 / per_chat_interval if per_chat_interval else 0.0)
        self.chat_burst = max(1.0, chat_burst)
        self._next_free = 0.0
        self._blocked_until = 0.0
        # The last `per_second` sends (start, and end once returned): no send starts within a second of the
        # one `per_second` places before it.
        self._window: deque[_Send] = deque(maxlen=max(1, math.floor(per_second)))
        self._in_flight: dict[str, _Send] = {}  # one message in flight per chat
        self._round_trips: deque[float] = deque(maxlen=SPREAD_SAMPLES)
        self._shortest: float | None = None  # the shortest round trip ever seen
        self._chats: OrderedDict[str, TokenBucket] = OrderedDict()
        self._remember = remember_chats
        self._line: dict[int, _Waiting] = {}  # by ticket
        self._tickets = itertools.count()
        self._lock = threading.Lock()

    # -- questions ---------------------------------------------------------------------------------
    def capacity(self, now: datetime | float, horizon: float) -> int:
        """How many sends (to distinct chats) the overall pace allows from `now` to `horizon` seconds later."""
        moment = _seconds(now)
        with self._lock:
            start = max(self._overall_free(moment), moment)
        if start > moment + horizon:
            return 0
        return math.floor((moment + horizon - start) / self.interval) + 1

    def seconds_until_free(self, now: datetime | float) -> float:
        """Seconds before the overall pace allows the next send (0 when it does now)."""
        moment = _seconds(now)
        with self._lock:
            return max(self._overall_free(moment) - moment, 0.0)

    def chat_wait(self, chat: str, now: datetime | float) -> float:
        """Seconds before `chat` may get another message (0 when it may now)."""
        moment = _seconds(now)
        with self._lock:
            bucket = self._chats.get(chat)
            return bucket.wait(moment) if bucket is not None else 0.0

    def chat_room(self, chat: str, now: datetime | float) -> int:
        """How many more messages `chat` may get at once, now (its bucket's whole tokens; 0 while it waits)."""
        moment = _seconds(now)
        with self._lock:
            bucket = self._chats.get(chat)
            if bucket is None:
                return math.floor(self.chat_burst) if self.chat_rate else UNLIMITED
            if bucket.wait(moment) > 0:
                return 0
            return math.floor(bucket.tokens) if math.isfinite(bucket.tokens) else UNLIMITED

    def oldest_waiting_reply(self) -> float | None:
        """Since when the longest-waiting answer standing in line for its first message has been due (None when
        none is waiting)."""
        with self._lock:
            return min((waiting.place[1] for waiting in self._line.values() if waiting.starts_answer), default=None)

    def round_trip(self) -> float | None:
        """The typical round trip of a send lately (the median of the last ones), None before any."""
        with self._lock:
            if not self._round_trips:
                return None
            ordered = sorted(self._round_trips)
            return ordered[len(ordered) // 2]

    # -- booking -----------------------------------------------------------------------------------
    def reserve(self, chat: str, now: datetime | float, *, urgent: bool = True, ticket: int | None = None) -> float:
        """Book a send to `chat` now, or return how many seconds to wait before asking again.

        With a `ticket` (see `line_up`) the send also waits for those ahead of it in line; without one, a reply
        goes first and a broadcast (`urgent=False`) waits for every reply in line.
        """
        moment = _seconds(now)
        with self._lock:
            bucket = self._chat(chat, moment)
            free = max(self._overall_free(moment) - moment, 0.0)
            wait = max(free, bucket.wait(moment))
            ahead = self._ahead(ticket, urgent)
            if ahead and wait == free:  # only the pace holds it: its turn comes one interval after each of theirs
                wait = free + ahead * self.interval
            if wait > 0:
                return wait
            # A sender late by up to one interval keeps its schedule (a claim or a commit in between must not
            # slow the whole broadcast); later than that it starts afresh, so it never catches up in a burst.
            on_schedule = moment - self._next_free < self.interval
            self._next_free = (self._next_free if on_schedule else moment) + self.interval
            send = _Send(chat, moment)
            self._window.append(send)
            self._in_flight[chat] = send
            bucket.take(moment)
            return 0.0

    def line_up(self, urgent: bool, since: datetime | float, *, continuing: bool = False) -> int:
        """A send starts waiting for a slot; its ticket for `reserve`. `since`: when its message fell due (was
        queued, or its retry's time came); `continuing`: it is the rest of an answer whose first message has gone."""
        with self._lock:
            ticket = next(self._tickets)
            self._line[ticket] = _Waiting((not urgent, _seconds(since), ticket), urgent and not continuing)
            return ticket

    def leave(self, ticket: int) -> None:
        """The send no longer waits: it was booked, or put back for later."""
        with self._lock:
            self._line.pop(ticket, None)

    def finished(self, chat: str, now: datetime | float) -> None:
        """The send booked for `chat` has returned (sent or not): the provider counted it by `now`."""
        moment = _seconds(now)
        with self._lock:
            send = self._in_flight.pop(chat, None)
            if send is not None:
                send.end = max(moment, send.start)
                self._round_trips.append(send.end - send.start)
                self._shortest = min(self._shortest or math.inf, send.end - send.start)
                bucket = self._chats.get(chat)
                if bucket is not None:
                    bucket.landed(send.end)

    def rate_limited(self, chat: str, now: datetime | float, retry_after: float, *, whole_bot: bool) -> None:
        """A 429: the chat, or every chat of the bot, waits exactly `retry_after` seconds from `now`."""
        moment = _seconds(now)
        with self._lock:
            self._chat(chat, moment).block(moment + retry_after)
            if whole_bot:
                self._blocked_until = max(self._blocked_until, moment + retry_after)

    def recently_sent(self, chat: str, now: datetime | float, within: float = WINDOW) -> bool:
        """Whether `chat` got a message in the last `within` seconds before the one in flight."""
        moment = _seconds(now)
        with self._lock:
            current = self._in_flight.get(chat)
            return any(send.chat == chat and send is not current and moment - send.start <= within
                       for send in self._window)

    # -- inside the lock ---------------------------------------------------------------------------
    def _ahead(self, ticket: int | None, urgent: bool) -> int:
        """How many waiting sends go before this one."""
        if ticket is None:
            return 0 if urgent else sum(1 for waiting in self._line.values() if not waiting.place[0])
        mine = self._line.get(ticket)
        if mine is None:
            return 0
        return sum(1 for waiting in self._line.values() if waiting.place < mine.place)

    def _chat(self, chat: str, moment: float) -> TokenBucket:
        bucket = self._chats.get(chat)
        if bucket is None:
            bucket = TokenBucket(self.chat_rate or math.inf, self.chat_burst if self.chat_rate else math.inf, moment)
            self._chats[chat] = bucket
            while len(self._chats) > self._remember:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat)
        return bucket

    def _overall_free(self, moment: float) -> float:
        free = max(self._next_free, self._blocked_until)
        if len(self._window) == self._window.maxlen:
            oldest = self._window[0]
            # The provider counted the send `per_second` places back by its end less the way back, and counts
            # this one no sooner than the way there after its start: the shortest round trip is credited.
            # Until a round trip is timed, nothing is; a send still in flight holds the window.
            shortest = self._shortest or 0.0
            counted_by = (oldest.end if oldest.end is not None else max(moment, oldest.start + shortest)) - shortest
            free = max(free, max(counted_by, oldest.start) + WINDOW + GUARD)
        return free


def _seconds(now: datetime | float) -> float:
    return now.timestamp() if isinstance(now, datetime) else float(now)


# The providers' limits, with where they are stated.
TELEGRAM_PER_SECOND = 30  # core.telegram.org/bots/faq: "no more than 30 messages per second or so"
TELEGRAM_CHAT_RATE = 1.0  # same FAQ: "in a particular chat, avoid sending more than one message per second"
TELEGRAM_CHAT_BURST = 3  # "We may allow short bursts": the size is not stated; 3 is an answer of 3 messages
# Meta's pair rate limit (error 131056): about 1 message every 6 seconds from a business number to one user,
# bursts allowed "but borrow against future quota" (Meta's Cloud API throughput page, as quoted in
# dualhook.com/docs/whatsapp-error-131056 and learn.doubletick.io, "roughly 10 messages per minute"). The burst
# size is not stated: 10 is ours. Twilio's documented default throughput per WhatsApp sender is 80 messages
# a second (twilio.com/docs/whatsapp/best-practices-and-faqs); the sandbox number allows one every 3 s.
WHATSAPP_PAIR_RATE = 1 / 6
WHATSAPP_PAIR_BURST = 10


def telegram_throttle() -> Throttle:
    """One Telegram bot's limits: 30 messages a second overall; per chat a burst of 3, then one a second."""
    return Throttle(per_second=TELEGRAM_PER_SECOND, chat_rate=TELEGRAM_CHAT_RATE, chat_burst=TELEGRAM_CHAT_BURST,
                    join_bubbles=True)


def whatsapp_throttle(per_second: float) -> Throttle:
    """One WhatsApp sender's limits: the account rate (WHATSAPP_SEND_RATE) and Meta's per-user pair limit."""
    return Throttle(per_second=per_second, chat_rate=WHATSAPP_PAIR_RATE, chat_burst=WHATSAPP_PAIR_BURST,
                    join_bubbles=True)
