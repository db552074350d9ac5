"""The inbound queue between a provider's webhook and the turn: acknowledge first, run once, in order.

These tests use the app's plain test client (no worker attached), so they see the queue as a worker on
another thread or machine would.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.core.clock import utcnow
from bot.core.messages import Outbound
from bot.web.app import create_app
from bot.wiring import Services, build_services
from bot.worker.inbound import InboundWorker
from locales import translate
from storage.models import Contact, Conversation, Message, QueuedInbound
from storage.queues import INBOUND
from storage.wakeup import SqliteWakeup
from tests.helpers import TELEGRAM_SECRET, drain_concurrently, telegram_text_update

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


@pytest.fixture
def raw_client(telegram_settings: Any, telegram_services: Services) -> FlaskClient:
    return Flask.test_client(create_app(telegram_settings, telegram_services))


def post(client: FlaskClient, update_id: int, chat: int, text: str) -> None:
    response = client.post("/webhooks/telegram", json=telegram_text_update(update_id, chat, text), headers=HEADERS)
    assert response.status_code == 200


def rows(services: Services, model: Any, *where: Any) -> int:
    with services.database.session_scope() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def turns_of(services: Services) -> InboundWorker:
    assert services.worker is not None and isinstance(services.worker.turns, InboundWorker)
    return services.worker.turns


def test_the_webhook_acknowledges_before_the_turn_and_the_worker_runs_it(
        raw_client: FlaskClient, telegram_services: Services, telegram_api: Any) -> None:
    post(raw_client, 1, 5, "hola")
    assert rows(telegram_services, QueuedInbound) == 1
    assert rows(telegram_services, Message) == 0  # no turn yet: the answer did not wait for one
    assert telegram_api.calls == []
    assert turns_of(telegram_services).run_once() == 1
    assert rows(telegram_services, QueuedInbound) == 0
    assert rows(telegram_services, Message, Message.direction == "in") == 1
    assert rows(telegram_services, Message, Message.direction == "out", Message.status == "queued") == 2
    assert turns_of(telegram_services).run_once() == 0


def test_a_redelivery_waiting_or_late_runs_no_second_turn(raw_client: FlaskClient,
                                                          telegram_services: Services) -> None:
    post(raw_client, 7, 5, "hola")
    post(raw_client, 7, 5, "hola")  # Telegram retried before the turn ran
    assert rows(telegram_services, QueuedInbound) == 1
    turns_of(telegram_services).run_once()
    post(raw_client, 7, 5, "hola")  # and again after it ran
    assert turns_of(telegram_services).run_once() == 1
    assert rows(telegram_services, QueuedInbound) == 0
    assert rows(telegram_services, Message, Message.direction == "in") == 1
    assert rows(telegram_services, Message, Message.direction == "out") == 2


def test_the_queue_holds_no_message_text_or_chat_id_in_clear(raw_client: FlaskClient,
                                                             telegram_services: Services) -> None:
    post(raw_client, 3, 987654321, "mi curp es GODE561231HDFRRN09")
    with telegram_services.database.session_scope() as session:
        row = session.execute(select(QueuedInbound)).scalar_one()
        stored = b"".join([row.body, row.chat_key.encode(), row.provider_id.encode()])
    assert b"GODE561231" not in stored and b"987654321" not in stored


def test_twenty_concurrent_messages_of_one_user_run_in_arrival_order_across_two_workers(
        raw_client: FlaskClient, telegram_services: Services, telegram_settings: Any) -> None:
    texts = ["hola", "2", "menu", "3", "atrás"] * 4
    threads = [threading.Thread(target=post, args=(raw_client, 100 + n, 42, text)) for n, text in enumerate(texts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with telegram_services.database.session_scope() as session:
        arrival = list(session.execute(select(QueuedInbound.provider_id).order_by(QueuedInbound.id)).scalars())
    assert len(arrival) == 20
    other = build_services(telegram_settings)  # a second worker with its own connections
    try:
        workers = [turns_of(telegram_services), turns_of(other)]
        for worker in workers:
            worker.batch = 1

        drain_concurrently(*(worker.run_once for worker in workers))
    finally:
        other.close()
    with telegram_services.database.session_scope() as session:
        taken = list(session.execute(select(Message.provider_id).where(Message.direction == "in")
                                     .order_by(Message.id)).scalars())
        replied = session.execute(select(func.count(func.distinct(Message.in_reply_to)))
                                  .where(Message.direction == "out")).scalar_one()
    assert taken == arrival  # every message, each once, in the order the webhook stored them
    assert replied == 20  # and every turn ran to its replies: no update lost to a race


def test_a_failing_turn_is_retried_then_set_aside_and_the_chat_goes_on(
        raw_client: FlaskClient, telegram_services: Services, telegram_api: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    engine_run = telegram_services.engine.run

    def fragile(state: Any, inbound: Any, *args: Any, **kwargs: Any) -> Any:
        if inbound.text == "boom":
            raise RuntimeError("a bug")
        return engine_run(state, inbound, *args, **kwargs)

    monkeypatch.setattr(telegram_services.engine, "run", fragile)
    post(raw_client, 1, 5, "boom")
    post(raw_client, 2, 5, "hola")
    post(raw_client, 3, 6, "hola")  # another chat
    now = [utcnow()]
    worker = InboundWorker(telegram_services.database, telegram_services.cipher, telegram_services.turns,
                         clock=lambda: now[0])
    assert worker.run_once() == 2  # the failure (rolled back, kept) and the other chat's turn
    assert rows(telegram_services, Message, Message.direction == "in") == 1
    assert worker.run_once() == 0  # chat 5 waits: "hola" must not overtake "boom"
    for _ in range(INBOUND.max_attempts - 1):
        now[0] += timedelta(minutes=15)
        worker.run_once()
    with telegram_services.database.session_scope() as session:
        failed = session.execute(select(QueuedInbound)).scalar_one()
        assert failed.failed_at is not None and failed.attempts == INBOUND.max_attempts
        assert failed.last_error == "turn raised RuntimeError"  # no text of the applicant in it
        taken = set(session.execute(select(Message.provider_id).where(Message.direction == "in")).scalars())
        chat_5 = Contact.external_hash == telegram_services.cipher.identifier_hash("5")
        conversation = session.execute(select(Conversation).join(Contact).where(chat_5)).scalar_one()
        waiting = (conversation.owner, conversation.waiting_reason)
    assert taken == {"1:failed", "2", "3"}  # the "hola" of chat 5 went ahead once "boom" was set aside
    assert waiting == ("human", "bot_error")  # and a person was asked to look at the chat
    told = [m for m in telegram_api.calls_to("sendMessage")]
    assert told == []  # nothing sent yet: the worker sends; the outbox holds the apology first
    with telegram_services.database.session_scope() as session:
        first = session.execute(select(Message).where(Message.direction == "out", Message.conversation_id ==
                                                      conversation.id).order_by(Message.id)).scalars().first()
        assert first is not None
        text_ = Outbound.from_record(telegram_services.cipher.decrypt_json(first.body)).text
    assert text_ == translate("es_MX", "Sorry, something went wrong on our side with your last message. A person "
                                       "from our team will look at it and reply here.")


def test_metrics_show_the_inbound_queue(raw_client: FlaskClient, telegram_services: Services) -> None:
    post(raw_client, 1, 5, "hola")
    body = raw_client.get("/metrics").get_data(as_text=True)
    assert "ptibot_inbound_queue_depth 1.0" in body
    turns_of(telegram_services).run_once()
    body = raw_client.get("/metrics").get_data(as_text=True)
    assert "ptibot_inbound_queue_depth 0.0" in body
    assert "ptibot_inbound_wait_seconds_count" in body


def test_a_worker_on_sqlite_wakes_when_another_process_commits(tmp_path: Any) -> None:
    import sqlite3

    path = str(tmp_path / "wake.sqlite3")
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (x)")
    woke = threading.Event()
    watcher = SqliteWakeup(path, woke.set)
    watcher.start()
    try:
        time.sleep(0.1)
        assert not woke.is_set()
        writer = sqlite3.connect(path)
        with writer:
            writer.execute("INSERT INTO t VALUES (1)")
        writer.close()
        assert woke.wait(2)
    finally:
        watcher.stop()


def test_set_aside_deliveries_go_with_an_erasure_and_with_age(
        raw_client: FlaskClient, telegram_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.worker.retention import RetentionJob

    engine_run = telegram_services.engine.run

    def fragile(state: Any, inbound: Any, *args: Any, **kwargs: Any) -> Any:
        if "GODE561231" in inbound.text:
            raise RuntimeError("a bug")
        return engine_run(state, inbound, *args, **kwargs)

    monkeypatch.setattr(telegram_services.engine, "run", fragile)
    later = [timedelta(0)]
    worker = InboundWorker(telegram_services.database, telegram_services.cipher, telegram_services.turns,
                         clock=lambda: utcnow() + later[0])
    post(raw_client, 10, 5, "hola")
    assert worker.run_once() == 1
    for update_id, chat in ((1, 5), (2, 6)):
        post(raw_client, update_id, chat, "mi curp es GODE561231HDFRRN09")
        for _ in range(INBOUND.max_attempts):
            worker.run_once()
            later[0] += timedelta(hours=1)
    assert rows(telegram_services, QueuedInbound, QueuedInbound.failed_at.is_not(None)) == 2
    post(raw_client, 20, 5, "menu")  # back from the person the failure handed the chat to
    post(raw_client, 3, 5, "borrar mis datos")
    post(raw_client, 4, 5, "sí")
    assert worker.run_once() == 3
    with telegram_services.database.session_scope() as session:  # chat 5's is gone, chat 6's stays
        left = session.execute(select(QueuedInbound.provider_id)).scalars().all()
    assert left == ["2"]
    RetentionJob(telegram_services.database, telegram_services.cipher, telegram_services.documents,
                 abandoned_days=30, clock=lambda: utcnow() + timedelta(days=31)).run_once()
    assert rows(telegram_services, QueuedInbound) == 0


def test_while_the_database_is_down_webhooks_get_a_503_and_turns_keep_their_tries(
        raw_client: FlaskClient, telegram_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT …", {}, ConnectionRefusedError("connection refused"))

    post(raw_client, 1, 5, "hola")
    with monkeypatch.context() as patch:
        patch.setattr(telegram_services.intake, "accept", unreachable)
        response = raw_client.post("/webhooks/telegram", json=telegram_text_update(2, 5, "menu"), headers=HEADERS)
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"  # Telegram delivers again
        patch.setattr(telegram_services.turns, "run_queued", unreachable)
        with pytest.raises(OperationalError):  # the worker loop logs it and rests
            turns_of(telegram_services).run_once()
    with telegram_services.database.session_scope() as session:
        assert session.execute(select(QueuedInbound.attempts)).scalar_one() == 0  # an outage is not the message's fault
    assert turns_of(telegram_services).run_once() == 1


def test_queued_turns_run_while_the_dispatcher_loop_is_busy(raw_client: FlaskClient,
                                                            telegram_services: Services) -> None:
    worker = telegram_services.worker
    assert worker is not None
    release = threading.Event()

    class Busy:
        def run_once(self) -> int:  # pacing a broadcast, or a long scheduler pass
            release.wait(10)
            return 0

    worker.jobs = [Busy()]
    worker.start_thread()
    try:
        time.sleep(0.2)
        post(raw_client, 1, 5, "hola")
        deadline = time.monotonic() + 3
        while rows(telegram_services, Message, Message.direction == "in") == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rows(telegram_services, Message, Message.direction == "in") == 1
        assert time.monotonic() < deadline
    finally:
        release.set()



def test_the_other_jobs_look_a_few_times_a_second_however_often_turns_wake_the_worker(
        telegram_services: Services) -> None:
    """Each turn wakes the worker; media downloads and document reading need not run a query for every one."""
    from bot.worker.loop import JOBS_GAP

    worker = telegram_services.worker
    assert worker is not None
    looks: list[float] = []

    class Counting:
        def run_once(self) -> int:
            looks.append(time.monotonic())
            return 0

    worker.jobs = [worker.dispatcher, Counting()]
    worker.start_thread()
    time.sleep(0.3)
    looks.clear()
    started = time.monotonic()
    while time.monotonic() - started < 1.0:  # 100 turns a second
        worker.wake()
        time.sleep(0.01)
    time.sleep(JOBS_GAP)
    assert 3 <= len(looks) <= 1.2 / JOBS_GAP + 1  # woken 100 times: a look every JOBS_GAP, not 100
    assert all(later - earlier >= JOBS_GAP * 0.9 for earlier, later in zip(looks, looks[1:], strict=False))
