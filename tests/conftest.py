"""Shared fixtures: a fresh migrated database per test (SQLite by default, PostgreSQL when DATABASE_URL
says so), the app, its client, and helpers to talk to the web chat like a phone would."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings, normalise_database_url
from bot.web.app import create_app
from bot.web.context import services_of
from bot.wiring import Services, build_services
from storage.migrate import upgrade

IN_CI = bool(os.environ.get("CI"))
TEST_KEY = Fernet.generate_key().decode()


def skip_or_fail(reason: str) -> None:
    """Outside CI a missing service skips with its reason; under CI a skip would hide a gap, so fail."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (several processes, LISTEN/NOTIFY)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests are left out of a SQLite run (and said so), rather than skipped: under CI a
    skip is a failure, and CI runs the suite once on each database."""
    if postgres_url() is not None:
        return
    chosen = [item for item in items if "postgres" not in item.keywords]
    if len(chosen) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if "postgres" in item.keywords])
        items[:] = chosen


def pytest_report_header(config: pytest.Config) -> str:
    database = "PostgreSQL" if postgres_url() else "SQLite (PostgreSQL-only tests are deselected)"
    return f"ptibot: tests run on {database}"


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return normalise_database_url(url) if url.startswith(("postgres://", "postgresql")) else None


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per session; each test then gets a cheap copy of this template."""
    base = postgres_url()
    if base is None:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        upgrade(f"sqlite:///{path}")
        yield str(path)
        return
    name = f"ptibot_template_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    upgrade(make_url(base).set(database=name).render_as_string(hide_password=False))
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    base = postgres_url()
    if base is None:
        path = tmp_path / "ptibot.sqlite3"
        shutil.copyfile(template_database, path)
        yield f"sqlite:///{path}"
        return
    name = f"ptibot_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test", "data_dir": data_dir, "database_url": database_url, "secret_key": "test-secret",
        "data_encryption_keys": (TEST_KEY,), "default_locale": "es_MX",
        "business_hours": "mon-sun 00:00-23:59",  # always open, unless a test says otherwise
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.close()


@pytest.fixture
def app(settings: Settings, services: Services) -> Flask:
    application = create_app(settings, services)
    application.config["TESTING"] = True
    return application


class WorkerAttachedClient(FlaskClient):
    """A test client for an app whose worker takes each queued webhook turn right after the acknowledgement,
    as the in-process worker of `ptibot serve` does when the webhook wakes it.

    The turn runs through the real inbound queue (bot.service.intake), just not on another thread, so a test can
    look at what the turn stored as soon as `post` returns. Tests of the queue itself use `queue_client`.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        services = services_of(self.application)
        if services.worker is not None and services.worker.turns is not None:
            while services.worker.turns.run_once():
                pass
        return response


def worker_attached_client(application: Flask) -> FlaskClient:
    """The app's test client, with its worker taking queued turns after each request."""
    application.test_client_class = WorkerAttachedClient
    return application.test_client()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return worker_attached_client(app)


class Phone:
    """A web-chat user: sends texts or button payloads and keeps the last buttons it saw."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.last: list[dict[str, Any]] = []

    def send(self, text: str | None = None, *, payload: str | None = None,
             message_id: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"id": message_id or uuid.uuid4().hex}
        if text is not None:
            body["text"] = text
        if payload is not None:
            body["payload"] = payload
        response = self.client.post("/webchat/api/messages", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.last = response.get_json()["messages"]
        return self.last

    def upload(self, content: bytes, filename: str = "foto.jpg", message_id: str | None = None,
               status: int = 200) -> list[dict[str, Any]]:
        import io

        response = self.client.post("/webchat/api/messages", content_type="multipart/form-data", data={
            "id": message_id or uuid.uuid4().hex, "file": (io.BytesIO(content), filename)})
        assert response.status_code == status, response.get_data(as_text=True)
        self.last = response.get_json().get("messages", [])
        return self.last

    def press(self, title: str) -> list[dict[str, Any]]:
        """Press the button with this title among the last replies."""
        for message in reversed(self.last):
            for button in message["buttons"]:
                if button["title"] == title:
                    return self.send(payload=button["payload"])
        raise AssertionError(f"no button {title!r} in {self.buttons()}")

    def text(self) -> str:
        return "\n".join(message["text"] for message in self.last)

    def buttons(self) -> list[str]:
        return [button["title"] for message in self.last for button in message["buttons"]]


@pytest.fixture
def phone(client: FlaskClient) -> Phone:
    return Phone(client)


TELEGRAM_TOKEN = "123456:TEST-token"
TELEGRAM_SECRET = "s3cret-token-for-tests"


@pytest.fixture
def telegram_api() -> Iterator[Any]:
    from tests.fakes.telegram_api import FakeTelegramAPI

    with FakeTelegramAPI(expected_token=TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture
def telegram_settings(database_url: str, tmp_path: Path, telegram_api: Any) -> Settings:
    return make_settings(database_url, tmp_path / "data", telegram_bot_token=TELEGRAM_TOKEN,
                         telegram_webhook_secret=TELEGRAM_SECRET, telegram_api_base_url=telegram_api.url)


@pytest.fixture
def telegram_services(telegram_settings: Settings) -> Iterator[Services]:
    built = build_services(telegram_settings)
    yield built
    built.close()


@pytest.fixture
def telegram_client(telegram_settings: Settings, telegram_services: Services) -> FlaskClient:
    return worker_attached_client(create_app(telegram_settings, telegram_services))


def telegram_text_update(update_id: int, chat_id: int, text: str, language: str = "es") -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Ana", "language_code": language}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1764300000, "chat": {"id": chat_id, "type": "private"},
        "from": user, "text": text}}


PUBLIC_URL = "https://bot.example.mx"
WHATSAPP_FROM = "whatsapp:+14155238886"
STATUS_TEMPLATE = "HX" + "5" * 32


@pytest.fixture
def twilio_api() -> Iterator[Any]:
    from tests.fakes.twilio_api import FakeTwilioAPI

    with FakeTwilioAPI() as fake:
        yield fake


@pytest.fixture
def whatsapp_settings(database_url: str, tmp_path: Path, twilio_api: Any) -> Settings:
    return make_settings(database_url, tmp_path / "data", public_base_url=PUBLIC_URL,
                         twilio_account_sid=twilio_api.account_sid, twilio_auth_token=twilio_api.auth_token,
                         twilio_whatsapp_from=WHATSAPP_FROM, twilio_api_base_url=twilio_api.url,
                         whatsapp_templates={"status_update": STATUS_TEMPLATE})


@pytest.fixture
def whatsapp_services(whatsapp_settings: Settings) -> Iterator[Services]:
    built = build_services(whatsapp_settings)
    yield built
    built.close()


@pytest.fixture
def whatsapp_client(whatsapp_settings: Settings, whatsapp_services: Services) -> FlaskClient:
    return worker_attached_client(create_app(whatsapp_settings, whatsapp_services))
