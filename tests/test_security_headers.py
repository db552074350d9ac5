"""Every page carries the security headers, behind the proxy the address is the client's, the server names
no versions, /metrics needs its token, and a data-export link leaks nothing and dies with the data."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.service.links import export_url
from bot.web.app import create_app
from bot.wiring import Services, build_services
from storage.models import Contact
from tests.helpers import PASSWORD, Phone, environment, login, make_settings, make_staff, serve_process

pytest_plugins = ["tests.browser"]  # Chromium, for the last test

PAGES = ("/", "/legal/privacy", "/legal/terms", "/inbox/login", "/healthz", "/webchat/api/messages",
         "/data-export/forged", "/nowhere")


def assert_protected(response: Any) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = dict((part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip())
    assert directives.get("script-src") == "'self'", policy
    assert directives.get("frame-ancestors") == "'none'", policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin")  # the inbox keeps same-origin


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert_protected(response)
    assert "Strict-Transport-Security" not in response.headers  # plain http in development: no HSTS


def test_staff_pages_and_json_apis_carry_them_too(client: FlaskClient, services: Services) -> None:
    assert_protected(client.post("/webchat/api/messages", json={"text": "hola"}))
    make_staff(services)
    login(client)
    for path in ("/inbox/", "/inbox/cases", "/inbox/rights", "/inbox/canned"):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert_protected(response)


def test_no_page_runs_inline_script(client: FlaskClient, services: Services) -> None:
    """The policy forbids inline script, so no template may rely on one (nor on an inline event handler)."""
    templates = Path(__file__).parent.parent / "bot" / "web" / "templates"
    for template in templates.rglob("*.html"):
        source = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), template
        assert not re.search(r"\son[a-z]+\s*=", source), template
        assert "javascript:" not in source, template
    page = client.get("/").get_data(as_text=True)
    script = re.search(r'<script src="([^"]+)"', page)
    assert script and client.get(script.group(1)).status_code == 200


def test_hsts_when_https(client: FlaskClient) -> None:
    response = client.get("/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.fixture
def production_app(database_url: str, tmp_path: Path) -> Any:
    settings = make_settings(database_url, tmp_path / "prod", env="production",
                             public_base_url="https://bot.example.mx", trusted_proxies=1)
    services = build_services(settings)
    app = create_app(settings, services)
    app.config["TESTING"] = True

    @app.get("/test-only/who")
    def who() -> Any:
        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    yield app
    services.close()


def test_production_sends_hsts_and_hides_metrics(production_app: Flask) -> None:
    client = production_app.test_client()
    response = client.get("/")
    assert_protected(response)
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert client.get("/metrics").status_code == 404


def test_the_trusted_proxy_sets_address_scheme_and_host(production_app: Flask, app: Flask) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                 "X-Forwarded-Host": "bot.example.mx"}
    seen = production_app.test_client().get("/test-only/who", headers=forwarded,
                                             environ_base={"REMOTE_ADDR": "10.0.0.2"}).get_json()
    assert seen == {"addr": "203.0.113.7", "scheme": "https", "host": "bot.example.mx"}

    @app.get("/test-only/who")
    def who() -> Any:
        return {"addr": request.remote_addr, "scheme": request.scheme}

    direct = app.test_client().get("/test-only/who", headers=forwarded, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert direct.get_json() == {"addr": "10.0.0.2", "scheme": "http"}  # TRUSTED_PROXIES=0: headers ignored
    assert "Strict-Transport-Security" not in direct.headers


def test_metrics_need_the_token(database_url: str, tmp_path: Path) -> None:
    for env in ("production", "development"):
        settings = make_settings(database_url, tmp_path / env, env=env, metrics_token="s3cret-metrics-token",
                                 public_base_url="https://bot.example.mx")
        services = build_services(settings)
        try:
            client = create_app(settings, services).test_client()
            assert client.get("/metrics").status_code == 401
            assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert client.get("/metrics", headers={"Authorization": "Basic s3cret-metrics-token"}).status_code == 401
            ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"})
            assert ok.status_code == 200 and "ptibot_outbox_depth" in ok.get_data(as_text=True)
        finally:
            services.close()


def export_link(phone: Phone) -> str:
    replies = phone.send("mis datos")
    link = next(r["text"] for r in replies if "/data-export/" in r["text"]).split(": ")[-1].strip()
    return "/data-export/" + link.split("/data-export/")[-1]


def test_the_export_link_is_private_and_dies_with_the_data(phone: Phone) -> None:
    phone.send("hola")
    phone.send("1")
    phone.send("acepto")
    link = export_link(phone)
    for path in (link, link + "?format=html"):
        response = phone.client.get(path)
        assert response.status_code == 200
        assert "no-store" in response.headers["Cache-Control"]
        assert_protected(response)
    phone.send("borrar mis datos")
    phone.send("sí")
    # The confirmation has not been delivered and the contact row not purged yet: the link is dead already.
    assert phone.client.get(link).status_code == 404
    assert phone.client.get(link + "?format=html").status_code == 404


def test_a_link_never_reaches_a_later_contact_with_the_same_id(phone: Phone, services: Services) -> None:
    phone.send("hola")
    with services.database.session_scope() as session:
        contact = session.execute(select(Contact)).scalar_one()
        old = export_url(services.settings.secret_key, "", contact.id)
        contact.created_at = contact.created_at + timedelta(minutes=5)  # as if the id came back to someone new
    assert phone.client.get(old).status_code == 404


def test_serve_names_no_versions_and_logs_no_link_token(database_url: str, tmp_path: Path) -> None:
    token = "IjEyMyI.Z0x1Yw.Vz2ZdSecretPartOfTheLink"
    with serve_process(environment(database_url, tmp_path / "data"), "--no-worker") as (base, process):
        with urllib.request.urlopen(f"{base}/", timeout=10) as response:
            server, policy = response.headers.get("Server", ""), response.headers.get("Content-Security-Policy")
        assert "Werkzeug" not in server and "Python" not in server and not re.search(r"\d+\.\d+", server)
        assert policy and "script-src 'self'" in policy
        for path in (f"/data-export/{token}?format=html", f"/media/{token}"):
            with pytest.raises(urllib.error.HTTPError) as error:
                urllib.request.urlopen(base + path, timeout=10)
            assert error.value.code == 404
            assert "Werkzeug" not in error.value.headers.get("Server", "")
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "/data-export/[token]" in output and "/media/[token]" in output
    assert "SecretPartOfTheLink" not in output


def test_the_pages_run_under_the_policy_in_chromium(page: Any, live_server: str, services: Services) -> None:
    """Chromium enforces the policy: the web chat still greets and draws buttons, and nothing is refused."""
    from playwright.sync_api import expect

    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.goto(live_server + "/")
    expect(page.locator("#log .buttons button:enabled").first).to_be_visible()
    make_staff(services)
    page.goto(live_server + "/inbox/login")
    page.fill("input[name=email]", "ana@gestoria.mx")
    page.fill("input[name=password]", PASSWORD)
    page.locator("button[type=submit], form button").last.click()
    page.goto(live_server + "/inbox/")
    expect(page.locator("#rows tr").first).to_be_visible()
    page.locator("#rows a").first.click()
    expect(page.locator("#transcript")).to_be_visible()
    assert refused == []
