"""Many processes on PostgreSQL: workers claim with SKIP LOCKED (no message twice, order kept per chat) and
wake on LISTEN/NOTIFY instead of waiting for their next poll."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.wiring import Services, build_services
from bot.worker.outbox import Dispatcher
from tests.helpers import TELEGRAM_SECRET, drain_concurrently, postgres_url, skip_or_fail, telegram_text_update

HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


pytestmark = pytest.mark.postgres


def require_postgres() -> None:
    if postgres_url() is None:
        skip_or_fail("PostgreSQL not configured: set DATABASE_URL=postgresql://… to run the scale-out tests")


def test_a_worker_elsewhere_wakes_on_notify(telegram_client: FlaskClient, telegram_settings: Any,
                                            telegram_api: Any) -> None:
    require_postgres()
    remote = build_services(telegram_settings)  # another process: its own pool, its own worker
    assert remote.worker is not None
    remote.worker.poll_interval = 30  # without NOTIFY it would sleep this long
    remote.worker.jobs = [remote.worker.dispatcher]
    remote.worker.start_thread()
    try:
        time.sleep(0.5)  # let it LISTEN
        started = time.monotonic()
        assert telegram_client.post("/webhooks/telegram", json=telegram_text_update(1, 77, "hola"),
                                    headers=HEADERS).status_code == 200
        telegram_api.wait_for("sendMessage", count=2, timeout=5)
        assert time.monotonic() - started < 3
    finally:
        remote.close()


def test_two_workers_send_each_message_once_and_in_order(telegram_client: FlaskClient,
                                                         telegram_services: Services, telegram_settings: Any,
                                                         telegram_api: Any) -> None:
    require_postgres()
    for chat in range(1, 31):
        for step, text in enumerate(("hola", "4", "menu")):
            telegram_client.post("/webhooks/telegram", json=telegram_text_update(chat * 10 + step, chat, text),
                                 headers=HEADERS)
    other = build_services(telegram_settings)
    dispatchers = [Dispatcher(telegram_services.database, telegram_services.cipher, telegram_services.senders,
                              batch=7),
                   Dispatcher(other.database, other.cipher, other.senders, batch=7)]
    drain_concurrently(*(dispatcher.run_once for dispatcher in dispatchers))
    other.close()
    sent = [c for c in telegram_api.calls_to("sendMessage") if c.status == 200]
    by_chat: dict[int, list[str]] = defaultdict(list)
    for call in sent:
        by_chat[call.params["chat_id"]].append(call.params["text"])
    assert len(sent) == 30 * 4  # welcome + menu, requirements, menu: each exactly once
    for chat, texts in by_chat.items():
        assert "IMSS" in texts[0] and "CURP" in texts[2], chat  # in the order they were queued
