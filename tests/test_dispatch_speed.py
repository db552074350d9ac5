"""The worker's concurrent dispatcher against the loopback Bot API: bursts, one send in flight per chat,
order, 429s per chat and per bot, replies before broadcasts. Times are the fake's own records, with margins."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from bot.core.clock import utcnow
from bot.core.messages import Button, Inbound, Outbound
from bot.web.app import create_app
from bot.wiring import Services, build_services
from bot.worker.loop import CLAIM_GAP
from storage.conversations import ContactRepository, ConversationRepository
from storage.messages import MessageRepository
from storage.models import Message, QueuedInbound
from tests.fakes.telegram_api import FakeTelegramAPI, _error
from tests.helpers import TELEGRAM_SECRET, TELEGRAM_TOKEN, make_settings, telegram_text_update


@dataclass(frozen=True)
class Span:
    chat: int
    text: str
    start: float  # the request left the worker (monotonic)
    end: float  # its answer was back
    status: int


class SlowTelegramAPI(FakeTelegramAPI):
    """The loopback fake, `round_trip` seconds away, recording each sendMessage's span, with 429s per chat."""

    def __init__(self) -> None:
        super().__init__(expected_token=TELEGRAM_TOKEN)
        self.round_trip = 0.0
        self.spans: list[Span] = []
        self.chat_faults: defaultdict[int, deque[int]] = defaultdict(deque)  # retry_after per send; 0 = ok
        self._spans_lock = threading.Lock()

    def __enter__(self) -> SlowTelegramAPI:
        self.start()
        return self

    def _handle(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        start = time.monotonic()
        time.sleep(self.round_trip / 2)
        answer = super()._handle(token, method, params)
        time.sleep(self.round_trip / 2)
        if method == "sendMessage" and answer is not None:
            with self._spans_lock:
                self.spans.append(Span(int(params["chat_id"]), params["text"], start, time.monotonic(), answer[0]))
        return answer

    def _answer(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        plan = self.chat_faults.get(int(params.get("chat_id") or 0)) if method == "sendMessage" else None
        if plan and (retry_after := plan.popleft()):
            self.rejected_429 += 1
            return _error(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        return super()._answer(token, method, params)

    def sent(self, chat: int | None = None) -> list[Span]:
        with self._spans_lock:
            return [s for s in self.spans if s.status == 200 and (chat is None or s.chat == chat)]

    def wait_sent(self, count: int, timeout: float = 20.0) -> list[Span]:
        deadline = time.monotonic() + timeout
        while len(self.sent()) < count:
            assert time.monotonic() < deadline, f"{len(self.sent())} of {count} sent"
            time.sleep(0.01)
        return self.sent()


@pytest.fixture
def api() -> Iterator[SlowTelegramAPI]:
    with SlowTelegramAPI() as fake:
        yield fake


@pytest.fixture
def worker_services(database_url: str, tmp_path: Path, api: SlowTelegramAPI) -> Iterator[Services]:
    """The services as `ptibot worker` builds them, with the worker loop running in a thread."""
    services = build_services(make_settings(database_url, tmp_path / "data", telegram_bot_token=TELEGRAM_TOKEN,
                                            telegram_webhook_secret=TELEGRAM_SECRET,
                                            telegram_api_base_url=api.url))
    assert services.worker is not None
    services.worker.poll_interval = 0.2
    services.worker.start_thread()
    queue(services, 1, ["warm-up"])  # the first call opens the connection: not what is measured
    api.wait_sent(1)
    with api._spans_lock:
        api.spans.clear()
    yield services
    services.close()


def queue(services: Services, chat: int, texts: list[str | Outbound], *, broadcast: bool = False) -> None:
    """Queue replies to one Telegram chat, as a turn would (or, with `broadcast`, the reminder job)."""
    queue_many(services, {chat: texts}, broadcast=broadcast)


def queue_many(services: Services, texts_by_chat: dict[int, list[str | Outbound]], *,
               broadcast: bool = False) -> None:
    """Queue messages to several Telegram chats in one transaction."""
    now = utcnow()
    with services.database.session_scope() as session:
        for chat, texts in texts_by_chat.items():
            contact = ContactRepository(session, services.cipher).get_or_create(
                Inbound("telegram", str(chat), f"u{chat}", kind="event"), now)
            conversation_id, _ = ConversationRepository(session, services.cipher).lock(contact.id, "es_MX", now)
            messages = MessageRepository(session, services.cipher)
            for text in texts:
                outbound = text if isinstance(text, Outbound) else Outbound(
                    text, kind="payment_reminder" if broadcast else "reply")
                messages.queue(conversation_id, "telegram", outbound, now, author="system" if broadcast else "bot")
    assert services.worker is not None
    services.worker.wake()


def test_an_answer_of_three_messages_to_a_quiet_chat_goes_at_once_then_about_one_a_second(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    queue(worker_services, 41, ["uno", "dos", "tres"])
    first = api.wait_sent(3)
    assert [s.text for s in first] == ["uno", "dos", "tres"]  # the burst covers them: three bubbles
    assert first[2].start - first[0].start < 0.5  # no 1 s gaps (each waits only for the one before it)
    queue(worker_services, 41, ["cuatro", "cinco"])
    later = api.wait_sent(4)
    assert later[3].start - first[2].start > 0.6  # the burst is spent: the chat waits for its next message
    assert later[3].text == "cuatro\n\ncinco"  # and then gets the whole answer at once, as one message
    queue(worker_services, 41, ["seis"])
    last = api.wait_sent(5)
    assert last[4].text == "seis" and last[4].start - later[3].start > 0.8  # about one a second, sustained


def test_an_answer_to_a_chat_that_spent_its_burst_is_joined_keeping_the_last_buttons_and_every_row(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    """Joined bubbles are each recorded as sent, with the one message's provider id; staff messages and
    bubbles after one with buttons are not joined."""
    queue(worker_services, 42, ["a", "b", "c"])
    api.wait_sent(3)
    now = utcnow()
    with worker_services.database.session_scope() as session:
        contact = ContactRepository(session, worker_services.cipher).get_or_create(
            Inbound("telegram", "42", "u42", kind="event"), now)
        conversation_id, _ = ConversationRepository(session, worker_services.cipher).lock(contact.id, "es_MX", now)
        messages = MessageRepository(session, worker_services.cipher)
        ids = [messages.queue(conversation_id, "telegram", outbound, now, author=author) for outbound, author in (
            (Outbound("Listo ✅"), "bot"),
            (Outbound("¿Qué sigue?", (Button("Continuar", "go"),)), "bot"),
            (Outbound("Después de los botones"), "bot"),
            (Outbound("Hola, soy Ana"), "staff"))]
    assert worker_services.worker is not None
    worker_services.worker.wake()
    spans = api.wait_sent(6, timeout=15)
    assert [s.text for s in spans[3:]] == ["Listo ✅\n\n¿Qué sigue?", "Después de los botones", "Hola, soy Ana"]
    keyboards = [call.params.get("reply_markup") for call in api.calls_to("sendMessage")
                 if call.params["text"].startswith("Listo")]
    assert "Continuar" in str(keyboards[-1])
    deadline = time.monotonic() + 10
    while True:  # the fake has the messages a moment before the worker records them
        with worker_services.database.session_scope() as session:
            rows = {row.id: row for row in session.query(Message).filter(Message.id.in_(ids))}
        if all(rows[i].status == "sent" for i in ids) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert all(rows[i].status == "sent" for i in ids)
    assert rows[ids[0]].provider_id and rows[ids[1]].provider_id is None and rows[ids[2]].provider_id


def test_chats_are_sent_to_concurrently_with_one_message_in_flight_per_chat_and_order_kept(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    api.round_trip = 0.1
    queue_many(worker_services, {100 + chat: [f"{chat}-{n}" for n in range(3)] for chat in range(10)})
    spans = api.wait_sent(30)
    for chat in range(10):
        mine = [s for s in spans if s.chat == 100 + chat]
        assert [s.text for s in mine] == [f"{chat}-{n}" for n in range(3)]
        assert all(earlier.end <= later.start for earlier, later in zip(mine, mine[1:], strict=False))
    most = max(sum(1 for other in spans if other.start <= s.start < other.end) for s in spans)
    assert most >= 3  # several chats at once (one at a time, 30 sends of 100 ms would take 3 s)
    assert api.rejected_429 == 0


def test_a_chat_429_holds_that_chat_for_retry_after_while_others_go_on(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    api.chat_faults[7].extend([0, 2])  # the second message to chat 7 is refused: retry after 2 s
    queue_many(worker_services, {7: ["a1", "a2", "a3"], 8: ["b1", "b2", "b3"]})
    api.wait_sent(6, timeout=15)
    refused = next(s for s in api.spans if s.status == 429)
    others = api.sent(8)
    assert [s.text for s in others] == ["b1", "b2", "b3"] and others[-1].end < refused.end + 1.0
    mine = api.sent(7)
    assert [s.text for s in mine] == ["a1", "a2", "a3"]
    assert 1.9 < mine[1].start - refused.end < 3.0  # exactly retry_after (plus the worker's wake-up)


def hold_the_bot(services: Services, api: SlowTelegramAPI, seconds: int = 2) -> Span:
    """A bot-wide 429 (the first message to a chat refused): nothing goes for `seconds`; the refused span."""
    api.chat_faults[9].extend([seconds])
    queue(services, 9, ["c1"])
    deadline = time.monotonic() + 10
    while not any(s.status == 429 for s in api.spans):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    while True:  # until the worker has read the 429 (it records the retry after): what is queued next waits
        with services.database.session_scope() as session:
            if session.execute(select(Message.id).where(Message.direction == "out", Message.attempts > 0,
                                                        Message.status == "queued")).first():
                break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return next(s for s in api.spans if s.status == 429)


def test_a_bot_wide_429_holds_every_chat_for_retry_after(worker_services: Services, api: SlowTelegramAPI) -> None:
    refused = hold_the_bot(worker_services, api)
    queue_many(worker_services, {chat: [f"d{chat}"] for chat in (10, 11, 12)})
    spans = api.wait_sent(4, timeout=15)
    assert all(s.start >= refused.end + 1.9 for s in spans)
    assert all(s.start <= refused.end + 3.5 for s in spans)


def test_when_replies_wait_for_the_rate_an_answers_bubbles_go_joined_even_to_a_quiet_chat(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    """Each bubble sent apart would take a slot applicants who have waited need: one message carries them."""
    hold_the_bot(worker_services, api)
    queue(worker_services, 40, ["b1", "b2", "b3"])  # first in line; chat 40 has its whole burst
    queue_many(worker_services, {500 + chat: [f"r{chat}"] for chat in range(60)})  # 2 s of the bot's rate
    api.wait_sent(62, timeout=15)
    assert [s.text for s in api.sent(40)] == ["b1\n\nb2\n\nb3"]
    deadline = time.monotonic() + 5
    while True:  # the last answers are back at the fake a moment before the worker records them
        with worker_services.database.session_scope() as session:
            statuses = set(session.execute(select(Message.status).where(Message.direction == "out")).scalars())
        if statuses == {"sent"} or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert statuses == {"sent"}  # each bubble's row, the joined ones included


def test_a_sender_going_on_takes_the_rest_of_its_answer_but_a_newer_answer_waits_its_turn(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    """The chat's next answer, queued while the replies of others already waited, goes after them."""
    api.round_trip = 0.1
    hold_the_bot(worker_services, api)
    queue(worker_services, 30, [Outbound("a1", (Button("Sí", "yes"),))])  # its buttons end the answer
    queue_many(worker_services, {600 + chat: [f"r{chat}"] for chat in range(40)})  # 1.3 s of the bot's rate
    queue(worker_services, 30, ["a2"])  # the applicant answered again: a newer answer of the same chat
    api.wait_sent(43, timeout=15)
    order = [s.chat for s in sorted(api.sent(), key=lambda s: s.start) if s.chat != 9]
    first, second = (index for index, chat in enumerate(order) if chat == 30)
    # a2 not as soon as a1 is recorded (a few sends later) but in the last ones, with the replies queued just
    # before it (the sends of one claim start in any order).
    assert second > 30 and second - first > 15


def test_replies_waiting_for_the_rate_go_in_the_order_they_were_queued(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    """Senders waiting for a slot are served in line: one who woke first must not take it from an earlier reply."""
    api.round_trip = 0.1
    hold_the_bot(worker_services, api)
    for chat in range(45):  # 1.5 s of the bot's rate, each reply queued a little after the one before
        queue(worker_services, 700 + chat, [f"r{chat}"])
    api.wait_sent(46, timeout=15)
    order = [s.chat - 700 for s in sorted(api.sent(), key=lambda s: s.start) if s.chat >= 700]
    # Sends booked 34 ms apart may reach the fake's threads a few places swapped on a busy machine; without
    # the line, a third of them went more than four places off.
    late = [(position, chat) for position, chat in enumerate(order) if abs(position - chat) > 4]
    assert len(late) <= 2, order


def test_a_reply_goes_before_a_broadcast_under_way(worker_services: Services, api: SlowTelegramAPI) -> None:
    api.round_trip = 0.05
    queue_many(worker_services, {2000 + chat: ["Recordatorio de pago"] for chat in range(150)}, broadcast=True)
    api.wait_sent(20)
    asked = time.monotonic()
    queue(worker_services, 77, ["hola", "menú"])
    deadline = time.monotonic() + 10
    while len(api.sent(77)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    reply = api.sent(77)
    assert reply[0].start - asked < 1.5  # generous: 2 cores shared by everything (the bench measures it)
    reminders_left = 150 - sum(1 for s in api.sent() if s.chat >= 2000 and s.start < reply[0].start)
    assert reminders_left > 80  # the broadcast was still going: the reply did not wait for it


def test_a_worker_never_takes_over_its_own_send_however_long_it_takes(database_url: str, tmp_path: Path,
                                                                        api: SlowTelegramAPI) -> None:
    """A send that outlives OUTBOX_CLAIM_TIMEOUT is still this worker's: it is not claimed and sent again."""
    services = build_services(make_settings(database_url, tmp_path / "data", telegram_bot_token=TELEGRAM_TOKEN,
                                            telegram_webhook_secret=TELEGRAM_SECRET, telegram_api_base_url=api.url,
                                            outbox_claim_timeout=1))
    assert services.worker is not None
    services.worker.poll_interval = 0.1
    api.round_trip = 2.5
    services.worker.start_thread()
    try:
        queue(services, 51, ["despacio"])
        api.wait_sent(1, timeout=15)
        time.sleep(1.5)
        assert [call.params["text"] for call in api.calls_to("sendMessage")] == ["despacio"]
    finally:
        services.close()


def test_the_pool_is_bounded_by_dispatch_concurrency_and_sized_from_rate_and_round_trip(tmp_path: Path) -> None:
    from bot.config import Settings
    from bot.core.errors import ConfigurationError
    from bot.worker.outbox import Dispatcher
    from bot.worker.throttle import telegram_throttle

    base = {"PTIBOT_DATA_DIR": str(tmp_path / "data")}
    assert Settings.from_env(base, cwd=tmp_path).dispatch_concurrency == 32
    assert Settings.from_env({**base, "DISPATCH_CONCURRENCY": "8"}, cwd=tmp_path).dispatch_concurrency == 8
    with pytest.raises(ConfigurationError, match="DISPATCH_CONCURRENCY"):
        Settings.from_env({**base, "DISPATCH_CONCURRENCY": "0"}, cwd=tmp_path)
    throttle = telegram_throttle()
    dispatcher = Dispatcher(None, None, {}, throttles={"telegram": throttle}, concurrency=32)  # type: ignore[arg-type]
    for n in range(10):  # sends of 90 ms: ⌈30/s × (0.09 s + 0.1 s to record) × 1.5⌉ + 2 = 11
        throttle.reserve(f"c{n}", 1000.0 + n)
        throttle.finished(f"c{n}", 1000.09 + n)
    assert dispatcher.slots() == 11
    assert Dispatcher(None, None, {}, throttles={"telegram": throttle}, concurrency=4).slots() == 4  # type: ignore[arg-type]


def test_webhook_turns_run_on_two_threads_on_postgresql_and_each_chat_keeps_its_order(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    """Turns of different chats overlap on PostgreSQL; a chat's messages are still taken in the order sent."""
    turn_threads = [thread for thread in threading.enumerate() if thread.name.startswith("ptibot-turns")]
    assert len(turn_threads) == (2 if worker_services.database.is_postgres else 1)
    client = Flask.test_client(create_app(worker_services.settings, worker_services))
    moves = ["hola", "menu", "3", "1", "atrás", "menu"]
    chats = range(300, 316)
    for n, move in enumerate(moves):
        for chat in chats:
            response = client.post("/webhooks/telegram", json=telegram_text_update(chat * 100 + n, chat, move),
                                   headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
            assert response.status_code == 200
    deadline = time.monotonic() + 60
    while True:
        with worker_services.database.session_scope() as session:
            waiting = session.execute(select(QueuedInbound.id)).first()
            rows = session.execute(select(Message.provider_id).where(Message.direction == "in")
                                   .order_by(Message.id)).scalars().all()
        if waiting is None and len(rows) == len(moves) * len(chats):
            break
        assert time.monotonic() < deadline, f"{len(rows)} turns run"
        time.sleep(0.1)
    for chat in chats:  # update ids are kept as provider ids: chat * 100 + the move's place
        taken = [int(row) - chat * 100 for row in rows if row.isdigit() and int(row) // 100 == chat]
        assert taken == list(range(len(moves))), chat


def test_an_applicants_message_takes_the_sqlite_writer_only_for_the_work_it_brings(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    """Queue, turn, claim and record take SQLite's one writer; a thread woken with nothing to do looks without
    it (the file watch wakes the worker for every commit, its own too), so no turn or send waits behind it."""
    if worker_services.database.is_postgres:
        pytest.skip("PostgreSQL has no single writer")
    writes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        thread = threading.current_thread().name
        # The other jobs (media, document reading) look after the replies, and every poll: not on the way.
        if statement == "BEGIN IMMEDIATE" and thread not in ("ptibot-worker", "ptibot-document-reading"):
            writes.append(thread)

    client = Flask.test_client(create_app(worker_services.settings, worker_services))
    time.sleep(0.6)  # the warm-up's wake-ups are over
    event.listen(worker_services.database.engine, "before_cursor_execute", count)
    try:
        response = client.post("/webhooks/telegram", json=telegram_text_update(9001, 9001, "hola"),
                               headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
        assert response.status_code == 200
        api.wait_sent(2)  # the welcome and the menu
        time.sleep(0.15)  # the other jobs' look, once the replies are out
    finally:
        event.remove(worker_services.database.engine, "before_cursor_execute", count)
    # The webhook's queue, the turn, the claim, and each send recorded (the second claimed with the first's
    # record). Woken for every commit and looking with the lock, the threads took it 20 to 23 times.
    assert len(writes) == 5, writes


def test_while_the_rate_is_the_limit_claim_passes_come_a_few_times_a_second_not_one_per_send(
        worker_services: Services, api: SlowTelegramAPI) -> None:
    """A broadcast paced at 30/s: each pass only tops up the slots the sends since the last one freed, so the
    dispatcher looks every CLAIM_GAP instead of after every send (each look is a query, most found one row)."""
    looks: list[float] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT messages.id, messages.channel") and "ORDER BY" in statement:
            looks.append(time.monotonic())  # a pass looks once or twice: replies first, then the rest

    event.listen(worker_services.database.engine, "before_cursor_execute", count)
    try:
        queue_many(worker_services, {chat: ["recordatorio"] for chat in range(2000, 2090)}, broadcast=True)
        spans = api.wait_sent(90, timeout=30)
    finally:
        event.remove(worker_services.database.engine, "before_cursor_execute", count)
    seconds = max(span.end for span in spans) - min(span.start for span in spans)
    # 3 s: about 100 looks; a pass after every send made about 210.
    assert len(looks) <= 2 * seconds / CLAIM_GAP + 10, (len(looks), seconds)
