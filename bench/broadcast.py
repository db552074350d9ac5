"""A payment-reminder broadcast to N Telegram contacts, against a fake Bot API that enforces 30 messages/s.

What it measures: how long the worker (the Procfile's `worker:` process, with the project's Dispatcher
and its Telegram Throttle of 30/s overall and 1/s per chat) takes to deliver one payment reminder to each
of N subscribers, compared with the theoretical bound N / 30 s, and how many sends the provider refused
with 429 Too Many Requests (the loopback fake of `tests/fakes/telegram_api.py` refuses a sendMessage when
30 were accepted in the last second, like Telegram's broadcast limit).

Why: a reminder day is the bot's biggest burst. Sent too slowly, reminders arrive hours late; sent too
fast, Telegram answers 429 and may throttle the bot harder. The targets are completion within 5% of the
bound and no 429 at all. The issue asks for 10,000 contacts (a 333 s bound); the default is 1,500 (50 s)
so a run stays short: pass `--contacts 10000` for the full figure.

How, per database (SQLite, and PostgreSQL when DATABASE_URL or --postgres names a server; a fresh data dir
and database each, after `ptibot db upgrade`): N Telegram contacts, each with a conversation and an active
monthly subscription, are inserted through the project's models (storage.models) and cipher, as
enrollment would have left them. Reminders are due at 10:00 business time on a deadline day (the 20th),
so the run needs a clock set to 10:01 on the last such day. Two ways (--worker):

- `reminder-day` (default): the worker process is built exactly as `ptibot worker` builds it
  (`bot.wiring.build_services`, the same loop and jobs) by this script (`--run-worker-at`, internal),
  with the clocks of its jobs shifted to that moment. Its own ReminderJob queues the N reminders on its
  first pass (in transactions of 200 subscriptions) and, as on a real reminder day, runs again every 20 s
  while the dispatcher sends. The completion clock starts when the queued reminders become visible.
- `ptibot`: the unmodified `ptibot worker` on the real clock; this script runs the project's ReminderJob
  with its clock set to that moment to queue the reminders, and the completion clock starts at its
  commit. The worker's own ReminderJob sees today's real date, on which it may have nothing to do, so
  this measures the sending alone; QUIET_HOURS around the present time keeps it from queueing a second
  reminder when today is near a deadline (quiet hours only hold reminders and nudges back).

Either way the clock stops when the fake has accepted N sendMessage calls (or at --timeout).

Printed: queueing time; the longest wait of a tiny transaction begun every 0.1 s meanwhile from this
process (on SQLite every bot transaction takes the write lock first, so that is how long a webhook stalls
behind the job); the time of the same ReminderJob once everything is recorded, in a new process and on its
next runs (what the worker pays on each of its 20-second runs from the day before_5 falls due until the day
after the deadline); completion time against the bound N / limit and their ratio; the span from the first
to the last accepted send against (N - 1) / limit; 429 answers, duplicate deliveries, messages left unsent;
the worker's CPU use; on PostgreSQL, row updates of the messages table per message sent (claims, and
deferrals by the throttle). The machine has few cores, shared by the worker, the fake API (in this
process) and the database.

Run with the project's virtualenv: `.venv/bin/python bench/broadcast.py [--contacts 1500]`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import harness
from harness import Round

BUSINESS_TIMEZONE = "America/Mexico_City"  # the bot's default, which the worker keeps
FIRST_CHAT_ID = 700_000_000


@dataclass(slots=True)
class BroadcastResult:
    database: str
    worker: str
    contacts: int
    limit: float
    seed_seconds: float
    queue_seconds: float | None
    probe_wait: float  # longest wait to begin another transaction during the run
    rescan_seconds: float  # a new ReminderJob (as after a restart), with everything already recorded
    rerun_seconds: float  # that job's next run: what the worker pays every 20 s
    accepted: int  # sendMessage calls the fake answered 200
    rejected_429: int
    duplicates: int  # chats that received more than one accepted message
    completion: float | None  # seconds from the reminders' commit to the last accepted send
    span: float | None  # seconds from the first to the last accepted send
    first_after: float | None  # seconds from the commit to the first accepted send
    worker_cpu: float | None  # CPU seconds of the worker from the commit to the end
    machine: float | None  # share of all cores busy over the same time
    statuses: dict[str, int]
    updates_per_message: float | None  # PostgreSQL only: messages row updates / messages sent

    @property
    def bound(self) -> float:
        return self.contacts / self.limit


def last_due_moment(now: datetime, zone: ZoneInfo) -> tuple[datetime, str]:
    """10:01 business time on the most recent day-20 deadline at or before `now`, and its period."""
    local = now.astimezone(zone)
    year, month = local.year, local.month
    while True:
        moment = datetime(year, month, 20, 10, 1, tzinfo=zone)
        if moment <= local:
            return moment.astimezone(UTC), f"{year:04d}-{month:02d}"
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)


def quiet_hours_around(now: datetime, zone: ZoneInfo) -> str:
    """A QUIET_HOURS value covering the next hours (and the last one), in business time."""
    local = now.astimezone(zone)
    return f"{(local - timedelta(hours=1)).strftime('%H:%M')}-{(local + timedelta(hours=8)).strftime('%H:%M')}"


def seed(database: Any, cipher: Any, contacts: int, period: str, now: datetime) -> None:
    """N subscribers as the enrollment flow leaves them: contact, conversation, active monthly subscription."""
    from storage.conversations import contact_identity
    from storage.models import Contact, Conversation, Subscription

    with database.session_scope() as session:
        people = [Contact(channel="telegram", **contact_identity(cipher, str(FIRST_CHAT_ID + i)), locale="es_MX",
                          display_name=cipher.encrypt_text(f"Suscriptora {i}"), reachable=True, opted_out=False,
                          erase_pending=False, last_inbound_at=now - timedelta(days=3), created_at=now)
                  for i in range(contacts)]
        session.add_all(people)
        session.flush()
        conversations = [Conversation(contact_id=person.id, flow="menu", state="main_menu", locale="es_MX",
                                      data=cipher.encrypt_json({"monthly_income": 9000 + (i % 40) * 500}),
                                      history="[]", owner="bot", misses=0, turns=12, created_at=now,
                                      updated_at=now)
                         for i, person in enumerate(people)]
        session.add_all(conversations)
        session.flush()
        session.add_all(Subscription(contact_id=conversation.contact_id, conversation_id=conversation.id,
                                     frequency="monthly", first_period=period, active=True, created_at=now)
                        for conversation in conversations)


# -- the worker of the reminder-day mode ----------------------------------------------------------------

def run_worker_at(moment_text: str) -> int:
    """`ptibot worker` (bot/cli.py cmd_worker) with every job's clock running from `moment` onwards."""
    from bot.config import Settings
    from bot.core.logs import configure
    from bot.wiring import build_services
    from bot.worker.loop import Periodic

    configure()
    moment = datetime.fromisoformat(moment_text)
    offset = datetime.now(UTC) - moment

    def clock() -> datetime:
        return datetime.now(UTC) - offset

    services = build_services(Settings.from_env())
    worker = services.worker
    assert worker is not None
    for job in worker.jobs:  # Periodic's own clock is monotonic and stays; the jobs' wall clocks move
        target = job.job if isinstance(job, Periodic) else job
        if hasattr(target, "clock"):
            target.clock = clock
    services.turns.clock = clock
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
    return 0


# -- probes ---------------------------------------------------------------------------------------------

class TransactionProbe:
    """Begins a tiny transaction every 0.1 s on its own engine, as a webhook in another process would, and
    keeps the longest wait. On SQLite every transaction of the bot starts with BEGIN IMMEDIATE, so this is
    how long a webhook stalls behind a long one."""

    def __init__(self, database_url: str) -> None:
        from storage.db import Database

        self.database = Database(database_url)
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def _run(self) -> None:
        from sqlalchemy import text

        while not self._stop.is_set():
            began = time.perf_counter()
            try:
                with self.database.session_scope() as session:
                    session.execute(text("SELECT 1"))
            except Exception:  # a timeout is a result too: it waited at least this long
                pass
            self.longest = max(self.longest, time.perf_counter() - began)
            self._stop.wait(0.1)

    def __enter__(self) -> TransactionProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        self.database.dispose()


def outbound_count(rnd: Round) -> int | None:
    """Outbound messages in the database, read without taking any lock; None while it is busy."""
    return harness.read_count(rnd, "SELECT count(*) FROM messages WHERE direction = 'out'")


def status_counts(database: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from storage.models import Message

    with database.session_scope() as session:
        rows = session.execute(select(Message.status, func.count()).where(Message.direction == "out")
                               .group_by(Message.status)).all()
    return {status: int(count) for status, count in rows}


def messages_updates(libpq_url: str | None) -> int | None:
    """Rows of `messages` updated so far (PostgreSQL statistics; None on SQLite or if unreadable)."""
    if libpq_url is None:
        return None
    import psycopg

    try:
        with psycopg.connect(libpq_url, connect_timeout=5) as connection:
            connection.execute("SELECT pg_stat_clear_snapshot()")
            row = connection.execute(
                "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'messages'").fetchone()
    except Exception:  # statistics are a bonus; the bench must not fail on them
        return None
    return int(row[0]) if row else None


# -- one round --------------------------------------------------------------------------------------------

def broadcast_round(rnd: Round, args: argparse.Namespace) -> BroadcastResult:
    harness.project_on_path()
    from bot.config import Settings
    from bot.wiring import build_schedule
    from bot.worker.reminders import ReminderJob
    from storage.crypto import Cipher
    from storage.db import Database
    from tests.fakes.telegram_api import FakeTelegramAPI

    zone = ZoneInfo(BUSINESS_TIMEZONE)
    now = datetime.now(UTC)
    moment, period = last_due_moment(now, zone)
    label = rnd.label
    reminder_day = args.worker == "reminder-day"
    with FakeTelegramAPI(rate_limit_per_second=args.api_limit, expected_token=harness.TELEGRAM_TOKEN) as api:
        extra = {} if reminder_day else {"QUIET_HOURS": quiet_hours_around(now, zone)}
        env = harness.app_env(rnd.data_dir, rnd.database_url, harness.fernet_key(),
                              TELEGRAM_BOT_TOKEN=harness.TELEGRAM_TOKEN,
                              TELEGRAM_WEBHOOK_SECRET=harness.TELEGRAM_SECRET, TELEGRAM_API_BASE_URL=api.url,
                              BUSINESS_TIMEZONE=BUSINESS_TIMEZONE, **extra)
        harness.db_upgrade(env, rnd.data_dir)
        settings = Settings.from_env(env, cwd=rnd.data_dir)
        database = Database(settings.database_url)
        cipher = Cipher(settings.data_encryption_keys, search_key=settings.secret_key)  # as build_services does
        job = ReminderJob(database, cipher, build_schedule(settings), clock=lambda: moment)
        try:
            began = time.perf_counter()
            seed(database, cipher, args.contacts, period, now)
            seed_seconds = time.perf_counter() - began
            print(f"[{label}] seeded {args.contacts} subscribers in {seed_seconds:.1f} s; reminders of period "
                  f"{period} due at {moment.astimezone(zone):%Y-%m-%d %H:%M} {BUSINESS_TIMEZONE}; worker: "
                  f"{args.worker}", file=sys.stderr, flush=True)
            argv = ([sys.executable, str(Path(__file__).resolve()), "--run-worker-at", moment.isoformat()]
                    if reminder_day else [harness.executable("ptibot"), "worker"])
            worker_log = rnd.data_dir / "worker.log"
            with TransactionProbe(settings.database_url) as probe, harness.managed(
                    "worker", argv, env, rnd.data_dir, worker_log, harness.log_has(worker_log, "worker started"),
                    args.start_timeout, args.stop_timeout) as worker:
                updates0 = messages_updates(rnd.libpq_url)
                began = time.perf_counter()
                if reminder_day:  # the worker's own ReminderJob queues them; wait until they are visible
                    queued = 0
                    while (queued := outbound_count(rnd) or 0) < args.contacts:
                        if time.perf_counter() - began > args.start_timeout + args.contacts / 50:
                            raise RuntimeError(f"the worker queued {queued} of {args.contacts} reminders:\n"
                                               f"{harness.log_tail(worker_log)}")
                        time.sleep(0.05)
                    queue_seconds = None  # not observable from outside: it includes the worker's first pass
                else:
                    queued = job.run_once()
                    queue_seconds = time.perf_counter() - began
                committed = time.monotonic()
                if not reminder_day:
                    print(f"[{label}] ReminderJob queued {queued} in {queue_seconds or 0:.1f} s (transactions of 200)",
                          file=sys.stderr, flush=True)
                else:
                    print(f"[{label}] the worker's ReminderJob queued {queued} reminders "
                          f"{time.perf_counter() - began:.1f} s after it started", file=sys.stderr, flush=True)
                cpu0, machine0 = harness.tree_cpu_seconds(worker.process.pid), harness.machine_busy()
                accepted = wait_for_sends(api, args.contacts, committed, args, label)
                cpu1, machine1 = harness.tree_cpu_seconds(worker.process.pid), harness.machine_busy()
                time.sleep(1.0)  # let PostgreSQL publish its statistics, and catch any late duplicate
                updates1 = messages_updates(rnd.libpq_url)
            statuses = status_counts(database)
            began = time.perf_counter()
            again = job.run_once()  # what the worker's job costs on every run around a deadline
            rescan_seconds = time.perf_counter() - began
            began = time.perf_counter()
            again += job.run_once()
            rerun_seconds = time.perf_counter() - began
            if again:
                print(f"[{label}] warning: one more ReminderJob run queued {again} more", file=sys.stderr)
        finally:
            database.dispose()
        calls = [call for call in api.calls_to("sendMessage") if call.status == 200]
        per_chat = Counter(call.params.get("chat_id") for call in calls)
        times = sorted(call.at for call in calls)
        sent = statuses.get("sent", 0)
        return BroadcastResult(
            database=label, worker=args.worker, contacts=args.contacts, limit=args.api_limit,
            seed_seconds=seed_seconds, queue_seconds=queue_seconds, probe_wait=probe.longest,
            rescan_seconds=rescan_seconds, rerun_seconds=rerun_seconds, accepted=len(calls),
            rejected_429=api.rejected_429,
            duplicates=sum(1 for count in per_chat.values() if count > 1),
            completion=times[-1] - committed if accepted >= args.contacts else None,
            span=times[-1] - times[0] if len(times) > 1 else None,
            first_after=times[0] - committed if times else None,
            worker_cpu=cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None,
            machine=harness.busy_fraction(machine0, machine1), statuses=statuses,
            updates_per_message=(updates1 - updates0) / sent
            if updates0 is not None and updates1 is not None and sent else None)


def wait_for_sends(api: Any, count: int, since: float, args: argparse.Namespace, label: str) -> int:
    """Poll the fake until `count` sendMessage calls were accepted or the timeout; progress on stderr."""
    timeout = args.timeout if args.timeout else 2 * count / args.api_limit + 120
    deadline = since + timeout
    next_report = since + args.progress
    accepted = 0
    while True:
        accepted = sum(1 for call in api.calls_to("sendMessage") if call.status == 200)
        now = time.monotonic()
        if accepted >= count or now > deadline:
            if accepted < count:
                print(f"[{label}] timed out after {timeout:.0f} s with {accepted}/{count} sent", file=sys.stderr)
            return accepted
        if args.progress and now >= next_report:
            print(f"[{label}] {now - since:6.1f} s: {accepted}/{count} sent ({accepted / (now - since):.1f}/s), "
                  f"{api.rejected_429} answered 429", file=sys.stderr, flush=True)
            next_report += args.progress
        time.sleep(0.25)


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(result: BroadcastResult, target: float) -> list[str]:
    r = result
    ratio = r.completion / r.bound if r.completion is not None else None
    span_bound = (r.contacts - 1) / r.limit
    queued = ("by the worker's own ReminderJob" if r.queue_seconds is None
              else f"by the ReminderJob in {r.queue_seconds:.1f} s (transactions of 200)")
    lines = [
        f"{r.database}, worker {r.worker}: {r.contacts} contacts, fake API limit {r.limit:g} sendMessage/s",
        f"  seeded in {r.seed_seconds:.1f} s; reminders queued {queued}; the same job with nothing left to queue "
        f"takes {r.rescan_seconds:.2f} s in a new process and {r.rerun_seconds:.3f} s on its next runs (the worker "
        f"runs it every 20 s around a deadline)",
        f"  longest wait to begin a transaction from another process during the run: {r.probe_wait:.2f} s",
        f"  completion (reminders committed -> last accepted send): {seconds(r.completion)} s; bound {r.contacts} / "
        f"{r.limit:g} = {r.bound:.1f} s; ratio {'-' if ratio is None else f'{ratio:.3f}'}",
        f"  first send {seconds(r.first_after)} s after the commit; first -> last send {seconds(r.span)} s "
        f"(bound for that span {span_bound:.1f} s"
        + (f", ratio {r.span / span_bound:.3f})" if r.span and span_bound else ")"),
        f"  accepted {r.accepted}, answered 429: {r.rejected_429}, chats served twice: {r.duplicates}; outbox "
        f"after: {', '.join(f'{k} {v}' for k, v in sorted(r.statuses.items())) or 'empty'}",
        f"  worker CPU {seconds(r.worker_cpu)} s"
        + (f" ({r.worker_cpu / r.completion * 100:.0f}% of one core)" if r.worker_cpu and r.completion else "")
        + ("" if r.machine is None else f"; machine busy {r.machine * 100:.0f}%")
        + ("" if r.updates_per_message is None else f"; {r.updates_per_message:.1f} messages row updates per "
           f"message sent"),
    ]
    ok_time = ratio is not None and ratio <= 1 + target
    lines.append(f"  verdict: completion within {target * 100:g}% of the bound: {'OK' if ok_time else 'NO'}; "
                 f"zero 429: {'OK' if r.rejected_429 == 0 else 'NO'}")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark a payment-reminder broadcast: N Telegram subscribers get one reminder each from "
                    "the project's ReminderJob, and the worker sends them to a fake Bot API that answers 429 "
                    "above 30 sendMessage/s. Prints completion time against N / 30 s and the 429 count, on "
                    "SQLite and, when DATABASE_URL or --postgres names a PostgreSQL server, on a fresh "
                    "database there too.",
        epilog="The issue's figure is for 10,000 contacts (bound 333 s): --contacts 10000.")
    parser.add_argument("--contacts", type=int, default=1500, help="subscribers to remind (default 1500)")
    parser.add_argument("--worker", choices=("reminder-day", "ptibot"), default="reminder-day",
                        help="reminder-day: the worker as `ptibot worker` builds it, clocks set to the deadline "
                             "day, queueing and rescanning itself; ptibot: the unmodified `ptibot worker` on the "
                             "real clock, reminders queued by this script (default reminder-day)")
    parser.add_argument("--api-limit", type=float, default=30.0,
                        help="sendMessage per second the fake accepts before answering 429 (default 30, Telegram's)")
    parser.add_argument("--target", type=float, default=0.05,
                        help="allowed excess over the bound, as a fraction (default 0.05)")
    parser.add_argument("--timeout", type=float, default=0.0,
                        help="seconds to wait for all sends after queueing (default 2 x bound + 120)")
    parser.add_argument("--progress", type=float, default=10.0, help="seconds between progress lines (0 = none)")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="PostgreSQL server to benchmark too (default: DATABASE_URL when it is a postgres:// or "
                             "postgresql:// URL); a fresh database is created and dropped")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite round")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="seconds to wait for the worker (default 60)")
    parser.add_argument("--stop-timeout", type=float, default=15.0,
                        help="seconds after SIGTERM before the worker is killed (default 15)")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data dirs (worker log)")
    parser.add_argument("--run-worker-at", metavar="ISO", default=None, help=argparse.SUPPRESS)  # internal
    args = parser.parse_args(argv)
    if args.contacts < 1 or args.api_limit <= 0 or args.timeout < 0 or args.progress < 0 or args.target < 0:
        parser.error("--contacts >= 1, --api-limit > 0; --timeout, --progress and --target >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.run_worker_at:
        return run_worker_at(args.run_worker_at)
    harness.interrupt_on_sigterm()
    rounds = harness.database_rounds(args.postgres, args.no_sqlite)
    if not rounds:
        return 2
    print(f"payment-reminder broadcast to {args.contacts} Telegram contacts, worker {args.worker} (Throttle 30/s, "
          f"1/s per chat), fake Bot API limited to {args.api_limit:g} sendMessage/s")
    print(f"machine: {harness.CORES_NOTE}", flush=True)
    failed = False
    try:
        for label, base in rounds:
            try:
                with harness.fresh_round(label, base, args.keep_data) as rnd:
                    result = broadcast_round(rnd, args)
                print("\n".join(report(result, args.target)), flush=True)
            except Exception as error:  # one database failing must not hide the other's figures
                print(f"[{label}] failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                failed = True
    except KeyboardInterrupt:
        print("\ninterrupted; worker stopped and temporary data removed", file=sys.stderr)
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
