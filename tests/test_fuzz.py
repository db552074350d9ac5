"""Random conversations never break the bot: any text, emoji, control characters, 10 kB strings, random or
stale button payloads and random files always get a reply and never a 5xx; malformed webhooks get a 400."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.web.app import create_app
from bot.wiring import build_services
from flows.registry import FLOWS
from tests.helpers import TELEGRAM_SECRET, make_settings

PAYLOADS = sorted({choice.key for flow in FLOWS for step in flow.steps for choice in step.choices}
                  | {"cmd:menu", "cmd:human", "cmd:back", "cmd:nope", "", "x" * 70})
WORDS = ["hola", "menu", "asesor", "1", "2", "si", "no", "acepto", "atrás", "ayuda", "idioma", "estado",
         "borrar mis datos", "ya pagué", "👍", "GODE561231HDFNZD03", "12 mil"]
ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("text"), st.one_of(st.text(max_size=200), st.sampled_from(WORDS),
                                         st.text(min_size=1, max_size=20, alphabet="ab ñ😀\x00\x1f").map(
                                             lambda chunk: (chunk * 10000)[:10000]))),
    st.tuples(st.just("payload"), st.sampled_from(PAYLOADS)),
    st.tuples(st.just("file"), st.binary(max_size=2048)),
), min_size=1, max_size=12)


@pytest.fixture
def roomy_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app with the web chat's rate limits out of the way: 25 random conversations come from one address."""
    roomy = "100000 per minute"
    built = make_settings(database_url, tmp_path / "data", webchat_message_limit=roomy, webchat_address_limit=roomy,
                          webchat_session_limit=roomy, webchat_upload_limit=roomy)
    services = build_services(built)
    yield create_app(built, services)
    services.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_random_web_chat_conversations(roomy_app: Flask, actions: list[tuple[str, Any]]) -> None:
    import io

    client: FlaskClient = roomy_app.test_client()
    human = False
    for kind, value in actions:
        if kind == "file":
            response = client.post("/webchat/api/messages", content_type="multipart/form-data",
                                   data={"id": uuid.uuid4().hex, "file": (io.BytesIO(value), "x.bin")})
        else:
            body = {"id": uuid.uuid4().hex, kind: value}
            response = client.post("/webchat/api/messages", json=body)
        assert response.status_code < 500, response.get_data(as_text=True)
        if response.status_code == 400:
            assert kind == "text" and not str(value).strip() or kind == "payload" and not value
            continue
        messages = response.get_json()["messages"]
        human = human or any("asesor" in m["text"] and "*menu*" in m["text"] for m in messages)
        assert messages or human, (kind, value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                      st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=10), max_size=4)
                      .map(lambda d: str(d).encode())))
def test_malformed_telegram_bodies_are_400(telegram_client: FlaskClient, body: bytes) -> None:
    response = telegram_client.post("/webhooks/telegram", data=body, content_type="application/json",
                                    headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
    assert response.status_code in (200, 400)
