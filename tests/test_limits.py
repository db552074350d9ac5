"""Nobody can fill the web chat: rates per session and per address, one stored copy of a file per applicant,
and a storage quota per anonymous session. A limited visitor gets a kind 429, and loses nothing already sent."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.config import Settings
from bot.core.errors import ConfigurationError
from bot.web.app import create_app
from bot.wiring import Services, build_services
from locales import translate
from storage.models import Document
from tests.helpers import TELEGRAM_SECRET, Phone, login, make_settings, make_staff, telegram_text_update
from tests.samples import document_photo, id_card_photo

TOO_FAST = ("You are sending messages very quickly. Please wait a moment and try again; "
            "nothing you already sent was lost.")
ALREADY = "We already have this exact file, thank you! There is no need to send it again."
QUOTA = ("We cannot keep more files from this chat: you have sent the most we accept. "
         "If something is missing, write *asesor* and a person will help you.")


@pytest.fixture
def tight(database_url: str, tmp_path: Path) -> Any:
    """An app with small limits, so a test reaches them in a few requests."""
    settings = make_settings(database_url, tmp_path / "data", webchat_message_limit="4 per minute",
                             webchat_address_limit="12 per minute", webchat_session_limit="3 per minute",
                             webchat_upload_limit="2 per minute", webchat_poll_limit="5 per minute",
                             webchat_upload_quota_mb=1)
    services = build_services(settings)
    app = create_app(settings, services)
    app.config["TESTING"] = True
    yield app, services
    services.close()


def _say(client: FlaskClient, text: str, **kwargs: Any) -> Any:
    return client.post("/webchat/api/messages", json={"id": uuid.uuid4().hex, "text": text}, **kwargs)


def _upload(client: FlaskClient, content: bytes, **kwargs: Any) -> Any:
    return client.post("/webchat/api/messages", content_type="multipart/form-data",
                       data={"id": uuid.uuid4().hex, "file": (io.BytesIO(content), "foto.jpg")}, **kwargs)


def _documents(services: Services) -> int:
    with services.database.session_scope() as session:
        return int(session.execute(select(func.count()).select_from(Document)).scalar_one())


def test_a_fast_session_gets_a_kind_429_and_keeps_what_it_sent(tight: Any) -> None:
    app, _ = tight
    client = app.test_client()
    # The first message opens the session (it counts against new sessions per address), then 4 more pass.
    answered = [_say(client, text) for text in ("hola", "1", "hola", "menu", "2")]
    assert all(response.status_code == 200 for response in answered)
    limited = _say(client, "otra vez")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.get_json()["error"] == translate("es_MX", TOO_FAST)
    assert limited.get_json()["retry_after"] >= 1
    english = _say(client, "again", headers={"Accept-Language": "en"})
    assert english.status_code == 429 and english.get_json()["error"] == TOO_FAST
    # Polling still works and returns every reply already stored.
    history = client.get("/webchat/api/messages").get_json()["messages"]
    assert {reply["id"] for response in answered for reply in response.get_json()["messages"]} <= {
        reply["id"] for reply in history}


def test_new_sessions_are_limited_per_address_not_for_others(tight: Any) -> None:
    app, _ = tight
    for _ in range(3):
        assert _say(app.test_client(), "hola").status_code == 200
    assert _say(app.test_client(), "hola").status_code == 429
    other = {"REMOTE_ADDR": "203.0.113.9"}
    assert _say(app.test_client(), "hola", environ_base=other).status_code == 200


def test_one_address_cannot_spread_messages_over_many_sessions(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "data", webchat_address_limit="6 per minute")
    services = build_services(settings)
    try:
        app = create_app(settings, services)
        statuses = [_say(app.test_client(), "hola").status_code for _ in range(8)]
        assert statuses == [200] * 6 + [429] * 2
        assert _say(app.test_client(), "hola", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200
    finally:
        services.close()


def test_uploads_have_their_own_smaller_limit(tight: Any) -> None:
    app, services = tight
    client = app.test_client()
    assert _say(client, "hola").status_code == 200
    assert _upload(client, id_card_photo(seed=1)).status_code == 200
    assert _upload(client, id_card_photo(seed=2)).status_code == 200
    assert _upload(client, id_card_photo(seed=3)).status_code == 429
    assert _documents(services) == 2
    assert _say(client, "hola").status_code == 200  # texts still go through


def test_polling_has_a_generous_limit_of_its_own(tight: Any) -> None:
    app, _ = tight
    client = app.test_client()
    assert _say(client, "hola").status_code == 200
    assert [client.get("/webchat/api/messages").status_code for _ in range(6)] == [200] * 5 + [429]
    assert _say(client, "1").status_code == 200


def test_webhooks_and_the_inbox_are_not_limited_here(database_url: str, tmp_path: Path,
                                                     telegram_api: Any) -> None:
    settings = make_settings(database_url, tmp_path / "data", telegram_bot_token="123:abc",
                             telegram_webhook_secret=TELEGRAM_SECRET, telegram_api_base_url=telegram_api.url,
                             webchat_address_limit="2 per minute", webchat_session_limit="1 per minute",
                             webchat_poll_limit="1 per minute")
    services = build_services(settings)
    try:
        app = create_app(settings, services)
        client = app.test_client()
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        for update_id in range(1, 8):
            response = client.post("/webhooks/telegram", json=telegram_text_update(update_id, 9, "hola"),
                                   headers=headers)
            assert response.status_code == 200
        make_staff(services)
        assert login(client).status_code == 302
        assert all(client.get("/inbox/").status_code == 200 for _ in range(4))
        assert all(client.get("/healthz").status_code == 200 for _ in range(4))
    finally:
        services.close()


def test_the_same_file_is_stored_once_per_applicant(phone: Phone, services: Services) -> None:
    photo = document_photo(seed=5)
    phone.upload(photo)
    assert _documents(services) == 1
    replies = phone.upload(photo)
    assert translate("es_MX", ALREADY) in phone.text(), replies
    assert _documents(services) == 1
    phone.upload(document_photo(seed=6))  # another file is welcome
    assert _documents(services) == 2


def test_the_same_file_from_two_applicants_is_kept_for_each(app: Flask, services: Services) -> None:
    photo = id_card_photo(seed=8)
    for _ in range(2):
        assert _upload(app.test_client(), photo).status_code == 200
    assert _documents(services) == 2


def test_an_anonymous_session_has_a_storage_quota(tight: Any) -> None:
    app, services = tight
    client = app.test_client()
    sizes = []
    for seed in range(4):  # ~370 kB each against a 1 MB quota; two uploads a minute per address: vary it
        photo = document_photo(seed=seed)
        sizes.append(len(photo))
        response = _upload(client, photo, environ_base={"REMOTE_ADDR": f"192.0.2.{seed}"})
        if response.status_code == 429:  # the per-session upload rate: not what this test is about
            with app.app_context():
                app.extensions["ptibot-limiter"].reset()
            response = _upload(client, photo, environ_base={"REMOTE_ADDR": f"192.0.2.{seed}"})
        assert response.status_code == 200
    stored = _documents(services)
    assert stored == 2 and sum(sizes[:2]) <= 1024 * 1024 < sum(sizes[:3])
    assert translate("es_MX", QUOTA) in response.get_json()["messages"][0]["text"]


@pytest.mark.parametrize(("name", "value"), [("WEBCHAT_MESSAGE_LIMIT", "lots"), ("WEBCHAT_POLL_LIMIT", "5 per eon"),
                                             ("WEBCHAT_UPLOAD_QUOTA_MB", "0"), ("WEBCHAT_UPLOAD_QUOTA_MB", "x")])
def test_limits_are_settings_checked_at_start(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: value, "PTIBOT_DATA_DIR": str(tmp_path)}, cwd=tmp_path)
    settings = Settings.from_env({"WEBCHAT_MESSAGE_LIMIT": "5 per second", "PTIBOT_DATA_DIR": str(tmp_path)},
                                 cwd=tmp_path)
    assert settings.webchat_message_limit == "5 per second" and settings.webchat_upload_quota_mb == 30
