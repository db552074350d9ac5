"""The background worker loop: the outbox dispatcher and the other jobs, woken when there is work.

It runs as a thread inside `ptibot serve` or alone as `ptibot worker`; several can run against
PostgreSQL because every job claims its rows with SKIP LOCKED or runs in one short transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from bot.worker.outbox import Dispatcher
from storage.wakeup import wakeup_for

log = logging.getLogger(__name__)

TURNS_PER_PASS = 50  # queued turns run before the turns thread looks at its stop flag again
# Every turn wakes the loop of the other jobs (media downloads, document reading, mail, reminders), but they
# need not look more often than this: each look is a transaction, and at 40 turns a second on PostgreSQL the
# media job's look alone took a tenth of the worker's time. A downloaded photo waits at most this much more.
JOBS_GAP = 0.2  # seconds
# Woken by a turn, they first let its replies be claimed and sent: on SQLite each look takes the one writer's
# turn, and a reply claimed after them waited for them.
JOBS_SETTLE = 0.05  # seconds
# While the rate (or every sending slot) is the limit, a claim pass only tops up what the sends since the last one
# freed, and each is a write: at 30 sends a second, a pass per send took a fifth of the worker's time, mostly
# to claim one row or none. Then passes come this far apart; what they claim waits for the rate anyway.
CLAIM_GAP = 0.05  # seconds
# Turns of different chats can run at once on PostgreSQL (each claims its chat's oldest delivery with SKIP
# LOCKED and locks its conversation), and a turn there spends most of its time waiting for the server's
# answers: a second thread does its work meanwhile (40 applicants at once: about 25 turns a second instead of
# 17–26, and a tighter tail). SQLite has one writer at a time: a second thread would only wait for it.
TURN_THREADS_POSTGRES = 2

class Job(Protocol):
    def run_once(self) -> int:
        """Do what is due now; return how much was handled (0 lets the loop rest)."""
        ...


class Periodic:
    """Runs a job at most every `interval` seconds: the scheduler need not scan on every outbox poll."""

    def __init__(self, job: Job, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.job, self.interval, self.clock = job, interval, clock
        self._next = 0.0

    def run_once(self) -> int:
        if self.clock() < self._next:
            return 0
        self._next = self.clock() + self.interval
        return self.job.run_once()




class Worker:
    """The dispatcher, the queued webhook turns and the other jobs, each in a thread of its own.

    Turns get their own thread so an applicant's message never waits behind a paced broadcast or a long
    scheduler pass; each turn that queues replies wakes the dispatcher. The dispatcher gets its own too, so
    a reply never waits for the scheduler either (a reminder day queues thousands of rows in one pass).
    `wake()` wakes all three; `wake_turns()` only the turns, `wake_sends()` the dispatcher and the other jobs.
    A thread woken for nothing takes the database's write lock (on SQLite, the one writer's) only to find
    nothing, while the turn or the send that had work waits for it.
    """

    def __init__(self, dispatcher: Dispatcher, poll_interval: float = 0.5, jobs: Sequence[Job] = (),
                 turns: Job | None = None) -> None:
        self.dispatcher = dispatcher
        self.turns = turns
        self.jobs: list[Job] = [dispatcher, *jobs]
        self.poll_interval = poll_interval
        self._wake = threading.Event()
        self._sends_wake = threading.Event()
        self._turns_wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._turns_threads: list[threading.Thread] = []
        self._sends_thread: threading.Thread | None = None

    def wake(self) -> None:
        self._turns_wake.set()
        self._sends_wake.set()
        self._wake.set()

    def wake_turns(self) -> None:
        """A delivery was queued: its turn is due (what the turn queues wakes the others)."""
        self._turns_wake.set()

    def wake_sends(self) -> None:
        """A turn queued replies (and perhaps media to fetch or mail to send)."""
        self._sends_wake.set()
        self._wake.set()

    def _wake_from_elsewhere(self) -> None:
        """Another process committed: a turn or a message may be due (not the other jobs: they poll)."""
        self._turns_wake.set()
        self._sends_wake.set()

    def run_forever(self, watch_database: bool = True) -> None:
        """Run until stopped. `watch_database`: also wake for what other processes commit (see
        `storage.wakeup`); `ptibot serve` turns it off, since its webhooks and staff replies wake the worker
        in-process, and SQLite's watch would wake it for every commit of its own."""
        log.info("worker started")
        # Another process's commit (a webhook, a staff reply, a command) may have queued a turn or a message; the
        # other jobs are woken by what this process queues, and look at least every poll.
        listener = wakeup_for(self.dispatcher.database.url, self._wake_from_elsewhere) if watch_database else None
        if listener:
            listener.start()
        if self.turns is not None:
            count = TURN_THREADS_POSTGRES if self.dispatcher.database.is_postgres else 1
            self._turns_threads = [threading.Thread(target=self._run_turns, args=(self.turns,), daemon=True,
                                                    name="ptibot-turns" + (f"-{n}" if n else ""))
                                   for n in range(count)]
            for thread in self._turns_threads:
                thread.start()
        if self.dispatcher in self.jobs:
            # Sends run concurrently on the dispatcher's pool; the end of each wakes its thread to claim more.
            self.dispatcher.run_in_background(self._sends_wake.set)
            self._sends_thread = threading.Thread(target=self._run_sends, name="ptibot-sends", daemon=True)
            self._sends_thread.start()
        others = [job for job in self.jobs if job is not self.dispatcher]
        while not self._stop.is_set():
            self._wake.clear()  # before the pass: a wake-up during it is kept for the next wait
            started = time.monotonic()
            handled = 0
            for job in others:
                try:
                    handled += job.run_once()
                except Exception:  # the loop boundary: log, pause, go on (the database may be restarting)
                    log.exception("worker job %s failed", type(job).__name__)
            if handled == 0:
                woken = self._wake.wait(self.poll_interval)
                self._stop.wait(max(JOBS_SETTLE if woken else 0.0, started + JOBS_GAP - time.monotonic()))
        if listener:
            listener.stop()
        for running in (*self._turns_threads, self._sends_thread):
            if running is not None:
                running.join(timeout=10)
        self.dispatcher.close()  # the sends in flight end and are recorded
        log.info("worker stopped")

    def _run_sends(self) -> None:
        while not self._stop.is_set():
            self._sends_wake.clear()
            try:
                handled = self.dispatcher.run_once()
            except Exception:  # the database may be restarting: log, rest, try again
                log.exception("worker job Dispatcher failed")
                handled = 0
            if self.dispatcher.saturated:
                self._stop.wait(CLAIM_GAP)
                continue
            if handled:
                continue
            try:
                pause = self.dispatcher.seconds_until_due(self.poll_interval)
            except Exception:  # the database may be restarting: rest the usual interval
                pause = self.poll_interval
            self._sends_wake.wait(pause)

    def _run_turns(self, turns: Job) -> None:
        # One turn at a time when the job allows it, so each turn's replies are sent as soon as it commits
        # rather than after a whole batch of turns. Whoever clears the wake-up runs until nothing is left, so
        # with two threads a wake-up is never lost.
        step: Callable[[], bool] | None = getattr(turns, "run_next", None)
        while not self._stop.is_set():
            self._turns_wake.clear()
            more = False  # whether turns may still be waiting
            try:
                if step is None:
                    more = turns.run_once() > 0
                    if more:
                        self._sends_wake.set()  # their replies are queued: the dispatcher's turn
                else:
                    handled = 0
                    while handled < TURNS_PER_PASS and step():
                        handled += 1
                        self._sends_wake.set()  # its replies are committed: the dispatcher's turn
                    more = handled == TURNS_PER_PASS  # it stopped to look at the stop flag, not for want of turns
            except Exception:  # the database may be restarting: log, rest, try again
                log.exception("queued turns failed")
            if not more:
                self._turns_wake.wait(self.poll_interval)

    def start_thread(self, watch_database: bool = True) -> None:
        self._thread = threading.Thread(target=self.run_forever, args=(watch_database,), name="ptibot-worker",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake()
        if self._thread:
            self._thread.join(timeout=10)
