"""Faults the scale-out must survive, tested black-box: webhooks in, replies awaited at the loopback fakes.

- A provider slower than our HTTP client's timeout: the worker gives up on that call, retries it after a
  backoff, delivers every reply once, and the other chats are not held up behind it.
- 5xx and 429 answers while the worker runs for real (`tests/test_worker.py` and friends drive the
  dispatcher with a shifted clock; here time passes for real and nobody calls `run_once` by hand).
- PostgreSQL restarted under load: a private throwaway cluster is stopped and started again while several
  chats keep writing to `ptibot serve`; every acknowledged update gets its replies exactly once and the
  service heals without anyone touching it.

Nothing here looks at the inbound queue right after a webhook: the webhook may queue the delivery and
acknowledge before any turn runs, so the tests wait, with a deadline, for replies at the fake APIs.

The senders' HTTP timeout is `PROVIDER_TIMEOUT` (10 s by default); this module sets it to `CLIENT_TIMEOUT`
so a stalled call costs a second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select
from twilio.request_validator import RequestValidator

from bot.config import Settings, normalise_database_url
from bot.wiring import Services
from storage.models import Message
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import (
    PUBLIC_URL,
    ROOT,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    environment,
    free_port,
    post_json,
    skip_or_fail,
    telegram_text_update,
    telegram_welcome,
)

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
CLIENT_TIMEOUT = 1.0  # seconds: PROVIDER_TIMEOUT for this module's senders


def wait_until(condition: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {describe()}")
        time.sleep(0.05)


def telegram_texts(api: FakeTelegramAPI) -> dict[int, list[str]]:
    """What each chat actually received (accepted sendMessage calls), in order."""
    received: dict[int, list[str]] = {}
    for call in api.calls_to("sendMessage"):
        if call.status == 200:
            received.setdefault(call.params["chat_id"], []).append(call.params["text"])
    return received


def outbox(services: Services) -> list[tuple[str, int]]:
    """(status, attempts) of every outbound row; read only once the replies have arrived."""
    with services.database.session_scope() as session:
        rows = session.execute(select(Message.status, Message.attempts).where(Message.direction == "out")
                               .order_by(Message.id)).all()
    return [(status, attempts) for status, attempts in rows]


def start_worker(services: Services) -> None:
    assert services.worker is not None
    services.worker.start_thread()  # the fixture's `services.close()` stops it


def hola_from_telegram_chats(chats: tuple[int, ...], client: FlaskClient, services: Services,
                             api: FakeTelegramAPI, describe: Callable[[], str]) -> None:
    """Start the worker, have each chat write "hola" (acknowledged), wait until its two replies (the welcome and
    the menu) are recorded as sent, then half a second more: anything sent twice would show up by then."""
    start_worker(services)
    for update_id, chat in enumerate(chats, 1):
        response = client.post("/webhooks/telegram", json=telegram_text_update(update_id, chat, "hola"),
                               headers=HEADERS)
        assert response.status_code == 200
    wait_until(lambda: [status for status, _ in outbox(services)] == ["sent"] * 2 * len(chats), 30, describe)
    time.sleep(0.5)


def assert_welcome_and_menu_once(api: FakeTelegramAPI, chats: tuple[int, ...]) -> None:
    """Each chat got the welcome, then the menu with its buttons, once each: as two messages, or as one when
    the rate was behind (a bot-wide 429 kept the retries waiting) and the bubbles went joined."""
    for chat in chats:
        sent = telegram_welcome(api, chat)
        assert len(sent) in (1, 2) and [bool(params.get("reply_markup")) for params in sent] in (
            [True], [False, True]), (chat, api.calls_to("sendMessage"))


@pytest.fixture
def telegram_settings(telegram_settings: Settings) -> Settings:
    """PROVIDER_TIMEOUT shortened, so a stalled call costs the test a second rather than ten."""
    return dataclasses.replace(telegram_settings, provider_timeout=CLIENT_TIMEOUT)


@pytest.fixture
def whatsapp_settings(whatsapp_settings: Settings) -> Settings:
    return dataclasses.replace(whatsapp_settings, provider_timeout=CLIENT_TIMEOUT)


def test_telegram_slower_than_the_client_timeout_is_retried_and_other_chats_go_on(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: FakeTelegramAPI) -> None:
    telegram_api.stall_next("sendMessage", times=2)  # held until the test ends: only a client timeout frees them
    chats = (101, 102, 103)
    hola_from_telegram_chats(chats, telegram_client, telegram_services, telegram_api,
                             lambda: f"stalled {telegram_api.stalled}, received {telegram_texts(telegram_api)}")

    calls = telegram_api.calls_to("sendMessage")
    assert telegram_api.stalled == 2, [c.status for c in calls]
    assert_welcome_and_menu_once(telegram_api, chats)
    for stalled in (c for c in calls if c.status == 0):
        retry = next(c for c in calls if c.at > stalled.at and c.params["chat_id"] == stalled.params["chat_id"])
        assert retry.params["text"].startswith(stalled.params["text"])  # alone, or with the bubbles after it
        assert retry.at - stalled.at >= CLIENT_TIMEOUT + 0.9, "retried without backing off"
    # The stalled chats' first replies went after another chat's: one slow call holds the queue up for the
    # client timeout at most.
    first_sent = {chat: min(c.at for c in calls if c.status == 200 and c.params["chat_id"] == chat) for chat in chats}
    stalled_chats = {c.params["chat_id"] for c in calls if c.status == 0}
    free_chats = set(chats) - stalled_chats
    assert free_chats and min(first_sent[c] for c in free_chats) < max(first_sent[c] for c in stalled_chats)
    rows = outbox(telegram_services)
    assert [status for status, _ in rows] == ["sent"] * 6
    assert sum(attempts for _, attempts in rows) == 6 + 2  # each stalled call counted as one retried attempt


def test_telegram_5xx_and_retry_after_through_the_running_worker(
        telegram_client: FlaskClient, telegram_services: Services, telegram_api: FakeTelegramAPI) -> None:
    telegram_api.fail_next("sendMessage", status=500)
    telegram_api.fail_next("sendMessage", status=502)
    telegram_api.fail_next("sendMessage", status=429, retry_after=2)
    chats = (201, 202, 203)
    hola_from_telegram_chats(
        chats, telegram_client, telegram_services, telegram_api,
        lambda: f"calls {[(c.params['chat_id'], c.status) for c in telegram_api.calls_to('sendMessage')]}")

    calls = telegram_api.calls_to("sendMessage")
    assert sorted(c.status for c in calls if c.status != 200) == [429, 500, 502]
    assert_welcome_and_menu_once(telegram_api, chats)
    limited = next(c for c in calls if c.status == 429)
    retry = next(c for c in calls if c.at > limited.at and c.params["chat_id"] == limited.params["chat_id"])
    assert retry.at - limited.at >= 1.9, "Telegram's retry_after was not honoured"
    assert [status for status, _ in outbox(telegram_services)] == ["sent"] * 6


def post_whatsapp(client: FlaskClient, api: Any, number: str, body: str) -> int:
    params = api.inbound_payload(f"whatsapp:{number}", body)
    signature = RequestValidator(api.auth_token).compute_signature(PUBLIC_URL + "/webhooks/whatsapp", params)
    return client.post("/webhooks/whatsapp", data=params, headers={"X-Twilio-Signature": signature}).status_code


def whatsapp_bodies(api: Any) -> dict[str, list[str]]:
    received: dict[str, list[str]] = {}
    for message in api.messages():
        received.setdefault(message["To"].removeprefix("whatsapp:"), []).append(message.get("Body", ""))
    return received


NUMBERS = ("+5215512340001", "+5215512340002", "+5215512340003")


def hola_from_whatsapp_numbers(client: FlaskClient, services: Services, api: Any,
                               describe: Callable[[], str]) -> None:
    """Start the worker, have each of NUMBERS write "hola" (acknowledged), wait until each has at least its two
    replies, then half a second more: anything sent twice would show up by then."""
    start_worker(services)
    for number in NUMBERS:
        assert post_whatsapp(client, api, number, "hola") == 200
    wait_until(lambda: all(len(whatsapp_bodies(api).get(n, [])) >= 2 for n in NUMBERS), 30, describe)
    time.sleep(0.5)


def test_twilio_slower_than_the_client_timeout_is_retried_and_other_chats_go_on(
        whatsapp_client: FlaskClient, whatsapp_services: Services, twilio_api: Any) -> None:
    twilio_api.stall_next(times=2)  # held until the test ends: only a client timeout frees them
    hola_from_whatsapp_numbers(whatsapp_client, whatsapp_services, twilio_api,
                               lambda: f"stalled {twilio_api.stalled}, received {whatsapp_bodies(twilio_api)}")

    assert twilio_api.stalled == 2
    for number, bodies in whatsapp_bodies(twilio_api).items():
        assert len(bodies) == 2 and "IMSS" in bodies[0], (number, bodies)
    calls = twilio_api.calls_to("/Messages.json")
    for stalled in (c for c in calls if c.status == 0):
        retry = next(c for c in calls if c.at > stalled.at and c.params["To"] == stalled.params["To"])
        assert retry.params["Body"] == stalled.params["Body"]
        assert retry.at - stalled.at >= CLIENT_TIMEOUT + 0.9, "retried without backing off"
    first_sent = {n: min(c.at for c in calls if c.status == 201 and c.params["To"] == [f"whatsapp:{n}"])
                  for n in NUMBERS}
    stalled_numbers = {c.params["To"][0].removeprefix("whatsapp:") for c in calls if c.status == 0}
    free_numbers = set(NUMBERS) - stalled_numbers
    assert free_numbers and min(first_sent[n] for n in free_numbers) < max(first_sent[n] for n in stalled_numbers)
    rows = outbox(whatsapp_services)
    assert [status for status, _ in rows] == ["sent"] * 6
    assert sum(attempts for _, attempts in rows) == 6 + 2


def test_twilio_5xx_and_429_through_the_running_worker(whatsapp_client: FlaskClient,
                                                       whatsapp_services: Services, twilio_api: Any) -> None:
    twilio_api.fail_next(status=500)
    twilio_api.fail_next(status=503)
    twilio_api.fail_next(status=429)  # Twilio sends no Retry-After: the worker's own backoff applies
    hola_from_whatsapp_numbers(
        whatsapp_client, whatsapp_services, twilio_api,
        lambda: f"calls {[(c.params.get('To'), c.status) for c in twilio_api.calls_to('/Messages.json')]}")

    assert sorted(c.status for c in twilio_api.calls_to("/Messages.json") if c.status != 201) == [429, 500, 503]
    for number, bodies in whatsapp_bodies(twilio_api).items():
        assert len(bodies) == 2 and "IMSS" in bodies[0], (number, bodies)
    assert [status for status, _ in outbox(whatsapp_services)] == ["sent"] * 6


# --- PostgreSQL restarted under load ------------------------------------------------------------------------


def postgres_bin_dir() -> Path | None:
    """Debian keeps initdb and pg_ctl out of PATH, under /usr/lib/postgresql/<major>/bin; take the newest."""
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    found.sort(key=lambda bin_dir: int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0)
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A throwaway cluster on a free loopback port, so restarting it cannot disturb the shared test database.

    initdb refuses to run as root: as root, the server's commands run as the `postgres` user (`runuser`)
    in a directory handed over to it.
    """

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ptibot-pg-"))  # not under pytest's tmp: postgres must reach it
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self.as_user, str(self.bin_dir / tool), *args], cwd=self.root,
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(args)} failed: {result.stdout}{result.stderr}\n{self.log_tail()}")

    def create(self) -> None:
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                       "fsync = off\nfull_page_writes = off\nsynchronous_commit = off\n")
        self.start()

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def destroy(self) -> None:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        skip_or_fail("no PostgreSQL server binaries (Debian package `postgresql`) to start a private cluster")
    assert bin_dir is not None
    cluster = PrivatePostgres(bin_dir)
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.destroy()


class Serve:
    """`ptibot serve` with its output in a file: a pipe nobody reads would stall it once its logs fill it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._output = log.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(self.port)], env=env,
                                        cwd=ROOT, stdout=self._output, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float) -> None:
        wait_until(lambda: self.health() == 200, timeout,
                   lambda: f"/healthz never answered 200 (serve exit code {self.process.poll()})\n{self.problems()}")

    def health(self) -> int | None:
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.close()
            return error.code
        except OSError:
            return None

    def problems(self, limit: int = 6) -> str:
        """The last distinct warnings and errors of the JSON log, each with its frames in our code only."""
        seen: dict[str, None] = {}
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("level") not in ("WARNING", "ERROR"):
                continue
            exception = str(record.get("exception", "")).splitlines()
            frames = [f.strip() for f in exception if str(ROOT) in f and "/.venv/" not in f]
            seen["\n    ".join([f"{record['level']} {record['logger']}: {record['message']}", *frames,
                                *[f for f in exception if f and not f.startswith("(Background")][-1:]])] = None
        return "\n".join(list(seen)[-limit:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._output.close()


def outbox_statuses(url: str) -> str:
    """For a failure message only: where the replies that did not arrive are stuck."""
    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Message.status, func.count()).where(Message.direction == "out")
                                      .group_by(Message.status)).all()
        return str({status: count for status, count in rows})
    except Exception as error:  # diagnostics must not hide the real failure
        return f"unreadable ({type(error).__name__})"
    finally:
        engine.dispose()


class TelegramChat(threading.Thread):
    """One user writing through Telegram: each update is posted until acknowledged, as Telegram redelivers."""

    def __init__(self, base: str, chat: int, script: list[str], pause: float, deadline: float) -> None:
        super().__init__(name=f"chat-{chat}", daemon=True)
        self.base, self.chat, self.script, self.pause, self.deadline = base, chat, script, pause, deadline
        self.acknowledged = 0
        self.refused: list[str] = []  # non-200 answers and connection errors, retried
        self.error: str | None = None

    def run(self) -> None:
        for step, text in enumerate(self.script):
            update = telegram_text_update(self.chat * 1000 + step, self.chat, text)
            while not self._post(update):
                if time.monotonic() > self.deadline:
                    self.error = f"update {step} of chat {self.chat} never acknowledged: {self.refused[-3:]}"
                    return
                time.sleep(0.25)
            self.acknowledged += 1
            time.sleep(self.pause)

    def _post(self, update: dict[str, Any]) -> bool:
        try:
            status, _ = post_json(f"{self.base}/webhooks/telegram", update, HEADERS)
        except urllib.error.HTTPError as error:
            error.close()
            self.refused.append(str(error.code))
            return False
        except OSError as error:  # refused, reset, timed out: the platform tries again
            self.refused.append(type(error).__name__)
            return False
        except Exception as error:  # never let the thread die silently
            self.refused.append(repr(error))
            return False
        if status != 200:
            self.refused.append(str(status))
        return status == 200


class HealthWatch(threading.Thread):
    """Polls /healthz, so the test can tell the outage was seen and the recovery came by itself."""

    def __init__(self, serve: Serve) -> None:
        super().__init__(name="healthz", daemon=True)
        self.serve = serve
        self.seen: list[int | None] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.seen.append(self.serve.health())


CHATS = range(1, 6)
SCRIPT = ["hola"] + ["4", "menu"] * 5  # 11 updates; every one answered by exactly one message but "hola" (two)


@pytest.mark.postgres
def test_postgres_restart_under_load_loses_nothing_and_heals_itself(private_postgres: PrivatePostgres,
                                                                     tmp_path: Path) -> None:
    """Production settings throughout (OUTBOX_CLAIM_TIMEOUT included): the database going away for a couple
    of seconds must cost a couple of seconds, not the two minutes after which a claim counts as abandoned."""
    with FakeTelegramAPI(expected_token=TELEGRAM_TOKEN) as api:
        api.delay_seconds = 0.2  # a real Bot API round trip: the restart lands while the worker is sending
        env = environment(private_postgres.url, tmp_path / "data", TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
                          TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET, TELEGRAM_API_BASE_URL=api.url,
                          BUSINESS_HOURS="mon-sun 00:00-23:59")
        upgrade = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env, cwd=ROOT,
                                 capture_output=True, text=True, timeout=60)
        assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
        serve = Serve(env, tmp_path / "serve.log")
        watch = HealthWatch(serve)
        try:
            serve.wait_healthy(30)
            watch.start()
            started = time.monotonic()
            chats = [TelegramChat(serve.base, chat, SCRIPT, pause=0.7, deadline=started + 30) for chat in CHATS]
            for chat in chats:
                chat.start()
            time.sleep(3)  # a few turns in
            # Stop right after a send, so the next one (0.2 s on the wire) is in flight when the database goes.
            api.wait_for("sendMessage", count=len(api.calls_to("sendMessage")) + 1, timeout=5)
            private_postgres.stop("fast")
            time.sleep(2)
            private_postgres.start()
            for chat in chats:
                chat.join(timeout=max(0.0, started + 35 - time.monotonic()))
            per_chat = 2 + len(SCRIPT) - 1

            def complete() -> bool:
                received = telegram_texts(api)
                return all(len(received.get(chat, [])) >= per_chat for chat in CHATS)

            def report() -> str:
                received = {chat: len(texts) for chat, texts in telegram_texts(api).items()}
                return (f"received per chat {received} (expected {per_chat} each); acknowledged "
                        f"{[c.acknowledged for c in chats]}; errors {[c.error for c in chats if c.error]}; "
                        f"outbox rows by status {outbox_statuses(private_postgres.url)}; serve exit code "
                        f"{serve.process.poll()}\n--- serve warnings and errors ---\n{serve.problems()}\n"
                        f"--- postgres log ---\n{private_postgres.log_tail(8)}")

            assert all(not c.is_alive() and c.error is None for c in chats), report()
            assert all(c.acknowledged == len(SCRIPT) for c in chats), report()
            wait_until(complete, max(5.0, started + 40 - time.monotonic()), report)
            time.sleep(1.0)  # a reply sent twice would arrive by now
            serve.wait_healthy(10)
            watch.done.set()
            watch.join(timeout=5)

            assert serve.process.poll() is None, report()  # nobody restarted anything
            assert any(status != 200 for status in watch.seen), "the restart was never noticed: nothing was tested"
            assert any(c.refused for c in chats), "no webhook hit the outage: nothing was tested"
            for chat, texts in telegram_texts(api).items():
                welcome, menu, requirements = texts[0], texts[1], texts[2]
                assert "IMSS" in welcome and requirements != menu, (chat, texts)
                # Each update answered once, in order: a turn run twice would repeat a reply or, for a second
                # "4" while already on the requirements, add a correction.
                assert texts == [welcome, menu] + [requirements, menu] * 5, (chat, report())
        finally:
            watch.done.set()
            serve.stop()
