"""Turns per second and per-turn latency of the web chat, end to end, on SQLite and on PostgreSQL.

What it measures: a *turn* is one `POST /webchat/api/messages` answered by a real `ptibot serve`
process: session cookie, request parsing, one database transaction (dedupe, lock the conversation, run
the dialog engine, queue the replies), the JSON answer, and the in-process worker draining the outbox
alongside. Latency is measured by the client around each POST (request sent to body read), so it is what
a browser on the same machine would see, minus the network.

Why: the web chat answers inside the HTTP request, so turn latency is what an applicant feels after
tapping a button, and turns per second bound how many applicants one process can serve. The target is a
p99 under 20 ms at moderate load (50 turns/s); the maximum-throughput phase shows the headroom.

How: for each database the script starts `ptibot serve` on a free port with a fresh temporary data dir
(SQLite file inside it) or a freshly created PostgreSQL database, waits for `GET /healthz`, then runs C
simulated users, each with its own cookie jar and its own persistent HTTP/1.1 connection, each walking
the menu like a person would ("hola", a button, "menu", "3", "1", "atrás", "cuánto cuesta"…) over and
over. Every phase has a short warm-up that is not counted. By default two phases run: users pacing
themselves to 50 turns/s in total (latency at moderate load), then users sending as fast as answers come
back (maximum throughput). PostgreSQL is measured too when DATABASE_URL (or --postgres) points at one.

Columns: turns completed in the measured window, turns per second, p50/p90/p99/max latency in ms,
errors (non-200 answers, exceptions, answers that are not JSON with messages), off-script (200 answers
where the bot did not land on the step the script expects: a sign the script or the dialog drifted),
and outbox (replies still queued or being sent right after the phase: whether the worker keeps up).
The last line says OK when every paced phase has a p99 under the target and no errors, else ABOVE.

Run with the project's virtualenv: `.venv/bin/python bench/turns.py [--seconds 5] [--users 8]`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from harness import (
    HOST,
    SCRUBBED_ENV,
    database_rounds,
    executable,
    free_port,
    fresh_round,
    healthy,
    managed,
    ms,
    percentile,
    read_count,
    table_header,
    table_row,
)

ENDPOINT = "/webchat/api/messages"
DEFAULT_MODERATE_RATE = 50.0
MAIN_MENU = ("enroll", "service", "benefits", "requirements", "costs", "status", "reminders", "human")
BENEFITS = ("medical", "maternity", "accidents", "invalidity", "retirement", "daycare", "infonavit", "menu")


@dataclass(frozen=True, slots=True)
class Move:
    """One thing a user does, and the buttons the bot's last bubble must show afterwards."""

    text: str | None
    payload: str | None
    expect: tuple[str, ...]


# One lap around the menu; users repeat it. "hola" starts a conversation, and later greets the menu again.
SCRIPT: tuple[Move, ...] = (
    Move("hola", None, MAIN_MENU),
    Move(None, "requirements", ("enroll", "menu")),
    Move("menu", None, MAIN_MENU),
    Move("3", None, BENEFITS),
    Move("1", None, ("more", "enroll", "menu")),
    Move("atrás", None, BENEFITS),
    Move("menu", None, MAIN_MENU),
    Move("cuánto cuesta", None, ("enroll", "human", "menu")),
    Move("menu", None, MAIN_MENU),
)
# Outbound messages still queued or being sent: whether the worker keeps up.
OUTBOX_QUERY = "SELECT count(*) FROM messages WHERE direction = 'out' AND status IN ('queued', 'sending')"


# -- results ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    rate: float  # total target turns/s; 0 means no pacing (maximum throughput)


@dataclass(slots=True)
class UserLog:
    """What one simulated user saw during the measured window."""

    latencies: list[float] = field(default_factory=list)  # seconds, successful turns only
    errors: int = 0
    off_script: int = 0
    samples: list[str] = field(default_factory=list)  # the first few error descriptions


@dataclass(slots=True)
class PhaseResult:
    database: str
    phase: Phase
    users: int
    seconds: float
    latencies: list[float]
    errors: int
    off_script: int
    samples: list[str]
    outbox: int | None

    @property
    def turns(self) -> int:
        return len(self.latencies)

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile in milliseconds (nan when nothing completed)."""
        return percentile(self.latencies, p) * 1000


# -- one simulated user ----------------------------------------------------------------------------

class User:
    """A browser: its own cookie jar and one persistent HTTP/1.1 connection to the server."""

    def __init__(self, port: int, index: int) -> None:
        self.port = port
        self.tag = f"bench-{uuid.uuid4().hex[:10]}-{index}"
        self.cookies: dict[str, str] = {}
        self.sent = 0
        self.connection = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.port, timeout=30)

    def close(self) -> None:
        self.connection.close()

    def post(self, move: Move) -> tuple[int, bytes]:
        """Send one message; return the status and the body. Raises on connection trouble."""
        self.sent += 1
        body: dict[str, str] = {"id": f"{self.tag}-{self.sent}"}
        if move.text is not None:
            body["text"] = move.text
        if move.payload is not None:
            body["payload"] = move.payload
        headers = {"Content-Type": "application/json", "Accept-Language": "es-MX,es;q=0.9"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            self.connection.request("POST", ENDPOINT, json.dumps(body).encode(), headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = self._connect()
            raise
        for header in response.headers.get_all("Set-Cookie") or ():
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        return response.status, data


def check_answer(status: int, data: bytes, move: Move) -> tuple[str, str]:
    """Classify an answer as ("ok" | "error" | "off-script", description)."""
    if status != 200:
        return "error", f"HTTP {status}: {data[:200]!r}"
    try:
        answer = json.loads(data)
        messages = answer["messages"]
        last = messages[-1]
        payloads = tuple(button["payload"] for button in last["buttons"])
    except (ValueError, KeyError, IndexError, TypeError) as error:
        return "error", f"malformed answer ({type(error).__name__}): {data[:200]!r}"
    if answer.get("duplicate"):
        return "off-script", f"{move} answered as a duplicate"
    if payloads != move.expect:
        return "off-script", f"{move} led to buttons {payloads}: {last.get('text', '')[:80]!r}"
    return "ok", ""


def run_user(user: User, index: int, users: int, phase: Phase, start: float, counted_from: float,
             until: float, log: UserLog) -> None:
    """Walk the script until `until`; record turns that start at or after `counted_from`."""
    interval = users / phase.rate if phase.rate > 0 else 0.0
    next_at = start + interval * index / users  # stagger paced users evenly over one interval
    step = 0
    while True:
        if interval:
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            elif pause < -1.0:  # more than a second behind: drop the backlog instead of bursting
                next_at = time.perf_counter()
            next_at += interval
        began = time.perf_counter()
        if began >= until:
            break
        move = SCRIPT[step % len(SCRIPT)]
        step += 1
        try:
            status, data = user.post(move)
            verdict, detail = check_answer(status, data, move)
        except (OSError, http.client.HTTPException) as error:
            verdict, detail = "error", f"{type(error).__name__}: {error}"
        elapsed = time.perf_counter() - began
        if began < counted_from:
            continue
        if verdict == "error":
            log.errors += 1
        else:
            log.latencies.append(elapsed)
            if verdict == "off-script":
                log.off_script += 1
        if detail and len(log.samples) < 3:
            log.samples.append(detail)


def run_phase(port: int, database: str, phase: Phase, users: int, warmup: float, seconds: float,
              outbox: Callable[[], int | None]) -> PhaseResult:
    clients = [User(port, index) for index in range(users)]
    logs = [UserLog() for _ in range(users)]
    start = time.perf_counter() + 0.05
    counted_from = start + warmup
    until = counted_from + seconds
    threads = [
        threading.Thread(target=run_user, name=f"user-{index}", daemon=True,  # Ctrl+C must not wait for them
                         args=(clients[index], index, users, phase, start, counted_from, until, logs[index]))
        for index in range(users)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return PhaseResult(
        database=database, phase=phase, users=users, seconds=seconds,
        latencies=[latency for log in logs for latency in log.latencies],
        errors=sum(log.errors for log in logs), off_script=sum(log.off_script for log in logs),
        samples=[sample for log in logs for sample in log.samples][:5], outbox=outbox(),
    )


# -- the server under test -------------------------------------------------------------------------

def ptibot_command(explicit: str | None) -> list[str]:
    """`ptibot` next to this interpreter (the project's venv), else on PATH, else `python -m bot`."""
    if explicit:
        return [explicit]
    try:
        return [executable("ptibot")]
    except RuntimeError:
        return [sys.executable, "-m", "bot"]


@contextmanager
def serve(command: Sequence[str], data_dir: Path, database_url: str | None,
          start_timeout: float, stop_timeout: float) -> Iterator[int]:
    """Run `ptibot serve` on a free port (yielded) until the block ends, healthy first (harness.managed)."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in SCRUBBED_ENV}
    env.update(PTIBOT_ENV="development", PTIBOT_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    if database_url:
        env["DATABASE_URL"] = database_url
    with managed("ptibot serve", [*command, "serve", "--host", HOST, "--port", str(port)], env, data_dir,
                 data_dir / "server.log", lambda: healthy(port), start_timeout, stop_timeout):
        yield port


# -- running and printing --------------------------------------------------------------------------

COLUMNS = (("database", 10, "<"), ("phase", 12, "<"), ("users", 5, ">"), ("turns", 7, ">"),
           ("turns/s", 8, ">"), ("p50 ms", 7, ">"), ("p90 ms", 7, ">"), ("p99 ms", 7, ">"),
           ("max ms", 7, ">"), ("errors", 6, ">"), ("off-script", 10, ">"), ("outbox", 6, ">"))


def format_result(result: PhaseResult) -> str:
    def p(q: float) -> str:
        return ms(percentile(result.latencies, q))

    return table_row((
        result.database, result.phase.name, str(result.users), str(result.turns),
        f"{result.turns / result.seconds:.1f}", p(50), p(90), p(99), p(100), str(result.errors),
        str(result.off_script), "?" if result.outbox is None else str(result.outbox),
    ), COLUMNS)


def bench_database(label: str, args: argparse.Namespace, phases: Sequence[Phase], command: Sequence[str],
                   postgres_base: str | None) -> list[PhaseResult]:
    results: list[PhaseResult] = []
    with fresh_round(label, postgres_base, args.keep_data) as rnd:
        def outbox() -> int | None:
            return read_count(rnd, OUTBOX_QUERY)

        print(f"[{label}] starting ptibot serve (data dir {rnd.data_dir})", file=sys.stderr, flush=True)
        # No DATABASE_URL on SQLite: `ptibot serve` uses its default file in the data dir.
        with serve(command, rnd.data_dir, rnd.libpq_url, args.start_timeout, args.stop_timeout) as port:
            for phase in phases:
                print(f"[{label}] {phase.name}: {args.users} users, {args.warmup:g} s warm-up + "
                      f"{args.seconds:g} s", file=sys.stderr, flush=True)
                result = run_phase(port, label, phase, args.users, args.warmup, args.seconds, outbox)
                results.append(result)
                print(format_result(result), flush=True)
    return results


def phases_for(rate: float | None) -> list[Phase]:
    if rate is None:
        return [Phase(f"{DEFAULT_MODERATE_RATE:g} turns/s", DEFAULT_MODERATE_RATE), Phase("max", 0.0)]
    return [Phase(f"{rate:g} turns/s", rate) if rate > 0 else Phase("max", 0.0)]


def verdict_line(results: Sequence[PhaseResult], target_ms: float) -> str:
    paced = [result for result in results if result.phase.rate > 0]
    if not paced:
        return "p99 at moderate load: no paced phase was run (use --rate R with R > 0, or no --rate)"
    figures = ", ".join(f"{r.database} {r.percentile_ms(99):.1f} ms" for r in paced)
    ok = all(r.turns and r.percentile_ms(99) < target_ms and not r.errors for r in paced)
    rates = sorted({f"{r.phase.rate:g}" for r in paced})
    return (f"p99 at moderate load ({'/'.join(rates)} turns/s): {figures}; "
            f"target < {target_ms:g} ms: {'OK' if ok else 'ABOVE'}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark web chat turns (POST /webchat/api/messages) against a real `ptibot serve`: "
                    "turns/s and p50/p90/p99/max latency, on SQLite and, when DATABASE_URL or --postgres "
                    "names a PostgreSQL server, on a fresh database there too.",
        epilog="Without --rate, two phases run per database: paced at 50 turns/s in total (latency at "
               "moderate load, compared with the p99 target) and unpaced (maximum throughput).",
    )
    parser.add_argument("--users", type=int, default=8, help="concurrent simulated users (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="seconds per phase before measuring; not counted (default 1)")
    parser.add_argument("--rate", type=float, default=None,
                        help="run one phase only, with users pacing themselves to R turns/s in total; "
                             "0 = no pacing, maximum throughput (default: both phases, 50 then max)")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="PostgreSQL server URL to benchmark too (default: DATABASE_URL when it is a "
                             "postgres:// or postgresql:// URL); a fresh database is created and dropped")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite round")
    parser.add_argument("--target-ms", type=float, default=20.0, help="p99 target at moderate load (default 20)")
    parser.add_argument("--ptibot", metavar="PATH", default=None,
                        help="the ptibot executable (default: the one beside this Python, else on PATH)")
    parser.add_argument("--start-timeout", type=float, default=60.0,
                        help="seconds to wait for GET /healthz (default 60)")
    parser.add_argument("--stop-timeout", type=float, default=5.0,
                        help="seconds to wait after SIGTERM before killing the server (default 5)")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data dirs (server.log)")
    args = parser.parse_args(argv)
    if args.users < 1 or args.seconds <= 0 or args.warmup < 0 or (args.rate is not None and args.rate < 0):
        parser.error("--users must be >= 1, --seconds > 0, --warmup >= 0 and --rate >= 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    phases = phases_for(args.rate)
    rounds = database_rounds(args.postgres, args.no_sqlite)
    if not rounds:
        return 2
    command = ptibot_command(args.ptibot)
    print(f"web chat turns: {args.users} users, {args.warmup:g} s warm-up + {args.seconds:g} s per phase, "
          f"script of {len(SCRIPT)} moves; latency per POST {ENDPOINT}, client-measured")
    print(table_header(COLUMNS))
    results: list[PhaseResult] = []
    failed = False
    for label, base in rounds:
        try:
            results += bench_database(label, args, phases, command, base)
        except Exception as error:  # one database failing must not hide the other's figures
            print(f"[{label}] failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            failed = True
    for result in results:
        for sample in result.samples:
            print(f"  {result.database} {result.phase.name}: {sample}")
    print()
    print(verdict_line(results, args.target_ms))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
