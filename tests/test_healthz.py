"""`GET /healthz` answers 200 while the database answers, 503 when it does not."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from bot.wiring import Services


def test_healthy(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_unhealthy_when_database_is_gone(app: Flask, services: Services) -> None:
    from storage.db import make_engine

    services.database.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                                           pool_pre_ping=False, connect_args={"connect_timeout": 1})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable"}


def test_metrics_in_prometheus_format(client: FlaskClient) -> None:
    client.post("/webchat/api/messages", json={"text": "hola"})
    body = client.get("/metrics").get_data(as_text=True)
    assert 'ptibot_inbound_messages_total{channel="webchat"}' in body
    assert "ptibot_turn_seconds_bucket" in body and "ptibot_outbox_depth" in body
    assert "hola" not in body
