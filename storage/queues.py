"""The work queues' shared mechanics: skip-locked claims, stale takeover, attempt limits and backoff.

Four tables are worked as queues (the outbox, the inbound queue, media jobs, emails). Each keeps its own
claim query, shaped by its indexes and ordering rules; what they have in common lives here, and so do
their limits, side by side in one table of policies.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

_Query = TypeVar("_Query", bound=Select[Any])


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """How hard a queue tries: its attempt limit, when a claim is presumed dead, and its retry delays.

    Attributes:
        max_attempts: attempts in all, the first included; the failure of the last one is final.
        stale_after: a claim older than this belongs to a worker that died mid-job and is taken over;
            None when a claim is a row lock that dies with its worker's connection.
        base_delay: seconds before the first retry (doubling each time).
        max_delay: the longest wait between two attempts, in seconds.
    """

    max_attempts: int
    stale_after: timedelta | None
    base_delay: float = 2.0
    max_delay: float = 600.0

    def gives_up(self, attempts: int, *, permanent: bool = False) -> bool:
        """Whether a failed attempt ends the job.

        Args:
            attempts: the attempts recorded before the one that just failed.
            permanent: the failure will not go away by trying again (a blocked bot, an invalid address).
        """
        return permanent or attempts + 1 >= self.max_attempts

    def backoff(self, attempts: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the failure of attempt `attempts + 1`: exponential, capped, with jitter.

        The ceiling doubles from `base_delay` up to `max_delay`; the wait falls at random in its upper half,
        so retries of a burst of failures spread out instead of coming back together.
        """
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempts))
        return ceiling / 2 + rng() * ceiling / 2

    def retry_at(self, attempts: int, now: datetime, rng: Callable[[], float] = random.random) -> datetime:
        """When to try again after the failure of attempt `attempts + 1`."""
        return now + timedelta(seconds=self.backoff(attempts, rng))


# Every queue's limits, in one place; all four share the 2 s … 10 min backoff. The spans below are the
# total waits between the first attempt and giving up (the jitter makes each between half and all of it).
OUTBOX = QueuePolicy(
    # 8 attempts, 2–4 minutes: long enough to ride out a provider's brief outage or 5xx burst, short
    # enough that staff see a failed reply while the applicant is still around. A send is one HTTP call
    # with its own timeouts, so a claim 2 minutes old is a dead worker's (OUTBOX_CLAIM_TIMEOUT overrides it).
    max_attempts=8, stale_after=timedelta(minutes=2))
INBOUND = QueuePolicy(
    # 5 attempts, 15–30 seconds: a turn that raises again and again is a bug, not bad luck, and the
    # chat's later messages wait behind it; so it is set aside and the chat handed to a person. The claim
    # is the turn transaction's row lock, which the database drops when its worker dies: nothing goes stale.
    max_attempts=5, stale_after=None)
MEDIA = QueuePolicy(
    # 6 attempts, 30–60 seconds: the applicant is waiting for "received", and after a minute of network
    # trouble asking them to send the file again serves them better. A large file over a slow link can
    # take minutes to download, hence a longer claim than the outbox's.
    max_attempts=6, stale_after=timedelta(minutes=5))
EMAIL = QueuePolicy(
    # 10 attempts, 8–17 minutes: nobody waits at a chat for an email, so it is tried longest (mail servers
    # greylist and restart). A claim covers a batch sent one after another, each SMTP step allowed its
    # own timeout, hence the 10-minute claim.
    max_attempts=10, stale_after=timedelta(minutes=10))


@dataclass(frozen=True, slots=True)
class ClaimColumns:
    """Where a queue table marks a claim: the status of a row being worked and the column saying since when.

    Attributes:
        id: the primary key, by which claimed rows are marked.
        status: the row's status column; `"queued"` means waiting.
        claimed_at: when the row was claimed.
        working: the status of a claimed row (`"sending"`, `"fetching"`).
        clear_on_release: empty `claimed_at` when a stale claim is put back. False where that column is
            also the due time (emails), which must stay set for the row to be picked up again.
    """

    id: InstrumentedAttribute[int]
    status: InstrumentedAttribute[str]
    claimed_at: InstrumentedAttribute[datetime | None]
    working: str
    clear_on_release: bool = True


def skip_locked(query: _Query, of: Any = None) -> _Query:
    """Lock the rows a claim query returns, skipping those another worker holds.

    On PostgreSQL this is `FOR UPDATE [OF …] SKIP LOCKED`, so several workers claim without waiting on
    each other and never take one row twice. SQLite renders no locking clause (it serialises writers),
    so a statement built once serves both databases.
    """
    return query.with_for_update(skip_locked=True, of=of)


def release_stale(session: Session, columns: ClaimColumns, now: datetime, stale_after: timedelta | None,
                  keep: Collection[int] = ()) -> int:
    """Put claims older than `stale_after` back in the queue; how many there were.

    Their worker died mid-job (or the job outlived `stale_after`): another worker takes them over. The
    attempt is not counted, since nobody knows how it ended. `None` (a queue whose claims cannot go
    stale) does nothing. `keep`: rows the calling worker is still working on (never its own to take over).
    """
    if stale_after is None:
        return 0
    values: dict[Any, Any] = {columns.status: "queued"}
    if columns.clear_on_release:
        values[columns.claimed_at] = None
    stale = update(columns.status.class_).where(columns.status == columns.working,
                                                 columns.claimed_at < now - stale_after)
    if keep:
        stale = stale.where(columns.id.not_in(list(keep)))
    result = session.execute(stale.values(values))
    return int(getattr(result, "rowcount", 0) or 0)


def mark_claimed(session: Session, columns: ClaimColumns, ids: Sequence[int], now: datetime) -> None:
    """Mark rows taken by a claim query as being worked since `now`."""
    if ids:
        session.execute(update(columns.status.class_).where(columns.id.in_(ids)).values(
            {columns.status: columns.working, columns.claimed_at: now}))
