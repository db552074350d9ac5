"""The outbox dispatcher: sends queued replies in order per conversation, retrying what can be retried.

A message stays queued in the database until a send succeeds, so a crash at any point loses no reply;
several dispatchers can run against PostgreSQL because claims skip rows another one holds.

The providers are 50–200 ms away, so one send at a time cannot reach their rate limits: inside the worker
the dispatcher sends concurrently, on a bounded pool of threads sized from the rate limits and the round
trip it observes. Order per conversation holds because the claim query only ever hands out the oldest
unsent message of a conversation, and only once the one before it is recorded: one message per chat is
in flight. A sender that has just recorded a message claims the next bubble of the same answer in the
same transaction and goes on, so a 3-message answer costs three round trips and no polling in between; the
chat's next answer, queued later, waits its turn in line like everyone's (going on with it let quick
applicants jump ahead of those who had waited longer).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.channels import Sender
from bot.core.clock import utcnow
from bot.core.errors import SendError
from bot.core.messages import Outbound
from bot.core.metrics import SEND_FAILURES, SENT
from bot.worker.joining import MOST_JOINED, joinable, joinable_run, joined
from bot.worker.throttle import Throttle
from storage.conversations import ContactRepository
from storage.crypto import Cipher
from storage.db import OUTAGE_ERRORS, Database
from storage.messages import MessageRepository, OutboxItem
from storage.queues import OUTBOX

log = logging.getLogger(__name__)

PACING_HORIZON = 0.5  # seconds of a rate limit's sends claimed at once by a pass that waits for its sends
BACKGROUND_HORIZON = 0.25  # the same for the worker's concurrent sender: a reply never queues behind more
SHORT_WAIT = 1.0  # a claimed message waits this long at most for its slot; longer, it is put back for later
ASSUMED_ROUND_TRIP = 0.2  # seconds, for sizing the pool before the first send has been timed
RECORDING = 0.1  # seconds a sender may need to record an outcome on a busy database
MIN_SLOTS = 4
# A reply due this long ago and still unsent means the rate is behind (claims follow it within a pass), so an
# answer's bubbles go joined: each sent apart would take a slot a waiting applicant needs.
CONTENDED_AFTER = 0.5  # seconds

Outcome = tuple[str, str | None, float | None]


@dataclass(frozen=True, slots=True)
class _Step:
    """What one send left: the conversation's next message, to send now (None: the sender is done), and
    whether it leaves work the outbox loop must look at: a next message it did not go on to, or a retry or
    deferral due sooner than the loop may look again."""

    following: OutboxItem | None
    loose_ends: bool


class Dispatcher:
    """Claims due outbox rows and hands each to its channel's sender.

    `stale_claim` (OUTBOX_CLAIM_TIMEOUT) replaces the outbox policy's time after which a claim is a dead
    worker's. `concurrency` (DISPATCH_CONCURRENCY) bounds the sends in flight at once; with 1 every send
    runs in the caller's thread. `run_once()` waits for the sends it started, unless the worker loop has
    called `run_in_background`, after which it only starts them and reports those that have ended.
    """

    def __init__(self, database: Database, cipher: Cipher, senders: Mapping[str, Sender],
                 clock: Callable[[], datetime] = utcnow, batch: int = 50,
                 throttles: Mapping[str, Throttle] | None = None, stale_claim: timedelta | None = None,
                 sleep: Callable[[float], None] = time.sleep, concurrency: int = 1) -> None:
        self.policy = OUTBOX if stale_claim is None else replace(OUTBOX, stale_after=stale_claim)
        # Taking over a dead worker's claims is a write; a few times a minute is plenty (and on SQLite
        # every write waits for the single writer).
        stale = self.policy.stale_after
        self._recovery_every = min(15.0, stale.total_seconds() / 2) if stale is not None else 15.0
        self._next_recovery = 0.0
        self._throttled_for = 0.0
        self.database = database
        self.cipher = cipher
        self.senders = senders
        self.clock = clock
        self.sleep = sleep
        self.batch = batch
        self.throttles = throttles or {}
        self.concurrency = max(1, concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: set[Future[None]] = set()
        self._pending: Counter[str] = Counter()  # claimed, not yet booked with the throttle, per channel
        self._sending: set[int] = set()  # messages claimed by this dispatcher's senders, not yet recorded
        self._ended = 0  # messages handled by senders since the last pass
        # The last pass claimed all it was allowed (slots, a channel's rate): more may be due, and the end of a
        # send, which frees a slot, is worth another pass.
        self._saturated = False
        self._lock = threading.Lock()
        self._notify: Callable[[], None] | None = None

    # -- the worker's side -------------------------------------------------------------------------
    def run_in_background(self, notify: Callable[[], None]) -> None:
        """From now on `run_once` starts sends without waiting; `notify` is called whenever one ends."""
        self._notify = notify

    def close(self) -> None:
        """Wait for the sends in flight (their outcome must be recorded) and stop the pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def slots(self) -> int:
        """How many sends to keep in flight: each channel's rate × its round trip, with headroom, bounded."""
        if self.concurrency == 1:
            return 1
        if not self.throttles:
            return self.concurrency
        needed = 0.0
        for throttle in self.throttles.values():
            round_trip = throttle.round_trip()
            # A slot is held for the round trip and for recording the outcome (a commit, which waits its turn).
            needed += throttle.per_second * ((ASSUMED_ROUND_TRIP if round_trip is None else round_trip) + RECORDING)
        return max(min(MIN_SLOTS, self.concurrency), min(self.concurrency, math.ceil(needed * 1.5) + 2))

    def run_once(self) -> int:
        """Send what is due now; return how many messages were handled (started, or ended since last time).

        In the background (see `run_in_background`) only those started count: a send that ended has already
        called for this pass, which took its slot into account.
        """
        ended = self._collect()
        if self._notify is not None:
            ended = 0  # in the background only the sends started count (see above)
        inline = self.concurrency == 1 and self._notify is None  # one after another in this thread, as claimed
        free = self.batch if inline else self.slots() - len(self._in_flight)
        if free <= 0:
            self._saturated = True
            return ended
        recover = time.monotonic() >= self._next_recovery
        if recover:
            self._next_recovery = time.monotonic() + self._recovery_every
        now = self.clock()
        # Claim no more than each rate limit lets go soon: a row claimed only to be put back costs two writes.
        horizon = BACKGROUND_HORIZON if self._notify else PACING_HORIZON
        with self._lock:
            limits = {channel: max(0, throttle.capacity(now, horizon) - self._pending[channel])
                      for channel, throttle in self.throttles.items()}
        if not recover and self._all_paced_out(limits):
            # Nothing may go before the pace frees a slot: a claim now would only take the database's lock.
            self._throttled_for = min(throttle.seconds_until_free(now) for throttle in self.throttles.values())
            self._saturated = True
            return ended
        if not recover and self.database.single_writer and not self._any_due(now):
            self._throttled_for, self._saturated = 0.0, False
            return ended
        with self.database.session_scope() as session:
            items = MessageRepository(session, self.cipher).claim_due(
                now, min(self.batch, free), stale_after=self.policy.stale_after, recover=recover, limits=limits,
                keep=self._sending_ids())
        self._throttled_for = 0.0 if items else min(
            (self.throttles[channel].seconds_until_free(now) for channel, room in limits.items() if room == 0),
            default=0.0)
        claimed = Counter(item.channel for item in items)
        self._saturated = (len(items) >= min(self.batch, free)
                           or any(claimed[channel] >= room for channel, room in limits.items()))
        # Replies before broadcasts, unpaced channels first, so pacing never holds up what need not wait.
        items.sort(key=lambda item: (not item.urgent, item.channel in self.throttles))
        if inline:
            for item in items:
                self._deliver(item, follow=False)
            return len(items) + ended
        with self._lock:
            self._pending.update(item.channel for item in items if item.channel in self.throttles)
            self._sending.update(item.id for item in items)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="ptibot-send")
        started = [self._pool.submit(self._work, item) for item in items]
        self._in_flight.update(started)
        if self._notify is None:  # a pass that waits: the tests' drain loops, `ptibot` commands
            for future in started:
                future.result()
            return self._collect()
        return len(items) + ended

    @property
    def saturated(self) -> bool:
        """Whether the last pass claimed all it was allowed: the rate or the sending slots are the limit."""
        return self._saturated

    def _all_paced_out(self, limits: Mapping[str, int]) -> bool:
        """Whether every configured channel is paced and its rate lets nothing more go soon."""
        return bool(limits) and all(room == 0 for room in limits.values()) and set(self.senders) <= set(limits)

    def seconds_until_due(self, ceiling: float) -> float:
        """How long the outbox can be left alone: until its next scheduled retry or paced message.

        Called after a pass that claimed nothing, so what is due already waits on something that wakes the
        loop by itself (a message of its chat in flight, whose end notifies; a deferred one before it, due
        later; the rate limit): the wait is until the next due time still to come, or the pace.
        """
        self._in_flight = {future for future in self._in_flight if not future.done()}
        if self._in_flight and len(self._in_flight) >= self.slots():
            return ceiling  # every slot is busy: the end of a send wakes the loop
        if self._throttled_for:  # the pace frees a slot sooner than anything else can fall due
            return min(ceiling, max(0.01, self._throttled_for))
        now = self.clock()
        with self.database.read_scope() as session:
            due = MessageRepository(session, self.cipher).next_due(after=now)
        if due is None:
            return ceiling
        return min(ceiling, max(0.01, (due - now).total_seconds()))

    def _any_due(self, now: datetime) -> bool:
        """Whether a claim could find anything, looked at without taking the one writer's turn (SQLite wakes
        the worker for every commit, its own too)."""
        with self.database.read_scope() as session:
            return MessageRepository(session, self.cipher).any_due(now)

    def _sending_ids(self) -> list[int]:
        with self._lock:
            return list(self._sending)

    def _collect(self) -> int:
        """Forget the sends that ended; how many messages were handled since the last call."""
        self._in_flight = {future for future in self._in_flight if not future.done()}
        with self._lock:
            ended, self._ended = self._ended, 0
        return ended

    def _work(self, item: OutboxItem) -> None:
        """One sender: this message, then its conversation's next ones while they may go now."""
        current: OutboxItem | None = item
        loose_ends = True
        try:
            while current is not None:
                step = self._deliver(current, follow=self._notify is not None, continuing=current is not item)
                following, loose_ends = step.following, step.loose_ends
                with self._lock:
                    self._ended += 1
                    self._sending.discard(current.id)
                    if following is not None:
                        self._sending.add(following.id)
                current = following
        except Exception:  # the pool's boundary: the claim goes stale and is taken over, nothing is lost
            log.exception("sender failed on message %s", item.id)
            with self._lock:
                self._sending.discard(current.id if current is not None else item.id)
        finally:
            # A slot is free again: worth a pass when the last one had to leave due messages behind, or when this
            # send left some (otherwise the pass would only take the database's lock to find nothing).
            if self._notify is not None and (loose_ends or self._saturated):
                self._notify()

    # -- one message -------------------------------------------------------------------------------
    def _pace(self, item: OutboxItem, throttle: Throttle, continuing: bool) -> bool:
        """Wait for the channel's next slot (it is near: claims follow capacity); False if the chat must wait."""
        chat = item.recipient.external_id
        ticket = throttle.line_up(item.urgent, item.due_at or self.clock(), continuing=continuing)
        try:
            while (wait := throttle.reserve(chat, self.clock(), urgent=item.urgent, ticket=ticket)) > 0:
                if throttle.chat_wait(chat, self.clock()) > 0 or wait > SHORT_WAIT:
                    with self.database.session_scope() as session:
                        MessageRepository(session, self.cipher).defer(item.id, self.clock() + timedelta(seconds=wait))
                    return False
                self.sleep(wait)
            return True
        finally:
            throttle.leave(ticket)
            self._booked(item)

    def _booked(self, item: OutboxItem) -> None:
        """A claimed message no longer waits for its slot: it is booked, sent unpaced, or put back."""
        with self._lock:
            if self._pending[item.channel] > 0:
                self._pending[item.channel] -= 1

    def _deliver(self, item: OutboxItem, *, follow: bool, continuing: bool = False) -> _Step:
        """Send one message and record the outcome; the conversation's next message when it may go now.

        `continuing`: the sender went on to it from the message before it, of the same answer.
        """
        sender = self.senders.get(item.channel)
        outcome: Outcome
        joined_ids: list[int]
        throttle = self.throttles.get(item.channel) if item.outbound.kind != "ack" else None
        if throttle is not None and not self._pace(item, throttle, continuing):
            return _Step(None, loose_ends=True)  # put back until its chat may have it
        if throttle is None:  # unpaced (an ack, or a channel without limits): it was counted as pending all the same
            self._booked(item)
        chat = item.recipient.external_id
        outbound, joined_ids = item.outbound, []
        if throttle is not None and throttle.join_bubbles and sender is not None:
            outbound, joined_ids = self._join_following(item, throttle)
        if sender is None:
            outcome = ("retry", f"channel {item.channel} is not configured", 60.0)
        else:
            try:
                result = sender.send(item.recipient, outbound)
                outcome = ("sent", result.provider_id, None)
            except SendError as error:
                if error.outcome in ("held", "suppressed"):
                    outcome = (error.outcome, str(error), None)
                elif self.policy.gives_up(item.attempts, permanent=error.permanent):
                    outcome = ("failed" if not error.permanent else "blocked", str(error), None)
                else:
                    outcome = ("retry", str(error), error.retry_after or self.policy.backoff(item.attempts))
                if error.retry_after and throttle is not None:
                    # A chat in the middle of a burst hit its own limit; otherwise the whole bot did.
                    throttle.rate_limited(chat, self.clock(), error.retry_after,
                                          whole_bot=not throttle.recently_sent(chat, self.clock()))
            except Exception as error:  # the dispatch boundary: a bug must not stop the queue
                log.exception("unexpected error sending message %s", item.id)
                outcome = ("retry", f"internal error: {type(error).__name__}", self.policy.backoff(item.attempts))
            finally:
                if throttle is not None:
                    throttle.finished(chat, self.clock())
        kind = outcome[0]
        (SENT.labels(item.channel) if kind == "sent" else SEND_FAILURES.labels(item.channel, kind)).inc(
            1 + len(joined_ids) if kind == "sent" else 1)
        # Going on is for answers: a broadcast message is alone in its conversation, and looking for a next one
        # would cost every reminder a query (anything that does follow is claimed by the next pass).
        go_on = (follow and item.urgent and kind == "sent"
                 and (throttle is None or throttle.chat_wait(chat, self.clock()) == 0))
        following = self._record(item, outcome, go_on, joined_ids)
        if joined_ids:
            with self._lock:
                self._sending.difference_update(joined_ids)
        settled = kind in ("sent", "held", "suppressed") and (following is not None or not item.followed)
        return _Step(following, loose_ends=not settled)

    def _join_following(self, item: OutboxItem, throttle: Throttle) -> tuple[Outbound, list[int]]:
        """The message to send for `item`: with the answer's next bubbles joined to it when they would not all
        go at once now, and the ids of those it carries (see `bot.worker.joining`).

        They would not when the chat has spent its burst, or when the channel's rate is behind (other
        applicants' replies have waited for it a while): each bubble sent apart would take a slot they need.
        """
        if not item.followed or not joinable(item.outbound, item.author) or item.outbound.buttons:
            return item.outbound, []
        now = self.clock()
        room = throttle.chat_room(item.recipient.external_id, now)
        with self.database.read_scope() as session:  # most answers go apart: looking takes no writer's turn
            messages = MessageRepository(session, self.cipher)
            run: list[tuple[int, Outbound]] = []
            for message_id, outbound, author in messages.following(item, now, MOST_JOINED):
                if not joinable(outbound, author):
                    break
                run.append((message_id, outbound))
            count = joinable_run(item.outbound, [outbound for _, outbound in run])
            ids = [message_id for message_id, _ in run[:count]]
            if not count or (count <= room and not self._contended(messages, throttle, item, now)):
                return item.outbound, []
        with self.database.session_scope() as session:  # they wait behind `item`: still queued, unless withdrawn
            if not MessageRepository(session, self.cipher).claim_following(ids, now):
                return item.outbound, []
        with self._lock:
            self._sending.update(ids)
        return joined([item.outbound, *(outbound for _, outbound in run[:count])]), ids

    @staticmethod
    def _contended(messages: MessageRepository, throttle: Throttle, item: OutboxItem, now: datetime) -> bool:
        """Whether other applicants' replies have been waiting a while for the channel's rate: it is behind.

        Those this worker has claimed stand in the throttle's line; the others are still queued.
        """
        in_line = throttle.oldest_waiting_reply()
        if in_line is not None and now.timestamp() - in_line > CONTENDED_AFTER:
            return True
        oldest = messages.oldest_waiting_reply(item.channel, now, item.conversation_id)
        return oldest is not None and (now - oldest).total_seconds() > CONTENDED_AFTER

    def _record(self, item: OutboxItem, outcome: Outcome, go_on: bool, joined_ids: list[int]) -> OutboxItem | None:
        """Store what the provider answered, waiting out a database outage rather than giving up.

        The message may already be with the provider: if its claim were left to go stale instead, the
        next worker would send it again. So this retries until the database answers (this sender can do
        nothing else meanwhile anyway). With `go_on`, the conversation's next message is claimed in the
        same transaction and returned.
        """
        pause = 0.5
        while True:
            try:
                return self._store_outcome(item, outcome, go_on, joined_ids)
            except OUTAGE_ERRORS as error:
                log.warning("database unavailable while recording message %s (%s); retrying in %.1fs", item.id,
                            type(error.orig).__name__, pause)
                self.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _store_outcome(self, item: OutboxItem, outcome: Outcome, go_on: bool,
                       joined_ids: list[int]) -> OutboxItem | None:
        """Record the outcome; bubbles that went joined with `item` share it when it was sent or parked, and
        otherwise go back to the queue as they were (the next try decides again whether to join them)."""
        now = self.clock()
        chat = item.recipient.external_id
        with self.database.session_scope() as session:
            messages = MessageRepository(session, self.cipher)
            kind, detail, delay = outcome
            if kind == "sent":
                messages.mark_sent(item.id, detail, now, chat=chat)
                for message_id in joined_ids:  # a provider id names one row: delivery receipts update the first
                    messages.mark_sent(message_id, None, now, chat=chat)
            elif kind in ("held", "suppressed"):
                for message_id in (item.id, *joined_ids):
                    messages.set_status(message_id, kind, detail or "", now)
                log.info("message %s %s: %s", item.id, kind, detail)
            elif kind == "retry":
                messages.mark_retry(item.id, detail or "", now + timedelta(seconds=delay or 0), now)
                log.warning("message %s will be retried in %.1fs: %s", item.id, delay, detail)
            else:
                messages.mark_failed(item.id, detail or "", now)
                if kind == "blocked":
                    ContactRepository(session, self.cipher).set_reachable(item.contact_id, False)
                log.warning("message %s failed for good: %s", item.id, detail)
            if kind not in ("sent", "held", "suppressed"):
                messages.defer_all(joined_ids, now)
            if not go_on:
                return None
            following = messages.claim_due(now, 1, recover=False, conversation_id=item.conversation_id,
                                           queued_by=item.queued_at)
        if following and following[0].channel in self.throttles:
            with self._lock:
                self._pending[following[0].channel] += 1
        return following[0] if following else None
