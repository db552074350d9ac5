"""The manager's dashboard and the "/" canned responses in headless Chromium.

The dashboard's charts are drawn by the vendored Chart.js under the page's Content-Security-Policy (no CDN, no
inline script); the composer's "/" list is used with the keyboard only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from playwright.sync_api import Page, Route, ViewportSize, expect

from bot.wiring import Services
from locales import translate
from tests.a11y import assert_accessible
from tests.helpers import PASSWORD, Phone, conversation_id_of, enrolled_applicant, make_staff, post_form
from tests.helpers import login as client_login

pytest_plugins = ["tests.browser"]

DESK: ViewportSize = {"width": 1280, "height": 900}


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(base_url + "/inbox/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=es("Log in")).click()
    expect(page).to_have_url(re.compile(r"/inbox/"))


def test_the_dashboard_draws_its_charts_under_the_csp(new_tab: Callable[[ViewportSize], Page], live_server: str,
                                                      app: Flask, services: Services) -> None:
    enrolled_applicant(Phone(app.test_client()))
    make_staff(services, "gerente@gestoria.mx", "manager")
    page = new_tab(DESK)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error"
            and "Failed to load resource" not in message.text else None)  # the favicon is not ours to test
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, live_server, "gerente@gestoria.mx")
    page.get_by_role("link", name=es("Dashboard")).click()
    expect(page.get_by_role("heading", name=es("Enrollment funnel"))).to_be_visible()
    # Chart.js drew something on both canvases (a blank canvas has no pixel set).
    page.wait_for_function("""() => ['funnel-chart', 'cases-chart'].every(id => {
        const chart = window.Chart && window.Chart.getChart(id); return chart && chart.data.labels.length > 0; })""")
    labels = page.evaluate("window.Chart.getChart('funnel-chart').data.labels")
    values = page.evaluate("window.Chart.getChart('funnel-chart').data.datasets[0].data")
    assert labels[0] == es("Started a conversation") and values[0] == 1 and values[-2] == 1  # filed
    table = page.get_by_role("table").filter(has=page.locator("caption", has_text=es(
        "How many conversations reached each step, and how many stopped before it.")))
    expect(table.get_by_role("rowheader", name=es("Case filed"))).to_be_visible()
    assert not problems, problems  # no script error, no Content-Security-Policy refusal
    assert_accessible(page, "dashboard")
    with page.expect_download() as download:
        page.get_by_role("link", name=es("Download CSV")).click()
    assert download.value.suggested_filename.startswith(es("dashboard"))


def test_slash_in_the_composer_inserts_a_filled_canned_response(new_tab: Callable[[ViewportSize], Page],
                                                                live_server: str, app: Flask,
                                                                services: Services) -> None:
    phone = Phone(app.test_client())
    enrolled_applicant(phone)
    cid = conversation_id_of(services, phone)
    make_staff(services)
    helper = app.test_client()
    client_login(helper)
    post_form(helper, "/inbox/canned", title="Documentos", body="Gracias {nombre}, ya revisamos tu folio {folio}.")
    post_form(helper, "/inbox/canned", title="Saludo", body="Hola {nombre}, ¿en qué te ayudo?")
    page = new_tab(DESK)
    log_in(page, live_server, "ana@gestoria.mx")
    held: list[Route] = []
    page.route(re.compile(r".*/inbox/c/\d+/canned$"), lambda route: held.append(route))  # arrives when we say so
    page.goto(f"{live_server}/inbox/c/{cid}")
    reply = page.locator("#reply-text")
    reply.click()
    reply.press_sequentially("/")  # typed before the list arrived: it opens once it does
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    held[0].continue_()
    picker = page.locator("#canned-picker")
    expect(picker).to_be_visible()
    expect(picker.get_by_role("option")).to_have_count(2)
    assert page.evaluate("document.activeElement.id") == "reply-text"  # the keyboard stays in the reply box
    assert reply.get_attribute("aria-activedescendant") == picker.get_by_role("option").first.get_attribute("id")
    reply.press_sequentially("sal")  # filters by title or text, accents and case ignored
    expect(picker.get_by_role("option")).to_have_count(1)
    reply.press("Escape")
    expect(picker).to_be_hidden()
    reply.fill("")
    reply.press_sequentially("Buenas. /doc")
    expect(picker.get_by_role("option")).to_have_count(1)
    reply.press("ArrowDown")
    reply.press("Enter")
    expect(picker).to_be_hidden()
    value = reply.input_value()
    assert re.fullmatch(r"Buenas\. Gracias Eduardo, ya revisamos tu folio PTI-2026-\d{6}\.", value), value

    # The canned-responses page: its live preview fills the placeholders as the text is typed.
    page.goto(f"{live_server}/inbox/canned")
    page.get_by_label(es("Text")).fill("Hola {nombre}, tu folio es {folio}")
    expect(page.locator("#add-preview")).to_have_text("Hola María, tu folio es PTI-2026-000123")
    assert_accessible(page, "canned responses")
