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
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

HOST = "127.0.0.1"
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

# Settings the bench must not inherit: it talks to no provider and owns its database and data dir.
SCRUBBED_ENV = (
    "DATABASE_URL", "PTIBOT_DATA_DIR", "PORT", "PUBLIC_BASE_URL", "SMTP_URL", "MAIL_FROM",
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
    "TWILIO_WHATSAPP_FROM", "SECRET_KEY", "DATA_ENCRYPTION_KEYS",
)


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
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        return ordered[rank - 1] * 1000


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
              outbox: OutboxProbe) -> PhaseResult:
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

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def ptibot_command(explicit: str | None) -> list[str]:
    """`ptibot` next to this interpreter (the project's venv), else on PATH, else `python -m bot`."""
    if explicit:
        return [explicit]
    beside = Path(sys.executable).parent / "ptibot"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ptibot")
    return [found] if found else [sys.executable, "-m", "bot"]


def healthy(port: int) -> bool:
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


@dataclass(slots=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    stop_note: str = ""


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def serve(command: Sequence[str], data_dir: Path, database_url: str | None,
          start_timeout: float, stop_timeout: float) -> Iterator[Server]:
    """Run `ptibot serve` until the block ends: SIGTERM first, SIGKILL if it does not stop in time."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in SCRUBBED_ENV}
    env.update(PTIBOT_ENV="development", PTIBOT_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    if database_url:
        env["DATABASE_URL"] = database_url
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log_file:
        # The data dir is the working directory too, so no stray `.env` file leaks settings in.
        process = subprocess.Popen([*command, "serve", "--host", HOST, "--port", str(port)], cwd=data_dir,
                                   env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(process, port, log_path)
    try:
        deadline = time.monotonic() + start_timeout
        while not healthy(port):
            if process.poll() is not None:
                raise RuntimeError(f"ptibot serve exited with {process.returncode}:\n{log_tail(log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"ptibot serve not healthy after {start_timeout:.0f} s:\n{log_tail(log_path)}")
            time.sleep(0.05)
        yield server
    finally:
        server.stop_note = stop(process, stop_timeout)


def stop(process: subprocess.Popen[bytes], timeout: float) -> str:
    """Stop the server; describe what it took when SIGTERM alone was not enough."""
    if process.poll() is not None:
        return ""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
        return ""
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return f"ptibot serve did not stop within {timeout:.0f} s of SIGTERM; killed"


# -- databases -------------------------------------------------------------------------------------

class OutboxProbe:
    """Counts outbound messages still queued or being sent, straight from the database."""

    QUERY = "SELECT count(*) FROM messages WHERE direction = 'out' AND status IN ('queued', 'sending')"

    def __init__(self, sqlite_path: Path | None = None, postgres_url: str | None = None) -> None:
        self.sqlite_path = sqlite_path
        self.postgres_url = postgres_url

    def __call__(self) -> int | None:
        try:
            if self.sqlite_path is not None:
                connection = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=5)
                try:
                    row = connection.execute(self.QUERY).fetchone()
                finally:
                    connection.close()
            elif self.postgres_url is not None:
                import psycopg

                with psycopg.connect(self.postgres_url, connect_timeout=5) as pg_connection:
                    row = pg_connection.execute(self.QUERY).fetchone()
            else:
                return None
        except Exception:  # a probe that cannot read the database shows "?", it must not stop the bench
            return None
        return int(row[0]) if row else None


def postgres_base_url(option: str | None) -> str | None:
    """The PostgreSQL server to use: --postgres, else DATABASE_URL when it is a PostgreSQL URL."""
    url = option or os.environ.get("DATABASE_URL", "")
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.split("+")[0] not in ("postgres", "postgresql"):
        return None
    return f"postgresql://{rest}"  # psycopg wants plain libpq URLs: no SQLAlchemy "+driver" suffix


def with_database(url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def fresh_postgres_database(base_url: str) -> Iterator[str]:
    """Create a uniquely named database on the server of `base_url`; drop it (WITH FORCE) afterwards."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"ptibot_bench_{uuid.uuid4().hex[:12]}"
    maintenance = make_conninfo(base_url, dbname="postgres")
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(base_url, name)
    finally:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# -- running and printing --------------------------------------------------------------------------

COLUMNS = (("database", 10, "<"), ("phase", 12, "<"), ("users", 5, ">"), ("turns", 7, ">"),
           ("turns/s", 8, ">"), ("p50 ms", 7, ">"), ("p90 ms", 7, ">"), ("p99 ms", 7, ">"),
           ("max ms", 7, ">"), ("errors", 6, ">"), ("off-script", 10, ">"), ("outbox", 6, ">"))


def row(values: Sequence[str]) -> str:
    return "  ".join(f"{value:{align}{width}}" for value, (_, width, align) in zip(values, COLUMNS, strict=True))


def format_result(result: PhaseResult) -> str:
    def ms(p: float) -> str:
        value = result.percentile_ms(p)
        return "-" if math.isnan(value) else f"{value:.1f}"

    return row((
        result.database, result.phase.name, str(result.users), str(result.turns),
        f"{result.turns / result.seconds:.1f}", ms(50), ms(90), ms(99), ms(100), str(result.errors),
        str(result.off_script), "?" if result.outbox is None else str(result.outbox),
    ))


def bench_database(label: str, args: argparse.Namespace, phases: Sequence[Phase], command: Sequence[str],
                   postgres_base: str | None) -> list[PhaseResult]:
    results: list[PhaseResult] = []
    data_dir = Path(tempfile.mkdtemp(prefix=f"ptibot-bench-{label}-"))
    try:
        with (fresh_postgres_database(postgres_base) if postgres_base else _no_database()) as database_url:
            probe = (OutboxProbe(postgres_url=database_url) if database_url
                     else OutboxProbe(sqlite_path=data_dir / "ptibot.sqlite3"))
            print(f"[{label}] starting ptibot serve (data dir {data_dir})", file=sys.stderr, flush=True)
            with serve(command, data_dir, database_url, args.start_timeout, args.stop_timeout) as server:
                for phase in phases:
                    print(f"[{label}] {phase.name}: {args.users} users, {args.warmup:g} s warm-up + "
                          f"{args.seconds:g} s", file=sys.stderr, flush=True)
                    result = run_phase(server.port, label, phase, args.users, args.warmup, args.seconds, probe)
                    results.append(result)
                    print(format_result(result), flush=True)
            if server.stop_note:
                print(f"[{label}] note: {server.stop_note}", file=sys.stderr, flush=True)
    finally:
        if args.keep_data:
            print(f"[{label}] kept {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return results


@contextmanager
def _no_database() -> Iterator[None]:
    yield None


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
    postgres = postgres_base_url(args.postgres)
    if args.postgres and postgres is None:
        print(f"--postgres must be a postgres:// or postgresql:// URL, not {args.postgres!r}", file=sys.stderr)
        return 2
    rounds: list[tuple[str, str | None]] = [] if args.no_sqlite else [("sqlite", None)]
    if postgres:
        rounds.append(("postgresql", postgres))
    if not rounds:
        print("nothing to run: --no-sqlite and no PostgreSQL URL", file=sys.stderr)
        return 2
    command = ptibot_command(args.ptibot)
    print(f"web chat turns: {args.users} users, {args.warmup:g} s warm-up + {args.seconds:g} s per phase, "
          f"script of {len(SCRIPT)} moves; latency per POST {ENDPOINT}, client-measured")
    print(row([name for name, _, _ in COLUMNS]))
    print(row(["-" * width for _, width, _ in COLUMNS]))
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
