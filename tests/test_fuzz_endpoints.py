"""Randomized requests against every public endpoint and the inbox forms: never a 5xx, `/healthz` still answers
afterwards, and the process does not grow. Bounded (100 fixed examples a group, about 10 s in all) for CI."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.web.app import create_app
from bot.wiring import Services, build_services
from tests.helpers import (
    TELEGRAM_SECRET,
    Phone,
    csrf,
    login,
    make_settings,
    make_staff,
    post_signed,
    telegram_text_update,
)

FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
MAX_GROWTH = 64 * 1024 * 1024  # bytes of resident memory one group of requests may leave behind
GENEROUS = "100000 per minute"

def _encodable(value: str) -> bool:
    """What a browser can put in a URL or form: no lone surrogates (JSON bodies carry those, tested above)."""
    return not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)


ODD_TEXT = st.one_of(st.text(max_size=60), st.sampled_from([
    "\ud800", "a\udfff", "\x00", "‮", "😀" * 30, "%0d%0a", "\r\nSet-Cookie: x=1", "../../etc/passwd",
    "99999999999999999999999", "-1", "1e309", "NaN", "<script>alert(1)</script>", "a" * 5000]))
ODD_NUMBER = st.one_of(st.integers(), st.integers(min_value=2**62, max_value=2**80), st.floats(allow_nan=True),
                       st.sampled_from([2**63, -(2**63) - 1, 10**30]))
SCALARS = st.one_of(st.none(), st.booleans(), ODD_NUMBER, ODD_TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(ODD_TEXT, inner, max_size=4)), max_leaves=12)
DEEP = st.integers(min_value=50, max_value=100_000).map(lambda depth: "[" * depth + "]" * depth)
QUERY = st.dictionaries(st.sampled_from(["after", "format", "lang", "next", "partial", "status", "id", "x"]),
                        ODD_TEXT, max_size=3)
FORM_KEYS = ["text", "body", "title", "delete", "status", "decision", "reason", "line", "period", "email", "role",
             "name", "password", "confirm", "current", "id", "x"]
FORM = st.dictionaries(st.sampled_from(FORM_KEYS), st.one_of(ODD_TEXT.filter(_encodable), st.integers().map(str)),
                       max_size=5)


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@contextmanager
def bounded(client: FlaskClient) -> Iterator[None]:
    """The block's requests leave memory within bounds, and the server still answers its health check."""
    before, sent = _rss(), len(SENT)
    yield
    assert len(SENT) - sent >= 30, "hypothesis ran fewer examples than expected"
    grown = _rss() - before
    assert grown < MAX_GROWTH, f"resident memory grew by {grown / 2**20:.0f} MB"
    assert client.get("/healthz").status_code == 200


SENT: list[int] = []  # statuses of every request the groups below made, to check they really ran


def _ok(response: Any) -> None:
    SENT.append(response.status_code)
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])


@pytest.fixture
def fuzz_app(database_url: str, tmp_path: Path) -> Iterator[tuple[Flask, Services]]:
    """The app with rate limits out of the way, so every random body reaches its handler."""
    built = make_settings(database_url, tmp_path / "data", webchat_message_limit=GENEROUS,
                          webchat_address_limit=GENEROUS, webchat_session_limit=GENEROUS,
                          webchat_upload_limit=GENEROUS, webchat_poll_limit=GENEROUS)
    services = build_services(built)
    app = create_app(built, services)
    app.config["TESTING"] = True
    yield app, services
    services.close()


def test_web_chat_api(fuzz_app: tuple[Flask, Services]) -> None:
    app, _ = fuzz_app
    client = app.test_client()

    @FUZZ
    @given(body=st.one_of(JSON, st.fixed_dictionaries({"id": JSON, "text": JSON}, optional={"payload": JSON}),
                          DEEP, st.binary(max_size=200)),
           content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]),
           query=QUERY, fresh=st.booleans())
    def run(body: Any, content_type: str, query: dict[str, str], fresh: bool) -> None:
        target = app.test_client() if fresh else client
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        _ok(target.post("/webchat/api/messages", data=data, content_type=content_type))
        _ok(target.get("/webchat/api/messages", query_string={k: v for k, v in query.items() if _encodable(v)}))

    with bounded(client):
        run()


def test_web_chat_uploads(fuzz_app: tuple[Flask, Services]) -> None:
    app, _ = fuzz_app
    client = app.test_client()

    @FUZZ
    @given(content=st.one_of(st.binary(max_size=4096), st.sampled_from([
               b"%PDF-1.4\n" + b"0" * 500, b"\x89PNG\r\n\x1a\n" + b"\x00" * 300, b"\xff\xd8\xff\xe0" + b"\x00" * 300])),
           field=st.sampled_from(["file", "file", "document", ""]), client_id=ODD_TEXT.filter(_encodable),
           filename=ODD_TEXT.filter(_encodable))
    def run(content: bytes, field: str, client_id: str, filename: str) -> None:
        data: dict[str, Any] = {"id": client_id}
        if field:
            data[field] = (io.BytesIO(content), filename or "x")
        _ok(client.post("/webchat/api/messages", content_type="multipart/form-data", data=data))

    with bounded(client):
        run()


def _mutated(update: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    """The update with the value at `path` (keys into nested objects) replaced."""
    node: Any = update
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return update
        node = node[key]
    if isinstance(node, dict):
        node[path[-1]] = value
    return update


TELEGRAM_PATHS = [["update_id"], ["message"], ["message", "text"], ["message", "chat"], ["message", "chat", "id"],
                  ["message", "chat", "type"], ["message", "from"], ["message", "from", "language_code"],
                  ["message", "from", "first_name"], ["message", "photo"], ["message", "document"],
                  ["message", "caption"], ["message", "date"], ["my_chat_member"], ["callback_query"],
                  ["edited_message"], ["message", "message_id"]]
PHOTO = st.lists(st.fixed_dictionaries({"file_id": SCALARS, "file_unique_id": SCALARS, "width": SCALARS,
                                        "height": SCALARS}, optional={"file_size": SCALARS}), max_size=3)


def test_telegram_webhook(telegram_client: FlaskClient) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}

    @FUZZ
    @given(update_id=st.integers(min_value=1, max_value=2**31), mutations=st.lists(
        st.tuples(st.sampled_from(TELEGRAM_PATHS), st.one_of(JSON, PHOTO)), max_size=3), deep=st.none() | DEEP)
    def run(update_id: int, mutations: list[tuple[list[str], Any]], deep: str | None) -> None:
        update = telegram_text_update(update_id, 4242, "hola")
        for path, value in mutations:
            update = _mutated(update, path, value)
        body = deep if deep is not None else json.dumps(update)
        response = telegram_client.post("/webhooks/telegram", data=body, content_type="application/json",
                                        headers=headers)
        _ok(response)

    with bounded(telegram_client):
        run()


TWILIO_KEYS = ["From", "To", "Body", "MessageSid", "NumMedia", "MediaUrl0", "MediaContentType0", "ProfileName",
               "WaId", "ButtonPayload", "ButtonText", "OriginalRepliedMessageSid", "MessageStatus", "ErrorCode",
               "Latitude", "Longitude"]


def test_whatsapp_webhooks(whatsapp_client: FlaskClient, twilio_api: Any) -> None:
    @FUZZ
    @given(fields=st.dictionaries(st.sampled_from(TWILIO_KEYS), st.one_of(ODD_TEXT.filter(_encodable),
                                                                         st.integers().map(str)), max_size=8),
           path=st.sampled_from(["/webhooks/whatsapp", "/webhooks/whatsapp/status"]))
    def run(fields: dict[str, str], path: str) -> None:
        params = {"From": "whatsapp:+5215512345678", "MessageSid": "SM" + uuid.uuid4().hex, **fields}
        _ok(post_signed(whatsapp_client, twilio_api, path, params))

    with bounded(whatsapp_client):
        run()


def test_public_pages_and_links(fuzz_app: tuple[Flask, Services]) -> None:
    app, _ = fuzz_app
    client = app.test_client()
    segment = ODD_TEXT.filter(lambda value: _encodable(value) and "/" not in value and value not in ("", ".", ".."))

    @FUZZ
    @given(page=st.sampled_from(["/legal/{}", "/data-export/{}", "/media/{}", "/{}", "/webchat/{}", "/healthz"]),
           token=segment, query=QUERY.map(lambda q: {k: v for k, v in q.items() if _encodable(v)}),
           language=ODD_TEXT.filter(lambda value: _encodable(value) and value.isascii()
                                    and "\n" not in value and "\r" not in value))
    def run(page: str, token: str, query: dict[str, str], language: str) -> None:
        _ok(client.get(page.format(token), query_string=query, headers={"Accept-Language": language}))

    with bounded(client):
        run()


def test_inbox_forms(fuzz_app: tuple[Flask, Services]) -> None:
    app, services = fuzz_app
    Phone(app.test_client()).send("hola")  # conversation 1 exists
    make_staff(services, role="admin")
    staff = app.test_client()
    assert login(staff).status_code == 302
    with staff.session_transaction() as session:
        token = session["csrf"]
    posts = ["/inbox/c/{}/take", "/inbox/c/{}/reply", "/inbox/c/{}/note", "/inbox/c/{}/hand-back",
             "/inbox/c/{}/case/{}/status", "/inbox/c/{}/documents/{}/review", "/inbox/c/{}/payments/line",
             "/inbox/c/{}/payments/paid", "/inbox/c/{}/case/{}/results", "/inbox/canned", "/inbox/staff",
             "/inbox/password"]
    gets = ["/inbox/", "/inbox/c/{}", "/inbox/c/{}/messages", "/inbox/cases", "/inbox/rights", "/inbox/audit",
            "/inbox/canned", "/inbox/staff", "/inbox/documents/{}"]
    ids = st.one_of(st.sampled_from([1, 2, 0]), st.integers(min_value=0, max_value=2**70))

    @FUZZ
    @given(url=st.sampled_from(posts + gets), first=ids, second=ids, form=FORM,
           query=QUERY.map(lambda q: {k: v for k, v in q.items() if _encodable(v)}))
    def run(url: str, first: int, second: int, form: dict[str, str], query: dict[str, str]) -> None:
        target = url.format(first, second)
        if url in posts:
            if url == "/inbox/password" or form.get("role") or form.get("email"):
                form.pop("password", None)  # keep the admin able to log in for the rest of the run
            _ok(staff.post(target, data={"csrf_token": token, **form}, query_string=query))
        else:
            _ok(staff.get(target, query_string=query))

    with bounded(staff):
        run()
    assert staff.get("/inbox/").status_code in (200, 302)
    assert csrf(app.test_client())  # the login page still renders


def test_the_suite_covers_every_route(app: Flask) -> None:
    """A new public route should join the fuzzing above: this list names every one we cover."""
    covered = {"webchat.page", "webchat.post_message", "webchat.list_messages", "webhooks.telegram_update",
               "webhooks.whatsapp_message", "webhooks.whatsapp_status", "legal.show", "media_links.serve",
               "data_export.download", "healthz", "static", "metrics.metrics",
               "stripe_webhook.stripe_event"}  # fuzzed in tests/test_payments_stripe.py
    public = {rule.endpoint for rule in app.url_map.iter_rules() if not rule.endpoint.startswith("inbox.")}
    assert public - covered <= set(), f"fuzz these too: {sorted(public - covered)}"

