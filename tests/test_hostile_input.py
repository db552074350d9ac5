"""Bodies and URLs that once answered 500 now get a clear 400 (or 404 for an id that cannot exist), and the
bot keeps working afterwards: each case here reproduces one probe from issue 16."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from bot.wiring import Services
from storage.models import Message, QueuedInbound
from tests.helpers import (
    TELEGRAM_SECRET,
    Phone,
    login,
    make_staff,
    post_form,
    post_signed,
    telegram_text_update,
)

HUGE = 99999999999999999999999
BEYOND_INT64 = 2**63


def _telegram(client: FlaskClient, body: Any) -> Any:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/webhooks/telegram", data=data, content_type="application/json",
                       headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})


def _assert_clear_400(response: Any) -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]


@pytest.mark.parametrize("body", [
    {"id": "a", "text": "hola \ud800 mundo"},
    {"id": "\udfff", "text": "hola"},
    {"id": "x", "payload": "\ud83d"},
])
def test_lone_surrogates_in_web_chat_are_refused_cleanly(client: FlaskClient, phone: Phone,
                                                         body: dict[str, Any]) -> None:
    # json.dumps escapes the lone surrogate as \ud800, exactly as a hostile client would send it.
    response = client.post("/webchat/api/messages", data=json.dumps(body), content_type="application/json")
    _assert_clear_400(response)
    assert phone.send("hola")  # the session still works


def test_a_lone_surrogate_from_telegram_is_stored_and_answered(telegram_client: FlaskClient,
                                                               telegram_services: Services) -> None:
    """A provider may deliver one; the turn must not fail (and be retried) forever on encrypting it."""
    update = telegram_text_update(31, 77, "hola \ud800")
    update["message"]["from"]["first_name"] = "Ana \udfff"
    assert _telegram(telegram_client, update).status_code == 200
    with telegram_services.database.session_scope() as session:
        assert session.execute(select(func.count()).select_from(QueuedInbound)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Message)
                               .where(Message.direction == "out")).scalar_one() > 0


def test_a_deeply_nested_json_body_is_a_400(client: FlaskClient, telegram_client: FlaskClient) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    _assert_clear_400(client.post("/webchat/api/messages", data=deep, content_type="application/json"))
    _assert_clear_400(_telegram(telegram_client, deep))


@pytest.mark.parametrize("body", [{"text": {"a": 1}}, {"text": ["x"]}, {"payload": 5}, {"id": {"a": 1}, "text": "x"},
                                  {"text": "hola", "id": HUGE}, {"text": "hola", "id": "a\x00b"}])
def test_web_chat_fields_of_the_wrong_type(client: FlaskClient, body: dict[str, Any]) -> None:
    response = client.post("/webchat/api/messages", json=body)
    if "id" in body and isinstance(body["id"], int):
        assert response.status_code == 200  # an odd but harmless id: used as text
    else:
        _assert_clear_400(response)


@pytest.mark.parametrize("after", [str(HUGE), "-" + str(HUGE), "1e5", "abc", "", "٣"])
def test_web_chat_polling_with_an_absurd_after(phone: Phone, client: FlaskClient, after: str) -> None:
    phone.send("hola")
    response = client.get("/webchat/api/messages", query_string={"after": after})
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    if response.status_code == 400:
        assert response.get_json()["error"]


def test_telegram_member_update_without_its_member(telegram_client: FlaskClient) -> None:
    update = {"update_id": 7, "my_chat_member": {
        "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "is_bot": False, "first_name": "A"},
        "date": 1764300000, "old_chat_member": None, "new_chat_member": None}}
    assert _telegram(telegram_client, update).status_code in (200, 400)


@pytest.mark.parametrize("mutate", [
    lambda m: m.update(text={"a": 1}),
    lambda m: m.update(text=5),
    lambda m: m.update(caption={"a": 1}, photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]),
    lambda m: m.update(chat={"id": HUGE, "type": "private"}),
    lambda m: m.update(chat={"id": "x", "type": "private"}),
    lambda m: m.update(chat=None),
    lambda m: m.update(document={"file_id": 5, "file_unique_id": "u", "file_size": "big"}),
    lambda m: m["from"].update(language_code=["es"]),
])
def test_telegram_messages_with_fields_of_the_wrong_type(telegram_client: FlaskClient, mutate: Any) -> None:
    update = telegram_text_update(11, 42, "hola")
    mutate(update["message"])
    assert _telegram(telegram_client, update).status_code in (200, 400)
    assert _telegram(telegram_client, telegram_text_update(12, 42, "hola")).status_code == 200


@pytest.mark.parametrize("sizes", [
    [{"file_id": "a", "file_unique_id": "a", "width": "9" * 50, "height": 10**8}],
    [{"file_id": "a", "file_unique_id": "a", "width": "x", "height": 3}],
    [{"file_id": "a", "file_unique_id": "a", "width": 10**30, "height": 10**30}],
    [{"file_id": "a", "file_unique_id": "a", "width": -1, "height": 2.5}],
    [{"file_id": "a", "file_unique_id": "a", "width": 10, "height": 10, "file_size": 10**30}],
    ["not a size"],
])
def test_telegram_photo_sizes_are_checked_before_any_arithmetic(telegram_client: FlaskClient,
                                                                sizes: list[Any]) -> None:
    update = telegram_text_update(21, 42, "")
    del update["message"]["text"]
    update["message"]["photo"] = sizes
    assert _telegram(telegram_client, update).status_code == 400


def test_telegram_update_id_beyond_the_database_range(telegram_client: FlaskClient) -> None:
    assert _telegram(telegram_client, telegram_text_update(HUGE, 42, "hola")).status_code == 400
    assert _telegram(telegram_client, telegram_text_update(BEYOND_INT64, 42, "hola")).status_code == 400
    assert _telegram(telegram_client, telegram_text_update(-1, 42, "hola")).status_code in (200, 400)


@pytest.fixture
def staff(app: Flask, services: Services) -> FlaskClient:
    make_staff(services, role="admin")
    client = app.test_client()
    assert login(client).status_code == 302
    return client


@pytest.mark.parametrize("url", [
    f"/inbox/c/1/messages?after={HUGE}", f"/inbox/c/{HUGE}/messages", f"/inbox/c/{HUGE}",
    f"/inbox/c/{BEYOND_INT64}", "/inbox/c/1/messages?after=-" + str(HUGE),
])
def test_inbox_urls_with_numbers_beyond_range(staff: FlaskClient, url: str) -> None:
    response = staff.get(url)
    assert response.status_code in (400, 404), response.get_data(as_text=True)[:300]
    assert staff.get("/inbox/").status_code in (200, 302)


@pytest.mark.parametrize("value", ["abc", str(HUGE), "-1", "1.5", "٣"])
def test_deleting_a_canned_response_with_a_bad_id(staff: FlaskClient, value: str) -> None:
    response = post_form(staff, "/inbox/canned", delete=value)
    assert response.status_code in (302, 400), response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("target", ["/inbox/\r\nSet-Cookie: x=1", "/inbox\nLocation: //evil.example",
                                    "//evil.example/inbox", "/inbox@evil.example", "/inbox/%0d%0aX: y",
                                    "/inbox\\..\\evil", "https://evil.example/inbox"])
def test_login_next_cannot_inject_headers_or_leave_the_inbox(app: Flask, services: Services, target: str) -> None:
    make_staff(services)
    client = app.test_client()
    client.get("/inbox/login")
    with client.session_transaction() as session:
        token = session["csrf"]
    response = client.post("/inbox/login", query_string={"next": target},
                           data={"email": "ana@gestoria.mx", "password": "correct horse battery",
                                 "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location and "\\" not in location
    assert location == "/inbox" or location.startswith("/inbox/")
    assert "Set-Cookie" not in response.headers or "x=1" not in response.headers.get("Set-Cookie", "")


def test_control_characters_in_ids_are_refused(client: FlaskClient, whatsapp_client: FlaskClient,
                                               twilio_api: Any) -> None:
    """PostgreSQL text columns refuse NUL: an id carrying one was a 500 there."""
    upload = client.post("/webchat/api/messages", content_type="multipart/form-data",
                         data={"id": "x\x00", "file": (io.BytesIO(b"%PDF-1.4"), "a.pdf")})
    _assert_clear_400(upload)
    for sid, expected in (("SM\x00abc", {400}), ("SM\nabc", {200, 400})):
        params = twilio_api.inbound_payload("whatsapp:+5215512345678", "hola")
        params["MessageSid"] = sid
        assert post_signed(whatsapp_client, twilio_api, "/webhooks/whatsapp", params).status_code in expected
        status = {"MessageSid": sid, "MessageStatus": "delivered\x00"}
        assert post_signed(whatsapp_client, twilio_api, "/webhooks/whatsapp/status", status).status_code in (200, 400)
