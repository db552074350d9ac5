"""Webhook acknowledgement latency and throughput, and end-to-end reply latency, for Telegram and WhatsApp.

What it measures, per database (SQLite, and PostgreSQL when DATABASE_URL or --postgres names a server; a
fresh database and data dir for every section, after `ptibot db upgrade`):

1. ack: how fast the web process answers a provider's webhook. Gunicorn runs the web app alone, as the
   Procfile's `web:` line does (2 workers x 4 threads by default; no worker process, so nothing is sent
   and no outbound call is on the measured path: the provider base URLs point at a closed local port).
   Requests are Telegram-shaped (POST /webhooks/telegram, JSON Update, secret header, unique update_id)
   and Twilio-shaped (POST /webhooks/whatsapp, form-encoded, signed with Twilio's RequestValidator
   against PUBLIC_BASE_URL + path, unique MessageSid), from a pool of chats per connection walking the
   menu ("hola", "menu", "3", "1", "atrás"...). Each is verified, parsed and stored in the inbound queue
   (bot.service.intake) before the answer; its dialog turn runs later in a worker. Against it, the bare endpoint
   of `bare_app.py` (one INSERT on the same database, same gunicorn settings), in the same run. Two
   phases each: a fixed rate (200 requests/s by default; latency is counted from the moment a request
   was due, so a stalled server cannot hide its backlog) and an unpaced one (maximum throughput, each
   connection sending as soon as the previous answer arrived). Targets: p99 under 20 ms at 200/s, and
   product throughput at least 60% of the bare endpoint's. Then one `ptibot worker` is started on what
   the phases left queued, and the rate at which it runs those turns is printed: the acknowledgement
   figures say how big a burst the web tier absorbs, this one how fast the burst is worked off.
2. reply: how long an applicant waits for the bot's answer on Telegram: from the moment the webhook POST
   is sent to the moment a loopback fake of the Bot API (`tests/fakes/telegram_api.py`, in this process)
   records the first sendMessage to that chat. Every message comes from a new chat (so Telegram's
   1 message/s per chat pacing never applies), at a moderate rate with random (Poisson) gaps: a fixed
   period would phase-lock with the worker's 0.5 s poll and print a misleading constant. Two deployments:
   `ptibot serve` (web and worker in one process: the webhook wakes the worker thread) and the Procfile's
   gunicorn + `ptibot worker` (two processes: the worker wakes on PostgreSQL's NOTIFY, or on SQLite by
   watching `PRAGMA data_version`). Target: p50 under 50 ms.

Why: Telegram and Twilio wait for the acknowledgement and retry or back off when it is slow, so ack
latency and throughput bound how many applicants one deployment serves; the reply latency is what the
applicant feels.

Columns: requests completed in the measured window (after a warm-up that is not counted), requests/s,
p50/p90/p99/max latency in ms, errors (non-2xx answers and connection errors), server CPU per request
(the gunicorn processes, from /proc; PostgreSQL's own processes are not in it), the load generator's own
CPU use, and how busy the whole machine was (all cores, anything running: near 100% means the figures
are CPU-bound, well under it means something else, such as a lock, is the limit). The load generator is Python
(http.client, one persistent HTTP/1.1 connection per thread); it shares the machine's cores with the
servers (and the fakes), which the output states: max-rate figures are lower than on separate machines,
and the bare endpoint, being cheaper, loses more of its figure to the client than the bot does.

Run with the project's virtualenv: `.venv/bin/python bench/webhooks.py [--mode ack|reply|all]`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import random
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness import HOST, Managed, Round, free_port, healthy, ms, percentile

DEFAULT_RATE = 200.0
TELEGRAM_PATH = "/webhooks/telegram"
WHATSAPP_PATH = "/webhooks/whatsapp"
BARE_PATH = "/bare"
# What the chats say, in order, over and over; every text is a turn of the real dialog.
TEXTS = ("hola", "menu", "3", "1", "atrás", "menu", "cuánto cuesta", "menu", "2", "menu")
CHATS_PER_CONNECTION = 20


# -- the requests -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Prepared:
    """One HTTP request ready to send; `key` identifies it to the reply measurement (the chat id)."""

    path: str
    body: bytes
    headers: dict[str, str]
    key: int | None = None


Factory = Callable[[int, int], Prepared]  # (connection index, sequence number on it) -> the request


def telegram_text_update(update_id: int, chat_id: int, text: str, language: str = "es") -> dict[str, Any]:
    """A private text message as the Bot API posts it (the shape of tests/conftest.py's helper)."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Ana", "language_code": language}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
        "from": user, "text": text}}


def telegram_factory(phase_no: int, path: str = TELEGRAM_PATH) -> Factory:
    """Connection c talks for its own CHATS_PER_CONNECTION chats, one message per chat in turn."""
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": harness.TELEGRAM_SECRET}

    def make(connection: int, seq: int) -> Prepared:
        chat = 100_000_000 + phase_no * 1_000_000 + connection * 1_000 + seq % CHATS_PER_CONNECTION
        update_id = phase_no * 100_000_000 + connection * 1_000_000 + seq + 1
        text = TEXTS[(seq // CHATS_PER_CONNECTION) % len(TEXTS)]
        return Prepared(path, json.dumps(telegram_text_update(update_id, chat, text)).encode(), headers)

    return make


def whatsapp_factory(phase_no: int) -> Factory:
    """Twilio's inbound form (built by tests/fakes/twilio_api.py), signed for PUBLIC_BASE_URL + path."""
    harness.project_on_path()
    from twilio.request_validator import RequestValidator

    from tests.fakes.twilio_api import FakeTwilioAPI

    twilio = FakeTwilioAPI(account_sid=harness.TWILIO_ACCOUNT_SID, auth_token=harness.TWILIO_AUTH_TOKEN)
    validator = RequestValidator(harness.TWILIO_AUTH_TOKEN)
    url = harness.PUBLIC_BASE_URL + WHATSAPP_PATH

    def make(connection: int, seq: int) -> Prepared:
        number = f"+5215{phase_no % 10}{connection:03d}{seq % CHATS_PER_CONNECTION:05d}"  # a Mexican mobile
        text = TEXTS[(seq // CHATS_PER_CONNECTION) % len(TEXTS)]
        form = twilio.inbound_payload(number, text, to=harness.TWILIO_WHATSAPP_FROM)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": validator.compute_signature(url, form)}
        return Prepared(WHATSAPP_PATH, urllib.parse.urlencode(form).encode(), headers)

    return make


def bare_factory(phase_no: int) -> Factory:
    """The same Telegram-shaped bodies, posted to the bare endpoint (which just stores them)."""
    return telegram_factory(phase_no, BARE_PATH)


def new_chat_factory(phase_no: int) -> Factory:
    """Every message from a chat never seen before ("hola"), keyed by its chat id for reply matching."""
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": harness.TELEGRAM_SECRET}

    def make(connection: int, seq: int) -> Prepared:
        chat = 500_000_000 + phase_no * 1_000_000 + connection * 100_000 + seq
        update_id = 1_000_000_000 + phase_no * 1_000_000 + connection * 100_000 + seq
        body = json.dumps(telegram_text_update(update_id, chat, "hola")).encode()
        return Prepared(TELEGRAM_PATH, body, headers, key=chat)

    return make


# -- the load generator -------------------------------------------------------------------------------

@dataclass(slots=True)
class ConnectionLog:
    latencies: list[float] = field(default_factory=list)  # seconds, 2xx answers in the window
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    sent: list[tuple[int, float]] = field(default_factory=list)  # (key, monotonic send time), counted only


@dataclass(slots=True)
class LoadResult:
    rate: float  # 0 = unpaced
    connections: int
    seconds: float
    latencies: list[float]
    errors: int
    samples: list[str]
    sent: list[tuple[int, float]]
    server_cpu: float | None  # seconds, all server processes, during the window
    client_cpu: float  # seconds, this process, during the window
    machine: float | None  # share of all cores busy during the window (anything running)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


# What a server's closing of an idle keep-alive connection looks like to the next request on it.
STALE_CONNECTION = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)


def _post(connection: http.client.HTTPConnection, request: Prepared) -> tuple[int, bytes]:
    connection.request("POST", request.path, request.body, request.headers)
    response = connection.getresponse()
    return response.status, response.read()


def _connection_loop(port: int, factory: Factory, index: int, connections: int, rate: float, poisson: bool,
                     start: float, counted_from: float, until: float, log: ConnectionLog) -> None:
    interval = connections / rate if rate > 0 else 0.0
    rng = random.Random(index)
    # Paced connections are staggered over one interval; Poisson ones start at a random point.
    due = start + (rng.expovariate(1 / interval) if poisson and interval else interval * index / connections)
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    seq = 0
    try:
        while True:
            if interval:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            began = time.perf_counter()
            if began >= until:
                break
            # When paced, latency counts from when the request was due, not from when a connection stuck
            # behind a slow answer finally got to send it (no coordinated omission).
            origin = min(due, began) if interval else began
            due += rng.expovariate(1 / interval) if poisson and interval else interval
            request = factory(index, seq)
            seq += 1
            sent_at = time.monotonic()
            try:
                try:
                    status, data = _post(connection, request)
                except STALE_CONNECTION:
                    # The server dropped the idle connection (gunicorn's keep-alive is 2 s); like any HTTP
                    # client, send again on a new one. Webhooks are idempotent by provider id anyway.
                    connection.close()
                    sent_at = time.monotonic()
                    status, data = _post(connection, request)
                detail = "" if 200 <= status < 300 else f"HTTP {status} on {request.path}: {data[:160]!r}"
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=30)
                detail = f"{type(error).__name__} on {request.path}: {error}"
            elapsed = time.perf_counter() - origin
            if began < counted_from:
                continue
            if detail:
                log.errors += 1
                if len(log.samples) < 3:
                    log.samples.append(detail)
            else:
                log.latencies.append(elapsed)
                if request.key is not None:
                    log.sent.append((request.key, sent_at))
    finally:
        connection.close()


def drive(port: int, factory: Factory, *, connections: int, rate: float, warmup: float,
          seconds: float, server_pid: int | None, poisson: bool = False) -> LoadResult:
    """Run `connections` threads against the server for warm-up + `seconds`; measure the second part.

    rate 0: each connection sends as soon as its previous answer arrived. rate > 0: requests are due at
    that total rate, evenly spaced, or as a Poisson process (random gaps, like independent people) when
    `poisson` is true."""
    logs = [ConnectionLog() for _ in range(connections)]
    start = time.perf_counter() + 0.05
    counted_from = start + warmup
    until = counted_from + seconds
    threads = [threading.Thread(target=_connection_loop, name=f"conn-{i}", daemon=True,  # Ctrl+C must not wait
                                args=(port, factory, i, connections, rate, poisson, start, counted_from, until,
                                      logs[i]))
               for i in range(connections)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, counted_from - time.perf_counter()))
    cpu0, server0 = time.process_time(), harness.tree_cpu_seconds(server_pid) if server_pid else None
    machine0 = harness.machine_busy()
    time.sleep(max(0.0, until - time.perf_counter()))
    cpu1, server1 = time.process_time(), harness.tree_cpu_seconds(server_pid) if server_pid else None
    machine = harness.busy_fraction(machine0, harness.machine_busy())
    for thread in threads:
        thread.join()
    server_cpu = server1 - server0 if server0 is not None and server1 is not None else None
    return LoadResult(rate, connections, seconds, [x for log in logs for x in log.latencies],
                      sum(log.errors for log in logs), [s for log in logs for s in log.samples][:5],
                      [s for log in logs for s in log.sent], server_cpu, cpu1 - cpu0, machine)


# -- servers ------------------------------------------------------------------------------------------

def gunicorn_argv(port: int, app: str, workers: int, threads: int, pythonpath: Path | None = None) -> list[str]:
    argv = [harness.executable("gunicorn"), "--bind", f"{HOST}:{port}", "--workers", str(workers),
            "--threads", str(threads), "--graceful-timeout", "5"]
    if pythonpath is not None:
        argv += ["--pythonpath", str(pythonpath)]
    return [*argv, app]


@contextmanager
def gunicorn(rnd: Round, env: dict[str, str], app: str, name: str, args: argparse.Namespace,
             pythonpath: Path | None = None) -> Iterator[tuple[Managed, int]]:
    port = free_port()
    with harness.managed(name, gunicorn_argv(port, app, args.workers, args.threads, pythonpath), env, rnd.data_dir,
                         rnd.data_dir / f"{name}.log", lambda: healthy(port), args.start_timeout,
                         args.stop_timeout) as server:
        yield server, port


def webhook_env(rnd: Round, key: str, telegram_api: str, twilio_api: str) -> dict[str, str]:
    return harness.app_env(
        rnd.data_dir, rnd.database_url, key, PUBLIC_BASE_URL=harness.PUBLIC_BASE_URL,
        TELEGRAM_BOT_TOKEN=harness.TELEGRAM_TOKEN, TELEGRAM_WEBHOOK_SECRET=harness.TELEGRAM_SECRET,
        TELEGRAM_API_BASE_URL=telegram_api, TWILIO_ACCOUNT_SID=harness.TWILIO_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=harness.TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM=harness.TWILIO_WHATSAPP_FROM,
        TWILIO_API_BASE_URL=twilio_api)


# -- mode 1: acknowledgements -------------------------------------------------------------------------

ACK_COLUMNS = (("database", 10, "<"), ("app", 6, "<"), ("endpoint", 23, "<"), ("phase", 6, "<"),
               ("conns", 5, ">"), ("requests", 8, ">"), ("req/s", 7, ">"), ("p50 ms", 7, ">"),
               ("p90 ms", 7, ">"), ("p99 ms", 7, ">"), ("max ms", 7, ">"), ("errors", 6, ">"),
               ("srv CPU ms/req", 14, ">"), ("client CPU", 10, ">"), ("machine busy", 12, ">"))


@dataclass(slots=True)
class AckRow:
    database: str
    app: str
    endpoint: str
    result: LoadResult

    def line(self) -> str:
        r = self.result
        cpu = "-" if r.server_cpu is None or not r.requests else f"{r.server_cpu / r.requests * 1000:.2f}"
        return harness.table_row((
            self.database, self.app, self.endpoint, "max" if r.rate <= 0 else f"{r.rate:g}/s", str(r.connections),
            str(r.requests), f"{r.throughput:.0f}", ms(r.p(50)), ms(r.p(90)), ms(r.p(99)), ms(r.p(100)),
            str(r.errors), cpu, f"{r.client_cpu / r.seconds * 100:.0f}%",
            "-" if r.machine is None else f"{r.machine * 100:.0f}%"), ACK_COLUMNS)


def ack_round(rnd: Round, args: argparse.Namespace) -> tuple[list[AckRow], str]:
    import bare_app

    closed = f"http://{HOST}:{free_port()}"  # nothing listens there: the ack path must not call out
    env = webhook_env(rnd, harness.fernet_key(), closed, closed)
    harness.db_upgrade(env, rnd.data_dir)
    bare_app.create_table(rnd.database_url)
    phases = [*args.rates, 0.0]
    rows: list[AckRow] = []
    phase_no = 0

    def run(server: Managed, port: int, app: str, endpoint: str, factory: Callable[[int], Factory]) -> None:
        nonlocal phase_no
        for rate in phases:
            phase_no += 1
            print(f"[{rnd.label}] {app} {endpoint} {'max' if rate <= 0 else f'{rate:g}/s'}: {args.connections} "
                  f"connections, {args.warmup:g} s warm-up + {args.seconds:g} s", file=sys.stderr, flush=True)
            result = drive(port, factory(phase_no), connections=args.connections, rate=rate,
                           warmup=args.warmup, seconds=args.seconds, server_pid=server.process.pid)
            row = AckRow(rnd.label, app, endpoint, result)
            rows.append(row)
            print(row.line(), flush=True)

    with gunicorn(rnd, env, "bare_app:create_app()", "bare", args, pythonpath=harness.BENCH_DIR) as (server, port):
        run(server, port, "bare", f"POST {BARE_PATH}", bare_factory)
    with gunicorn(rnd, env, "bot.app:create_app()", "ptibot", args) as (server, port):
        run(server, port, "ptibot", f"POST {TELEGRAM_PATH}", telegram_factory)
        run(server, port, "ptibot", f"POST {WHATSAPP_PATH}", whatsapp_factory)
    drain = f"{rnd.label} {drain_queue(rnd, env, args)}"
    print(drain, flush=True)
    return rows, drain


def queued_turns(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    from bot.config import normalise_database_url

    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM inbound_queue WHERE failed_at IS NULL"))
                       .scalar_one())
    finally:
        engine.dispose()


def drain_queue(rnd: Round, env: dict[str, str], args: argparse.Namespace) -> str:
    """How fast one `ptibot worker` runs the turns the acknowledged requests left queued.

    The acknowledgement only stores the delivery, so this is the other half of the bill: the rate at
    which dialog turns (engine, state, queued replies) are worked off behind a burst. Replies cannot
    leave (the provider URLs point at a closed port), so the worker's dispatcher also spends a little
    time failing and rescheduling sends, as it would during a provider outage.
    """
    waiting = queued_turns(rnd.database_url)
    worker_log = rnd.data_dir / "drain-worker.log"
    with harness.managed("ptibot worker", [harness.executable("ptibot"), "worker"], env, rnd.data_dir, worker_log,
                         harness.log_has(worker_log, "worker started"), args.start_timeout, args.stop_timeout):
        started = time.monotonic()
        left = waiting
        while left and time.monotonic() - started < args.drain_timeout:
            time.sleep(0.25)
            left = queued_turns(rnd.database_url)
        elapsed = time.monotonic() - started
    done = waiting - left
    return (f"queued turns: one `ptibot worker` ran {done} of {waiting} in {elapsed:.1f} s = "
            f"{done / elapsed if elapsed else 0:.0f} turns/s" + (f" ({left} left at the time limit)" if left else ""))


def ack_verdicts(rows: Sequence[AckRow], args: argparse.Namespace) -> list[str]:
    lines: list[str] = []
    for database in dict.fromkeys(row.database for row in rows):
        mine = [row for row in rows if row.database == database]
        bare = next((row.result for row in mine if row.app == "bare" and row.result.rate <= 0), None)
        for endpoint in (f"POST {TELEGRAM_PATH}", f"POST {WHATSAPP_PATH}"):
            for row in mine:
                r = row.result
                if row.endpoint != endpoint:
                    continue
                if r.rate > 0:
                    ok = bool(r.requests) and r.p(99) * 1000 < args.target_ms and not r.errors
                    lines.append(f"{database} {endpoint} ack p99 at {r.rate:g}/s: {ms(r.p(99))} ms "
                                 f"({r.throughput:.0f} req/s achieved, {r.errors} errors); target < "
                                 f"{args.target_ms:g} ms: {'OK' if ok else 'ABOVE'}")
                elif bare is not None and bare.throughput > 0:
                    ratio = r.throughput / bare.throughput
                    ok = ratio >= args.target_ratio and not r.errors
                    lines.append(f"{database} {endpoint} max throughput {r.throughput:.0f} req/s = {ratio:.2f} x "
                                 f"bare {bare.throughput:.0f} req/s; target >= {args.target_ratio:g}: "
                                 f"{'OK' if ok else 'BELOW'}")
    return lines


# -- mode 2: end-to-end replies -----------------------------------------------------------------------

REPLY_COLUMNS = (("database", 10, "<"), ("deployment", 16, "<"), ("messages", 8, ">"), ("rate", 6, ">"),
                 ("ack p50", 7, ">"), ("reply p50", 9, ">"), ("p90", 7, ">"), ("p99", 7, ">"), ("max", 7, ">"),
                 ("missing", 7, ">"), ("errors", 6, ">"))


@dataclass(slots=True)
class ReplyResult:
    database: str
    deployment: str
    load: LoadResult
    latencies: list[float]  # seconds from POST sent to the first sendMessage of that chat
    missing: int  # chats that got no reply in time

    def line(self) -> str:
        q = self.latencies
        return harness.table_row((
            self.database, self.deployment, str(len(self.load.sent)), f"{self.load.rate:g}/s",
            ms(self.load.p(50)), ms(percentile(q, 50)), ms(percentile(q, 90)), ms(percentile(q, 99)),
            ms(percentile(q, 100)), str(self.missing), str(self.load.errors)), REPLY_COLUMNS)


def reply_round(rnd: Round, deployment: str, args: argparse.Namespace) -> ReplyResult:
    harness.project_on_path()
    from tests.fakes.telegram_api import FakeTelegramAPI

    with FakeTelegramAPI(expected_token=harness.TELEGRAM_TOKEN) as api, ExitStack() as stack:
        closed = f"http://{HOST}:{free_port()}"
        env = webhook_env(rnd, harness.fernet_key(), api.url, closed)
        harness.db_upgrade(env, rnd.data_dir)
        port = free_port()
        if deployment == "serve":
            server = stack.enter_context(harness.managed(
                "ptibot serve", [harness.executable("ptibot"), "serve", "--host", HOST, "--port", str(port)], env,
                rnd.data_dir, rnd.data_dir / "serve.log", lambda: healthy(port), args.start_timeout,
                args.stop_timeout))
        else:
            server, port = stack.enter_context(gunicorn(rnd, env, "bot.app:create_app()", "ptibot", args))
            worker_log = rnd.data_dir / "worker.log"
            stack.enter_context(harness.managed(
                "ptibot worker", [harness.executable("ptibot"), "worker"], env, rnd.data_dir, worker_log,
                harness.log_has(worker_log, "worker started"), args.start_timeout, args.stop_timeout))
        print(f"[{rnd.label}] replies via {deployment}: {args.reply_rate:g} new chats/s, 1 s warm-up + "
              f"{args.reply_seconds:g} s", file=sys.stderr, flush=True)
        load = drive(port, new_chat_factory(1), connections=args.reply_connections,
                     rate=args.reply_rate, warmup=1.0, seconds=args.reply_seconds, server_pid=server.process.pid,
                     poisson=True)
        wanted = dict(load.sent)
        deadline = time.monotonic() + args.reply_timeout
        first: dict[int, float] = {}
        while True:
            for call in api.calls_to("sendMessage"):
                chat = call.params.get("chat_id")
                if call.status == 200 and isinstance(chat, int) and chat in wanted and chat not in first:
                    first[chat] = call.at
            if len(first) == len(wanted) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        latencies = [first[chat] - sent for chat, sent in wanted.items() if chat in first]
        return ReplyResult(rnd.label, "serve" if deployment == "serve" else "gunicorn+worker", load, latencies,
                           len(wanted) - len(first))


def reply_verdicts(results: Sequence[ReplyResult], target_ms: float) -> list[str]:
    lines = []
    for r in results:
        p50 = percentile(r.latencies, 50)
        ok = not math.isnan(p50) and p50 * 1000 < target_ms and not r.missing and not r.load.errors
        lines.append(f"{r.database} {r.deployment} reply p50: {ms(p50)} ms (p99 {ms(percentile(r.latencies, 99))} ms, "
                     f"{r.missing} missing); target < {target_ms:g} ms: {'OK' if ok else 'ABOVE'}")
    return lines


# -- main ---------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark the Telegram and WhatsApp webhooks: acknowledgement latency (p50/p99) at a fixed "
                    "rate and maximum throughput on gunicorn against a bare Flask insert endpoint (mode ack), "
                    "and end-to-end reply latency through a loopback fake of the Telegram Bot API (mode reply); "
                    "on SQLite and, when DATABASE_URL or --postgres names a PostgreSQL server, on a fresh "
                    "database there too.",
        epilog="Targets: ack p99 < 20 ms at 200 requests/s; max throughput >= 60% of the bare endpoint's; "
               "reply p50 < 50 ms. Client and servers share this machine's cores.")
    parser.add_argument("--mode", choices=("ack", "reply", "all"), default="all",
                        help="what to measure (default all)")
    parser.add_argument("--rate", default=f"{DEFAULT_RATE:g}",
                        help="requests/s of the fixed-rate ack phase, or several comma-separated (e.g. 100,150,200) "
                             "for a phase each; 0 = only the max phase (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per ack phase (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds before each phase (default 2)")
    parser.add_argument("--connections", type=int, default=16,
                        help="client connections (threads) in the ack phases (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, as in the Procfile)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker (default 4, Procfile)")
    parser.add_argument("--reply-rate", type=float, default=5.0,
                        help="new chats per second in reply mode; each gets 2 replies and Telegram sends are paced "
                             "at 30/s, so keep it well under 15 (default 5)")
    parser.add_argument("--reply-seconds", type=float, default=20.0, help="measured seconds in reply mode (default 20)")
    parser.add_argument("--reply-connections", type=int, default=4, help="client connections in reply mode (default 4)")
    parser.add_argument("--reply-timeout", type=float, default=15.0,
                        help="seconds to wait for the last replies after sending (default 15)")
    parser.add_argument("--deployments", default="serve,gunicorn",
                        help="reply mode: comma-separated 'serve' (ptibot serve, in-process worker) and/or "
                             "'gunicorn' (gunicorn + ptibot worker) (default both)")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="PostgreSQL server to benchmark too (default: DATABASE_URL when it is a postgres:// or "
                             "postgresql:// URL); a fresh database is created and dropped per section")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite rounds")
    parser.add_argument("--target-ms", type=float, default=20.0, help="ack p99 target at the fixed rate (default 20)")
    parser.add_argument("--target-ratio", type=float, default=0.6,
                        help="max throughput target, as a fraction of the bare endpoint's (default 0.6)")
    parser.add_argument("--target-reply-ms", type=float, default=50.0, help="reply p50 target (default 50)")
    parser.add_argument("--drain-timeout", type=float, default=180,
                        help="ack mode: seconds to let one worker run the queued turns afterwards (default 180)")
    parser.add_argument("--start-timeout", type=float, default=60.0, help="seconds to wait for a server (default 60)")
    parser.add_argument("--stop-timeout", type=float, default=10.0,
                        help="seconds after SIGTERM before a server is killed (default 10)")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data dirs (server logs)")
    args = parser.parse_args(argv)
    args.deployment_list = [d.strip() for d in args.deployments.split(",") if d.strip()]
    if any(d not in ("serve", "gunicorn") for d in args.deployment_list):
        parser.error("--deployments takes serve and/or gunicorn")
    try:
        args.rates = [float(rate) for rate in args.rate.split(",") if rate.strip()]
    except ValueError:
        parser.error("--rate takes numbers, comma-separated")
    if any(rate < 0 for rate in args.rates):
        parser.error("--rate must be >= 0")
    args.rates = [rate for rate in args.rates if rate > 0]
    if (args.seconds <= 0 or args.warmup < 0 or args.connections < 1 or args.workers < 1
            or args.threads < 1 or args.reply_rate <= 0 or args.reply_seconds <= 0 or args.reply_connections < 1):
        parser.error("--reply-rate must be > 0, seconds > 0 (warm-up >= 0), counts >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    harness.interrupt_on_sigterm()
    rounds = harness.database_rounds(args.postgres, args.no_sqlite)
    if not rounds:
        return 2
    print(f"machine: {harness.CORES_NOTE}")
    failed = False
    ack_rows: list[AckRow] = []
    drains: list[str] = []
    replies: list[ReplyResult] = []
    try:
        if args.mode in ("ack", "all"):
            print(f"\nwebhook acknowledgements: gunicorn {args.workers} workers x {args.threads} threads, web only "
                  f"(no worker); {args.connections} client connections; fixed-rate latency counted from when each "
                  f"request was due")
            print(harness.table_header(ACK_COLUMNS), flush=True)
            for label, base in rounds:
                try:
                    with harness.fresh_round(label, base, args.keep_data) as rnd:
                        rows, drain = ack_round(rnd, args)
                    ack_rows += rows
                    drains.append(drain)
                except Exception as error:  # one database failing must not hide the other's figures
                    print(f"[{label}] ack failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                    failed = True
            for row in ack_rows:
                for sample in row.result.samples:
                    print(f"  {row.database} {row.endpoint} {'max' if row.result.rate <= 0 else row.result.rate}: "
                          f"{sample}")
        if args.mode in ("reply", "all"):
            print(f"\nend-to-end Telegram replies: POST sent -> fake Bot API receives the first sendMessage of "
                  f"that chat; one new chat per message, {args.reply_connections} client connections")
            print(harness.table_header(REPLY_COLUMNS), flush=True)
            for label, base in rounds:
                for deployment in args.deployment_list:
                    try:
                        with harness.fresh_round(label, base, args.keep_data) as rnd:
                            result = reply_round(rnd, deployment, args)
                        replies.append(result)
                        print(result.line(), flush=True)
                    except Exception as error:
                        print(f"[{label}] reply via {deployment} failed: {type(error).__name__}: {error}",
                              file=sys.stderr, flush=True)
                        failed = True
            for result in replies:
                for sample in result.load.samples:
                    print(f"  {result.database} {result.deployment}: {sample}")
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped and temporary data removed", file=sys.stderr)
        return 130
    print()
    for line in ack_verdicts(ack_rows, args) + drains + reply_verdicts(replies, args.target_reply_ms):
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
