"""The web chat page and its JSON API (DESIGN §3), including dedupe of a retried message."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.helpers import Phone


def test_page_is_served(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"/webchat/api/messages" in response.data
    assert b'name="viewport"' in response.data


def test_reply_shape_and_session_cookie(client: FlaskClient) -> None:
    response = client.post("/webchat/api/messages", json={"text": "hola"})
    assert response.status_code == 200
    assert "session=" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    messages = response.get_json()["messages"]
    assert {"id", "text", "buttons", "attachments"} <= set(messages[-1])
    assert messages[-1]["buttons"][0].keys() == {"title", "payload"}
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)


def test_same_message_id_twice_runs_one_turn(phone: Phone, client: FlaskClient) -> None:
    phone.send("hola")
    first = phone.send("4", message_id="retry-me")
    second = phone.send("4", message_id="retry-me")
    assert first == second
    history = client.get("/webchat/api/messages?after=0").get_json()["messages"]
    assert len([m for m in history if "CURP" in m["text"]]) == 1
    # Had the second delivery run a turn, "4" on the requirements topic would be a miss.
    assert not any("Sorry" in m["text"] or "Perdón" in m["text"] for m in history)


def test_two_browsers_are_two_conversations(app) -> None:  # type: ignore[no-untyped-def]
    one, two = Phone(app.test_client()), Phone(app.test_client())
    one.send("hola")
    two.send("hola")
    one.send("4")
    assert "CURP" in one.text()
    assert "CURP" not in two.send("menu")[-1]["text"]


def test_polling_returns_only_newer_replies(phone: Phone, client: FlaskClient) -> None:
    first = phone.send("hola")
    last_id = first[-1]["id"]
    assert client.get(f"/webchat/api/messages?after={last_id}").get_json()["messages"] == []
    phone.send("4")
    newer = client.get(f"/webchat/api/messages?after={last_id}").get_json()["messages"]
    assert newer and all(m["id"] > last_id for m in newer)


def test_polling_without_a_session_is_empty(client: FlaskClient) -> None:
    assert client.get("/webchat/api/messages").get_json() == {"messages": []}


def test_bad_input_gets_a_clear_400(client: FlaskClient) -> None:
    for body in ([1, 2], {"text": 5}, {"text": "   "}, {}):
        response = client.post("/webchat/api/messages", json=body)
        assert response.status_code == 400
        assert response.get_json()["error"]
    response = client.post("/webchat/api/messages", data="not json", content_type="application/json")
    assert response.status_code == 400
    assert client.get("/webchat/api/messages?after=abc").status_code == 400


def test_very_long_text_is_handled(phone: Phone) -> None:
    phone.send("hola")
    replies = phone.send("a" * 20000)
    assert replies[0]["text"]
