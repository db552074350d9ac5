"""Replies at conversation speed: PTI Bot and a plain python-telegram-bot bot, side by side, a network away.

What it measures, in one run:

1. conversation: N applicants on Telegram (1 and 40 by default) who answer as soon as the bot's answer
   has arrived, at a simulated round trip of 0 and 100 ms to the Bot API. Each applicant posts a Telegram
   update to the bot's webhook and waits until the bot's answer reached its chat in the loopback Bot API
   (`network.SlowBotAPI`: calls take the round trip, and it answers 429 beyond 30 messages/s per bot or a
   burst of 3 then 1/s per chat). An answer is 1–3 messages, the last with buttons; the next move follows
   at once. Columns: answers per second, the first message's latency (webhook POST sent → message arrived
   at the API) p50/p99, the whole answer's p50/p99, the gap from an answer's first to its last message
   (p50), answers lost (not complete within 10 s), and 429s the API answered.
   Bots: `ptibot serve` (web and worker in one process, the embedded default; SQLite, or PostgreSQL when
   DATABASE_URL/--postgres names a server), and `ptb_peer.py` (ConversationHandler + PicklePersistence,
   its own webhook server, one update at a time, no pacing), on the same load and the same fake.
2. broadcast: N reminders (10,000 by default; `--broadcast 1500` for a quick run) queued at once for N
   Telegram subscribers while 20 applicants chat (each answering 5 s after an answer arrived: their
   messages count against the same 30/s), through one `ptibot serve`. Completion time against the
   bound N / 30 s, 429s, and the chatting applicants' first-message p50/p99 meanwhile.
3. whatsapp (PostgreSQL only, when DATABASE_URL or --postgres is set): one `ptibot serve` sending M
   WhatsApp messages at WHATSAPP_SEND_RATE=80 through a Twilio fake 100 ms away that refuses more than
   80/s; the sustained rate against 80.

The targets of issue 20 (at 100 ms): one applicant's first message p50 ≤ 1.5 × RTT + 30 ms and the whole
answer ≤ 2 × RTT + 50 ms; 40 applicants: ≥ 2× the peer's answers/s and ≤ half its p99; the broadcast within
5 % of its bound with no 429 and chatting p50 < 300 ms; WhatsApp ≥ 95 % of 80/s. Each is printed with
OK or MISSED. The machine's 2 cores are shared by the load, the fakes, the bots and the database.

Run: `.venv/bin/python bench/replies.py [--seconds 10] [--broadcast 10000] [--quick]`.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import harness
from harness import HOST, Round
from network import Arrivals, SlowBotAPI, SlowTwilioAPI

MOVES = ("hola", "menu", "3", "1", "atrás", "menu", "cuánto cuesta", "menu")
ANSWER_TIMEOUT = 5.0
FIRST_CHAT = 5_000_000
SUBSCRIBER_CHAT = 800_000_000
_update_ids = itertools.count(1)


@dataclass(slots=True)
class Tally:
    """What the applicants of one phase saw."""

    first: list[float] = field(default_factory=list)  # seconds, POST → first message of the answer
    whole: list[float] = field(default_factory=list)  # POST → last message (the one with buttons)
    spread: list[float] = field(default_factory=list)  # first message → last message
    whole3: list[float] = field(default_factory=list)  # answers of 3 messages or more: POST → last message
    spread3: list[float] = field(default_factory=list)  # and their first → last message
    lost: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class PhaseResult:
    bot: str
    users: int
    round_trip: float
    seconds: float
    tally: Tally
    rejected: int
    think: float = 0.0

    @property
    def answers_per_second(self) -> float:
        return len(self.tally.whole) / self.seconds

    def p(self, values: Sequence[float], q: float) -> float:
        return harness.percentile(values, q)


# -- applicants ---------------------------------------------------------------------------------------

class Applicant:
    """One Telegram user: posts updates to the bot's webhook and waits for the whole answer at the API."""

    def __init__(self, port: int, path: str, chat: int, arrivals: Arrivals) -> None:
        self.port, self.path, self.chat, self.arrivals = port, path, chat, arrivals
        self.connection = http.client.HTTPConnection(HOST, port, timeout=30)

    def say(self, text: str) -> float:
        """Post one message; return when it was sent (monotonic). Raises on HTTP trouble."""
        from tests.helpers import telegram_text_update  # importable once harness set the path

        update = telegram_text_update(next(_update_ids), self.chat, text)
        sent = time.monotonic()
        try:
            self.connection.request("POST", self.path, json.dumps(update).encode(), {
                "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": harness.TELEGRAM_SECRET})
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
            raise
        if response.status != 200:
            raise RuntimeError(f"webhook answered {response.status}")
        return sent

    def converse(self, counted_from: float, until: float, tally: Tally, lock: threading.Lock,
                 think: float = 0.0) -> None:
        step = 0
        while time.monotonic() < until:
            if step and think:
                time.sleep(think)
            text = MOVES[step % len(MOVES)]
            step += 1
            seen = self.arrivals.count(str(self.chat))
            try:
                sent = self.say(text)
            except Exception:  # counted, not fatal: the next move goes on
                with lock:
                    tally.errors += 1
                time.sleep(0.1)
                continue
            answer = self.arrivals.wait_answer(str(self.chat), seen, ANSWER_TIMEOUT)
            if sent < counted_from:
                continue
            with lock:
                if answer is None:
                    tally.lost += 1
                    step = 1  # start again from the menu
                    continue
                tally.first.append(answer[0][0] - sent)
                tally.whole.append(answer[-1][0] - sent)
                tally.spread.append(answer[-1][0] - answer[0][0])
                if len(answer) >= 3:
                    tally.whole3.append(answer[-1][0] - sent)
                    tally.spread3.append(answer[-1][0] - answer[0][0])
        self.connection.close()


def chat_phase(port: int, path: str, arrivals: Arrivals, users: int, first_chat: int, warmup: float,
               seconds: float, think: float = 0.0) -> Tally:
    tally, lock = Tally(), threading.Lock()
    start = time.monotonic()
    counted_from, until = start + warmup, start + warmup + seconds
    applicants = [Applicant(port, path, first_chat + index, arrivals) for index in range(users)]
    threads = [threading.Thread(target=a.converse, args=(counted_from, until, tally, lock, think), daemon=True)
               for a in applicants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(until - time.monotonic() + ANSWER_TIMEOUT + 5)
    return tally


# -- the bots under test ------------------------------------------------------------------------------

@contextmanager
def ptibot(rnd: Round, env: dict[str, str], args: argparse.Namespace) -> Iterator[int]:
    """`ptibot serve` (web + embedded worker) on a free port, on the round's database (`env`: harness.app_env)."""
    port = harness.free_port()
    with harness.managed("ptibot serve", [harness.executable("ptibot"), "serve", "--host", HOST, "--port", str(port)],
                         env, rnd.data_dir, rnd.data_dir / "server.log", lambda: harness.healthy(port),
                         args.start_timeout, args.stop_timeout):
        yield port


@contextmanager
def peer(data_dir: Path, api_url: str, args: argparse.Namespace) -> Iterator[int]:
    port = harness.free_port()
    log = data_dir / "peer.log"
    argv = [sys.executable, str(harness.BENCH_DIR / "ptb_peer.py"), "--port", str(port), "--api", api_url,
            "--token", harness.TELEGRAM_TOKEN, "--secret", harness.TELEGRAM_SECRET, "--data", str(data_dir)]
    with harness.managed("ptb peer", argv, harness.app_env(data_dir, "sqlite://", "x"), data_dir, log,
                         harness.log_has(log, "peer ready"), args.start_timeout, args.stop_timeout):
        yield port


def telegram_env(api: SlowBotAPI) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": harness.TELEGRAM_TOKEN, "TELEGRAM_WEBHOOK_SECRET": harness.TELEGRAM_SECRET,
            "TELEGRAM_API_BASE_URL": api.url}


def conversation(args: argparse.Namespace, label: str, postgres: str | None) -> list[PhaseResult]:
    results: list[PhaseResult] = []
    # Applicants who answer at once, in every combination; those who think first, one applicant only.
    grid = [(rtt, users, 0.0) for rtt in args.rtt for users in args.users]
    grid += [(rtt, 1, think) for rtt in args.rtt for think in args.think if think > 0]
    for round_trip, users, think in grid:
        for bot in ("ptibot", "ptb-peer"):
            arrivals = Arrivals()
            with SlowBotAPI(harness.TELEGRAM_TOKEN, round_trip=round_trip, on_send=arrivals,
                            chat_rate=0.0 if args.no_chat_limit else 1.0) as api, \
                    harness.fresh_round(label, postgres, args.keep_data) as rnd:
                print(f"[{label}] {bot}: {users} applicant(s) thinking {think:g} s, round trip "
                      f"{round_trip * 1000:.0f} ms", file=sys.stderr, flush=True)
                env = harness.app_env(rnd.data_dir, rnd.database_url, harness.fernet_key(), **telegram_env(api))
                server = ptibot(rnd, env, args) if bot == "ptibot" else peer(rnd.data_dir, api.url, args)
                with server as port:
                    path = "/webhooks/telegram" if bot == "ptibot" else "/webhook"
                    chat_phase(port, path, arrivals, 1, FIRST_CHAT - 1, 0.0, 0.3)  # first connections
                    before = api.rejected_429
                    tally = chat_phase(port, path, arrivals, users, FIRST_CHAT, args.warmup, args.seconds,
                                       think)
                    result = PhaseResult(bot, users, round_trip, args.seconds, tally,
                                         api.rejected_429 - before, think)
            results.append(result)
            print(conversation_row(label, result), flush=True)
    return results


CONVERSATION_COLUMNS = (("db", 10, "<"), ("bot", 8, "<"), ("rtt", 5, ">"), ("users", 5, ">"), ("think", 5, ">"),
                        ("answers/s", 9, ">"), ("1st p50", 8, ">"), ("1st p99", 8, ">"), ("all p50", 8, ">"),
                        ("all p99", 8, ">"), ("span p50", 8, ">"), ("lost", 5, ">"), ("errors", 6, ">"),
                        ("429s", 5, ">"))


def conversation_row(label: str, r: PhaseResult) -> str:
    t = r.tally
    return harness.table_row((
        label if r.bot == "ptibot" else "", r.bot, f"{r.round_trip * 1000:.0f}", str(r.users), f"{r.think:g}",
        f"{r.answers_per_second:.1f}", harness.ms(r.p(t.first, 50)), harness.ms(r.p(t.first, 99)),
        harness.ms(r.p(t.whole, 50)), harness.ms(r.p(t.whole, 99)), harness.ms(r.p(t.spread, 50)), str(t.lost),
        str(t.errors), str(r.rejected)), CONVERSATION_COLUMNS)


# -- broadcasts -----------------------------------------------------------------------------------------

def queue_broadcast(rnd: Round, env: dict[str, str], channel: str, count: int, first: int,
                    kind: str = "payment_reminder") -> float:
    """Queue one message to each of `count` new contacts in one transaction; return the commit (monotonic)."""
    harness.project_on_path()
    from bot.config import Settings
    from bot.core.messages import Outbound
    from storage.conversations import contact_identity
    from storage.crypto import Cipher
    from storage.db import Database, notify_workers
    from storage.models import Contact, Conversation, Message

    settings = Settings.from_env(env, cwd=rnd.data_dir)
    database = Database(settings.database_url)
    cipher = Cipher(settings.data_encryption_keys, search_key=settings.secret_key)
    now = datetime.now(UTC)
    ref = (lambda i: f"whatsapp:+52155{first + i:08d}") if channel == "whatsapp" else (lambda i: str(first + i))
    body = cipher.encrypt_json(Outbound("Te recordamos que tu pago vence el día 20.", kind=kind).to_record())
    try:
        with database.session_scope() as session:
            people = [Contact(channel=channel, **contact_identity(cipher, ref(i)), locale="es_MX",
                              display_name=cipher.encrypt_text(f"Persona {i}"), reachable=True, opted_out=False,
                              erase_pending=False, last_inbound_at=now - timedelta(hours=1), created_at=now)
                      for i in range(count)]
            session.add_all(people)
            session.flush()
            chats = [Conversation(contact_id=person.id, flow="menu", state="main_menu", locale="es_MX",
                                  data=cipher.encrypt_json({}), history="[]", owner="bot", misses=0, turns=3,
                                  created_at=now, updated_at=now) for person in people]
            session.add_all(chats)
            session.flush()
            session.add_all(Message(conversation_id=chat.id, channel=channel, direction="out", author="system",
                                    body=body, status="queued", attempts=0, next_attempt_at=now, created_at=now)
                            for chat in chats)
            notify_workers(session)
        return time.monotonic()
    finally:
        database.engine.dispose()


@dataclass(frozen=True, slots=True)
class BroadcastResult:
    label: str
    channel: str
    count: int
    limit: float
    completion: float | None
    span: float | None
    rejected: int
    chatting: Tally | None
    all_sent: int | None = None  # every message the bot sent until the last reminder, the answers included

    @property
    def bound(self) -> float:
        return self.count / self.limit


def broadcast(args: argparse.Namespace, label: str, postgres: str | None) -> BroadcastResult:
    arrivals = Arrivals()
    reminders: list[float] = []

    def on_send(chat: str, at: float, final: bool) -> None:
        if int(chat) >= SUBSCRIBER_CHAT:
            reminders.append(at)
        else:
            arrivals(chat, at, final)

    with SlowBotAPI(harness.TELEGRAM_TOKEN, round_trip=args.broadcast_rtt, on_send=on_send) as api, \
            harness.fresh_round(label, postgres, args.keep_data) as rnd:
        env = harness.app_env(rnd.data_dir, rnd.database_url, harness.fernet_key(), **telegram_env(api))
        with ptibot(rnd, env, args) as port:
            chat_phase(port, "/webhooks/telegram", arrivals, 1, FIRST_CHAT - 1, 0.0, 0.3)
            print(f"[{label}] broadcast: queueing {args.broadcast} reminders", file=sys.stderr, flush=True)
            committed = queue_broadcast(rnd, env, "telegram", args.broadcast, SUBSCRIBER_CHAT)
            api.accepted = 0
            chatting: list[Tally] = []
            done = threading.Event()

            def chat_meanwhile() -> None:
                seconds = args.broadcast / 30 * 0.9  # while the broadcast is surely still under way
                chatting.append(chat_phase(port, "/webhooks/telegram", arrivals, args.chatters, FIRST_CHAT,
                                           1.0, max(1.0, seconds - 1.0), args.chatter_think))
                done.set()

            threading.Thread(target=chat_meanwhile, daemon=True).start()
            ended = wait_until(lambda: len(reminders) >= args.broadcast, committed,
                               args.broadcast / 30 * 3 + 60, label, lambda: len(reminders), args.broadcast)
            all_sent = api.accepted
            done.wait(ANSWER_TIMEOUT + 5)
            reminders.sort()
    return BroadcastResult(label, "telegram", args.broadcast, 30.0, None if ended is None else ended - committed,
                           reminders[-1] - reminders[0] if len(reminders) > 1 else None, api.rejected_429,
                           chatting[0] if chatting else None, all_sent)


def wait_until(condition: Any, since: float, timeout: float, label: str, progress: Any, total: int) -> float | None:
    note = time.monotonic()
    while not condition():
        if time.monotonic() - since > timeout:
            return None
        if time.monotonic() - note > 15:
            print(f"[{label}] {progress()}/{total} after {time.monotonic() - since:.0f} s", file=sys.stderr,
                  flush=True)
            note = time.monotonic()
        time.sleep(0.02)
    return time.monotonic()


def whatsapp(args: argparse.Namespace, label: str, postgres: str) -> BroadcastResult:
    with SlowTwilioAPI(round_trip=args.broadcast_rtt, per_second=80, account_sid=harness.TWILIO_ACCOUNT_SID,
                       auth_token=harness.TWILIO_AUTH_TOKEN) as api, \
            harness.fresh_round(label, postgres, args.keep_data) as rnd:
        extra = {"TWILIO_ACCOUNT_SID": harness.TWILIO_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": harness.TWILIO_AUTH_TOKEN,
                 "TWILIO_WHATSAPP_FROM": harness.TWILIO_WHATSAPP_FROM, "TWILIO_API_BASE_URL": api.url,
                 "PUBLIC_BASE_URL": harness.PUBLIC_BASE_URL, "WHATSAPP_SEND_RATE": "80"}
        env = harness.app_env(rnd.data_dir, rnd.database_url, harness.fernet_key(), **extra)
        with ptibot(rnd, env, args):
            print(f"[{label}] whatsapp: queueing {args.whatsapp} messages", file=sys.stderr, flush=True)
            committed = queue_broadcast(rnd, env, "whatsapp", args.whatsapp, 0, kind="reply")
            ended = wait_until(lambda: api.accepted >= args.whatsapp, committed, args.whatsapp / 80 * 3 + 60, label,
                               lambda: api.accepted, args.whatsapp)
            arrivals = sorted(api.arrivals)
    return BroadcastResult(label, "whatsapp", args.whatsapp, 80.0, None if ended is None else ended - committed,
                           arrivals[-1] - arrivals[0] if len(arrivals) > 1 else None, api.rejected_429, None)


def broadcast_lines(r: BroadcastResult) -> list[str]:
    sustained = (r.count - 1) / r.span if r.span else float("nan")
    lines = [f"{r.label} {r.channel}: {r.count} messages at {r.limit:g}/s (bound {r.bound:.1f} s): "
             f"completed in {'-' if r.completion is None else f'{r.completion:.1f} s'}"
             f"{'' if r.completion is None else f' ({r.completion / r.bound:.3f}× the bound)'}; first→last "
             f"{'-' if r.span is None else f'{r.span:.1f} s'} = {sustained:.1f}/s "
             f"({sustained / r.limit * 100:.1f} % of the limit); 429s: {r.rejected}"]
    if r.all_sent is not None and r.completion:
        rate = r.all_sent / r.completion
        lines.append(f"  every message the bot sent meanwhile (reminders and answers): {r.all_sent} = {rate:.1f}/s "
                     f"({rate / r.limit * 100:.1f} % of the limit)")
    if r.chatting is not None:
        t = r.chatting
        p50, p99 = harness.ms(harness.percentile(t.first, 50)), harness.ms(harness.percentile(t.first, 99))
        lines.append(f"  {len(t.first)} answers to chatting applicants meanwhile: first message p50 {p50} ms, "
                     f"p99 {p99} ms; lost {t.lost}, errors {t.errors}")
    return lines


# -- verdicts ----------------------------------------------------------------------------------------------

def verdicts(results: Sequence[PhaseResult], broadcasts: Sequence[BroadcastResult]) -> list[str]:
    lines: list[str] = []

    def find(bot: str, users: int, rtt: float, think: float = 0.0) -> PhaseResult | None:
        return next((r for r in results if r.bot == bot and r.users == users and abs(r.round_trip - rtt) < 1e-9
                     and r.think == think), None)

    def mark(ok: bool) -> str:
        return "OK" if ok else "MISSED"

    rtt = 0.1
    for one in [r for r in results if r.bot == "ptibot" and r.users == 1 and abs(r.round_trip - rtt) < 1e-9]:
        first, whole = harness.percentile(one.tally.first, 50), harness.percentile(one.tally.whole3, 50)
        spread = harness.percentile(one.tally.spread3, 50)
        lines.append(f"1 applicant at 100 ms, thinking {one.think:g} s: first message p50 {first * 1000:.0f} ms "
                     f"(target ≤ {(1.5 * rtt + 0.03) * 1000:.0f}): {mark(first <= 1.5 * rtt + 0.03)}; "
                     f"{len(one.tally.whole3)} answers of 3 messages, p50 "
                     f"{whole * 1000:.0f} ms from the POST, {spread * 1000:.0f} ms from its first message (target ≤ "
                     f"{(2 * rtt + 0.05) * 1000:.0f}): {mark(whole <= 2 * rtt + 0.05)} from the POST, "
                     f"{mark(spread <= 2 * rtt + 0.05)} from the first message")
    ours, theirs = find("ptibot", 40, rtt), find("ptb-peer", 40, rtt)
    if ours and theirs:
        ratio = ours.answers_per_second / theirs.answers_per_second if theirs.answers_per_second else float("inf")
        p99_ours, p99_theirs = harness.percentile(ours.tally.whole, 99), harness.percentile(theirs.tally.whole, 99)
        lines.append(f"40 applicants at 100 ms: {ours.answers_per_second:.1f} answers/s vs the peer's "
                     f"{theirs.answers_per_second:.1f} ({ratio:.2f}×, target ≥ 2×): {mark(ratio >= 2)}; whole-answer "
                     f"p99 {p99_ours * 1000:.0f} ms vs {p99_theirs * 1000:.0f} ms (target ≤ half): "
                     f"{mark(p99_ours <= p99_theirs / 2)}")
    for b in broadcasts:
        if b.channel == "telegram":
            ok = b.completion is not None and b.completion <= b.bound * 1.05 and b.rejected == 0
            p50 = harness.percentile(b.chatting.first, 50) if b.chatting else float("nan")
            lines.append(f"{b.label} broadcast of {b.count}: {mark(ok)} (within 5 % of {b.bound:.0f} s, no 429); "
                         f"chatting p50 {p50 * 1000:.0f} ms (target < 300): {mark(p50 < 0.3)}")
            if b.all_sent is not None and b.completion:
                # The applicants' answers take part of the same 30/s: the bot's whole pace is the fair figure.
                share = b.all_sent / b.completion / b.limit
                lines.append(f"{b.label} broadcast, every message the bot sent: {share * 100:.1f} % of "
                             f"{b.limit:g}/s (within 5 %): {mark(share >= 0.95 and b.rejected == 0)}")
        else:
            sustained = (b.count - 1) / b.span if b.span else 0.0
            lines.append(f"{b.label} WhatsApp at 80/s: {sustained:.1f}/s = {sustained / 80 * 100:.1f} % "
                         f"(target ≥ 95 %): {mark(sustained >= 0.95 * 80)}")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per conversation phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring (default 1)")
    parser.add_argument("--users", type=int, nargs="*", default=[1, 40],
                        help="applicants per phase (1 40; none: skip the conversation phases)")
    parser.add_argument("--rtt", type=float, nargs="+", default=[0.0, 0.1],
                        help="simulated round trips to the Bot API, in seconds (0 0.1)")
    parser.add_argument("--think", type=float, nargs="*", default=[1.5],
                        help="also run one applicant who thinks this many seconds before each answer (1.5)")
    parser.add_argument("--no-chat-limit", action="store_true",
                        help="the fake Bot API does not enforce the per-chat limit in the conversation phases "
                             "(PTI Bot still paces itself by it; the peer, which does not, then loses no answers)")
    parser.add_argument("--broadcast", type=int, default=10_000, help="reminders in the broadcast (10000; 0 = skip)")
    parser.add_argument("--broadcast-rtt", type=float, default=0.1, help="round trip during the broadcasts (0.1)")
    parser.add_argument("--chatters", type=int, default=20, help="applicants chatting during the broadcast (20)")
    parser.add_argument("--chatter-think", type=float, default=5.0,
                        help="seconds they take to read and answer (5; their messages count against the same "
                             "30/s as the reminders)")
    parser.add_argument("--whatsapp", type=int, default=4000, help="WhatsApp messages at 80/s (4000; 0 = skip)")
    parser.add_argument("--quick", action="store_true",
                        help="a short run: 5 s phases, a broadcast of 1500, 1600 WhatsApp messages")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="PostgreSQL server (default: DATABASE_URL when it is one); used instead of SQLite for "
                             "the conversation and broadcast, and for WhatsApp")
    parser.add_argument("--start-timeout", type=float, default=60.0)
    parser.add_argument("--stop-timeout", type=float, default=10.0)
    parser.add_argument("--keep-data", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.broadcast, args.whatsapp = 5.0, min(args.broadcast, 1500), min(args.whatsapp, 1600)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    harness.interrupt_on_sigterm()
    postgres = harness.postgres_base_url(args.postgres)
    label = "postgresql" if postgres else "sqlite"
    print(f"replies at conversation speed ({harness.CORES_NOTE}); times in ms; {label}")
    print(harness.table_header(CONVERSATION_COLUMNS), flush=True)
    results = conversation(args, label, postgres)
    broadcasts: list[BroadcastResult] = []
    if args.broadcast:
        broadcasts.append(broadcast(args, label, postgres))
        for line in broadcast_lines(broadcasts[-1]):
            print(line, flush=True)
    if args.whatsapp and postgres:
        broadcasts.append(whatsapp(args, "postgresql", postgres))
        for line in broadcast_lines(broadcasts[-1]):
            print(line, flush=True)
    elif args.whatsapp:
        print("whatsapp: skipped (needs PostgreSQL: set DATABASE_URL or --postgres)")
    print()
    for line in verdicts(results, broadcasts):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
