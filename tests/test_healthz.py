"""`GET /healthz` answers 200 while the database answers, 503 when it does not; `/metrics` for Prometheus
(open in development, behind METRICS_TOKEN otherwise: tests/test_security_headers.py)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from bot.web.app import create_app
from bot.wiring import Services, build_services
from tests.helpers import make_settings


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


def test_metrics_are_off_in_production_without_a_token(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "prod", env="production",
                             public_base_url="https://bot.example.mx")
    services = build_services(settings)
    try:
        assert create_app(settings, services).test_client().get("/metrics").status_code == 404
    finally:
        services.close()
