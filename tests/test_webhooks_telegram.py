"""`POST /webhooks/telegram`: secret token, malformed bodies, one turn per update_id."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.channels.telegram import parse_update
from bot.wiring import Services
from storage.models import Message
from tests.helpers import TELEGRAM_SECRET, telegram_text_update


def count(services: Services, direction: str) -> int:
    with services.database.session_scope() as session:
        return session.execute(
            select(func.count()).select_from(Message).where(Message.direction == direction)).scalar_one()


def test_wrong_or_missing_secret_is_403_and_stores_nothing(telegram_client: FlaskClient,
                                                          telegram_services: Services) -> None:
    update = telegram_text_update(1, 5, "hola")
    assert telegram_client.post("/webhooks/telegram", json=update).status_code == 403
    response = telegram_client.post("/webhooks/telegram", json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET + "x"})
    assert response.status_code == 403
    assert count(telegram_services, "in") == 0


def test_malformed_body_is_400(telegram_client: FlaskClient) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    for body in ("{not json", "[]", '{"update_id": "x"}', '{"update_id": 1, "message": {"chat": 5}}'):
        response = telegram_client.post("/webhooks/telegram", data=body, headers=headers,
                                        content_type="application/json")
        assert response.status_code == 400, body


def test_same_update_twice_runs_one_turn(telegram_client: FlaskClient, telegram_services: Services,
                                         telegram_api: Any) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    update = telegram_text_update(41, 5, "hola")
    assert telegram_client.post("/webhooks/telegram", json=update, headers=headers).status_code == 200
    replies = count(telegram_services, "out")
    assert telegram_client.post("/webhooks/telegram", json=update, headers=headers).status_code == 200
    assert count(telegram_services, "in") == 1
    assert count(telegram_services, "out") == replies == 2
    assert telegram_api.calls == []  # acknowledged without any outbound call


def test_locale_comes_from_language_code(telegram_client: FlaskClient, telegram_services: Services) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    telegram_client.post("/webhooks/telegram", json=telegram_text_update(1, 8, "hi", "en"), headers=headers)
    inbound = parse_update(telegram_text_update(2, 8, "4", "en"))
    assert inbound is not None
    outcome = telegram_services.turns.handle(inbound)
    assert "Your CURP" in outcome.replies[0].outbound.text


def test_disabled_channel_is_404(client: FlaskClient) -> None:
    assert client.post("/webhooks/telegram", json={}).status_code == 404
