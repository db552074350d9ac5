"""Shared fixtures: a fresh migrated database per test (SQLite by default, PostgreSQL when DATABASE_URL
says so), the app, its client, a web-chat phone, and the apps wired to the loopback Telegram and Twilio fakes.

Helpers that are not fixtures (sample identities, settings, the phone itself) live in tests/helpers.py.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.web.app import create_app
from bot.web.context import services_of
from bot.wiring import Services, build_services
from storage.migrate import upgrade

# Before any import of them, so that their failing asserts explain themselves like the tests' own.
pytest.register_assert_rewrite("tests.helpers", "tests.browser")

from tests.fakes.smtp import Recorder  # noqa: E402
from tests.helpers import (  # noqa: E402
    PUBLIC_URL,
    STATUS_TEMPLATE,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    WHATSAPP_FROM,
    Phone,
    free_port,
    login,
    make_settings,
    make_staff,
    postgres_url,
)


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


@contextmanager
def postgres_database(base: str, prefix: str, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template`, or empty) on the server of `base`: its URL, and it is
    dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate once per session; each test then gets a cheap copy of this template."""
    base = postgres_url()
    if base is None:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        upgrade(f"sqlite:///{path}")
        yield str(path)
        return
    with postgres_database(base, "ptibot_template") as url:
        upgrade(url)
        name = make_url(url).database
        assert name is not None
        yield name


@pytest.fixture
def database_url(template_database: str, tmp_path: Path) -> Iterator[str]:
    base = postgres_url()
    if base is None:
        path = tmp_path / "ptibot.sqlite3"
        shutil.copyfile(template_database, path)
        yield f"sqlite:///{path}"
        return
    with postgres_database(base, "ptibot_test", template=template_database) as url:
        yield url


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database, for migrating step by step (the shared template is already at the newest schema)."""
    base = postgres_url()
    if base is None:
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    with postgres_database(base, "ptibot_fresh") as url:
        yield url


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


@pytest.fixture
def phone(client: FlaskClient) -> Phone:
    return Phone(client)


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


# -- shared by the inbox, payment and mail tests --------------------------------------------------------
@pytest.fixture
def staff_client(app: Flask, services: Services) -> FlaskClient:
    make_staff(services)
    client = app.test_client()
    assert login(client).status_code == 302
    return client


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    recorder, port = Recorder(), free_port("127.0.0.1")
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    yield recorder, port
    controller.stop()
