"""Shared plumbing of `turns.py`, `webhooks.py` and `broadcast.py`; not a benchmark itself.

What it holds: the environment the app under test gets (scrubbed of the caller's settings, with fixed
secrets so several processes agree on the encryption key), subprocesses started in their own session and
always stopped (SIGTERM to the whole group, SIGKILL if that is not enough, also on Ctrl+C), one temporary
data dir and one fresh database per round (SQLite inside the data dir, or a PostgreSQL database created
and dropped with the round), free ports and health checks, CPU accounting from /proc, and percentiles.
"""

from __future__ import annotations

import http.client
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TELEGRAM_TOKEN = "123456:bench-token"
TELEGRAM_SECRET = "bench-webhook-secret"
PUBLIC_BASE_URL = "https://bot.example.mx"
TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TWILIO_AUTH_TOKEN = "fedcba9876543210" * 2
TWILIO_WHATSAPP_FROM = "whatsapp:+14155238886"
CORES_NOTE = (f"{os.cpu_count()} cores shared by the load generator, the fakes and the server processes "
              "(and whatever else runs on this machine)")

# Settings no bench may inherit: it talks to no provider and owns its database and data dir.
SCRUBBED_ENV = (
    "DATABASE_URL", "PTIBOT_DATA_DIR", "PORT", "PUBLIC_BASE_URL", "SMTP_URL", "MAIL_FROM",
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
    "TWILIO_WHATSAPP_FROM", "SECRET_KEY", "DATA_ENCRYPTION_KEYS",
)
# Besides those, for webhooks.py and broadcast.py: settings that would change what is measured.
EXTRA_SCRUBBED = (
    "PTIBOT_ENV", "TELEGRAM_API_BASE_URL", "TWILIO_API_BASE_URL", "WHATSAPP_TEMPLATES", "WHATSAPP_SEND_RATE",
    "QUIET_HOURS", "REMINDER_HOUR", "BUSINESS_TIMEZONE", "BUSINESS_HOURS", "NUDGE_AFTER_HOURS",
    "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY",
)


def project_on_path() -> None:
    """Make `tests.fakes` importable (the project's packages are installed; the tests are not)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def interrupt_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so `kill` cleans up like Ctrl+C does."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def executable(name: str) -> str:
    """A console script beside this interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found beside {sys.executable} nor on PATH")
    return found


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def app_env(data_dir: Path, database_url: str, encryption_key: str, **extra: str) -> dict[str, str]:
    """The environment of every process of one round: same database, same secrets."""
    env = {name: value for name, value in os.environ.items()
           if name not in SCRUBBED_ENV and name not in EXTRA_SCRUBBED}
    env.update(PTIBOT_ENV="development", PTIBOT_DATA_DIR=str(data_dir), DATABASE_URL=database_url,
               SECRET_KEY="bench-secret-key-" + "x" * 32, DATA_ENCRYPTION_KEYS=encryption_key,
               PYTHONUNBUFFERED="1", **extra)
    return env


def db_upgrade(env: Mapping[str, str], cwd: Path) -> None:
    """`ptibot db upgrade` against the round's database, as a deployment's release step would."""
    result = subprocess.run([executable("ptibot"), "db", "upgrade"], env=dict(env), cwd=cwd,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"ptibot db upgrade failed ({result.returncode}):\n{result.stdout}{result.stderr}")


# -- rounds: a data dir and a fresh database ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Round:
    label: str  # "sqlite" | "postgresql"
    data_dir: Path
    database_url: str  # what the app gets in DATABASE_URL
    libpq_url: str | None  # the same PostgreSQL database for psycopg, None on SQLite


def database_rounds(postgres_option: str | None, no_sqlite: bool) -> list[tuple[str, str | None]] | None:
    """[("sqlite", None), ("postgresql", base URL)] as asked; None, said on stderr, when nothing can run."""
    postgres = postgres_base_url(postgres_option)
    if postgres_option and postgres is None:
        print(f"--postgres must be a postgres:// or postgresql:// URL, not {postgres_option!r}", file=sys.stderr)
        return None
    rounds: list[tuple[str, str | None]] = [] if no_sqlite else [("sqlite", None)]
    if postgres:
        rounds.append(("postgresql", postgres))
    if not rounds:
        print("nothing to run: --no-sqlite and no PostgreSQL URL", file=sys.stderr)
        return None
    return rounds


def postgres_base_url(option: str | None) -> str | None:
    """The PostgreSQL server to use: --postgres, else DATABASE_URL when it is a PostgreSQL URL."""
    url = option or os.environ.get("DATABASE_URL", "")
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.split("+")[0] not in ("postgres", "postgresql"):
        return None
    return f"postgresql://{rest}"  # psycopg wants plain libpq URLs: no SQLAlchemy "+driver" suffix


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
        yield urllib.parse.urlunsplit(urllib.parse.urlsplit(base_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def fresh_round(label: str, postgres_base: str | None, keep_data: bool) -> Iterator[Round]:
    """A temporary data dir, and a new PostgreSQL database when asked; both removed afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"ptibot-bench-{label}-"))
    try:
        if postgres_base:
            with fresh_postgres_database(postgres_base) as url:
                yield Round(label, data_dir, url, url)
        else:
            yield Round(label, data_dir, f"sqlite:///{data_dir / 'ptibot.sqlite3'}", None)
    finally:
        if keep_data:
            print(f"[{label}] kept {data_dir}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


def read_count(rnd: Round, query: str) -> int | None:
    """A `SELECT count(*)` on the round's database without taking any lock (SQLite read-only, or psycopg);
    None when the database cannot be read just now."""
    try:
        if rnd.libpq_url is None:
            connection = sqlite3.connect(f"file:{rnd.data_dir / 'ptibot.sqlite3'}?mode=ro", uri=True, timeout=5)
            try:
                row = connection.execute(query).fetchone()
            finally:
                connection.close()
        else:
            import psycopg

            with psycopg.connect(rnd.libpq_url, connect_timeout=5) as pg:
                row = pg.execute(query).fetchone()
    except Exception:  # a busy or unreadable database must not stop the bench; the caller asks again
        return None
    return int(row[0]) if row else None


# -- subprocesses -------------------------------------------------------------------------------------

@dataclass(slots=True)
class Managed:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@contextmanager
def managed(name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path,
            ready: Callable[[], bool] | None, start_timeout: float, stop_timeout: float) -> Iterator[Managed]:
    """Run a process (in its own session, so a terminal's Ctrl+C reaches only us) until the block ends.

    `ready` is polled until true (the process must not exit meanwhile). On the way out the whole process
    group gets SIGTERM, then SIGKILL after `stop_timeout` seconds.
    """
    with log_path.open("ab") as log_file:
        # The data dir is the working directory, so no stray `.env` file leaks settings in.
        process = subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                   stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    handle = Managed(name, process, log_path)
    try:
        deadline = time.monotonic() + start_timeout
        while ready is not None and not ready():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_tail(log_path)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {start_timeout:.0f} s:\n{log_tail(log_path)}")
            time.sleep(0.05)
        yield handle
    finally:
        note = stop_group(process, name, stop_timeout)
        if note:
            print(f"note: {note}", file=sys.stderr, flush=True)


def stop_group(process: subprocess.Popen[bytes], name: str, timeout: float) -> str:
    """SIGTERM the process group, SIGKILL it if it outlives `timeout`; describe anything unusual."""
    note = ""
    interrupted = False
    try:
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                note = f"{name} did not stop within {timeout:g} s of SIGTERM; killed"
    except KeyboardInterrupt:  # Ctrl+C while stopping: stop harder, then pass the interrupt on
        note, interrupted = f"{name} interrupted while stopping; killed", True
    finally:
        _signal_group(process, signal.SIGKILL)  # also reaps children the leader left behind
        if process.poll() is None:
            process.wait()
    if interrupted:
        raise KeyboardInterrupt
    return note


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def healthy(port: int) -> bool:
    """Whether `GET /healthz` on that local port answers 200."""
    connection = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def log_has(path: Path, text: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return text in path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False

    return check


# -- measuring ----------------------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user+system) of one process, from /proc; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu_seconds(root_pid: int) -> float | None:
    """CPU seconds used so far by a process and its live descendants (Linux /proc; None elsewhere)."""
    if not Path("/proc").is_dir():
        return None
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found:
                stats[int(entry)] = found
    if root_pid not in stats:
        return None
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, pending = 0.0, [root_pid]
    while pending:
        pid = pending.pop()
        total += stats[pid][1]
        pending.extend(children.get(pid, ()))
    return total


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat; None elsewhere."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields) - idle) / _TICKS, sum(fields) / _TICKS


def busy_fraction(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    """Share of all cores that were busy between two `machine_busy()` samples."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (nan when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 1000:.1f}"


def table_row(values: Sequence[str], columns: Sequence[tuple[str, int, str]]) -> str:
    return "  ".join(f"{value:{align}{width}}" for value, (_, width, align) in zip(values, columns, strict=True))


def table_header(columns: Sequence[tuple[str, int, str]]) -> str:
    return "\n".join((table_row([name for name, _, _ in columns], columns),
                      table_row(["-" * width for _, width, _ in columns], columns)))


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description="Shared plumbing of bench/turns.py, bench/webhooks.py and bench/broadcast.py (processes, "
                    "temporary databases, CPU accounting); not a benchmark. Run those scripts instead.")
    parser.parse_args(argv)
    print(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
