"""Issue 18 leftovers in Chromium: the optional alert for new waiting conversations (a toggle kept in
localStorage; a desktop notification when allowed, a beep otherwise) and voice notes arriving live with their
player, as on reload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from playwright.sync_api import Page, ViewportSize, expect

from bot.wiring import Services
from locales import translate
from tests.helpers import PASSWORD, Phone, conversation_id_of, make_staff
from tests.samples import voice_note

pytest_plugins = ["tests.browser"]

DESK: ViewportSize = {"width": 1280, "height": 800}
LIVE_MS = 4_000  # events arrive within a second; this only bounds a failure


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def logged_in(page: Page, base: str) -> None:
    page.goto(base + "/inbox/login")
    page.fill("input[name=email]", "ana@gestoria.mx")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=es("Log in")).click()
    expect(page.locator("#queues")).to_be_visible()


def wants_a_person(app: Flask) -> Phone:
    phone = Phone(app.test_client())
    phone.send("hola")
    phone.send("asesor")
    return phone


def test_the_alert_for_new_waiting_conversations(new_tab: Callable[[ViewportSize], Page], live_server: str,
                                                 app: Flask, services: Services) -> None:
    make_staff(services)
    page = new_tab(DESK)
    page.context.grant_permissions(["notifications"], origin=live_server)
    logged_in(page, live_server)
    page.goto(f"{live_server}/inbox/?view=waiting")
    toggle = page.get_by_role("button", name=es("Notify me of new waiting conversations"))
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#count-waiting")).to_have_text("0")
    wants_a_person(app)  # the alert is off: the count grows, nothing rings
    expect(page.locator("#count-waiting")).to_have_text("1", timeout=LIVE_MS)
    assert page.evaluate("window.inboxWaitingAlerts") == 0
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("localStorage.getItem('inbox-notify-waiting')") == "1"
    page.reload()  # the choice is kept
    expect(page.get_by_role("button", name=es("Notify me of new waiting conversations"))).to_have_attribute(
        "aria-pressed", "true")
    wants_a_person(app)
    expect(page.locator("#count-waiting")).to_have_text("2", timeout=LIVE_MS)
    page.wait_for_function("window.inboxWaitingAlerts === 1", timeout=LIVE_MS)
    assert page.evaluate("window.inboxWaitingAlertWay") == "notification"
    page.context.clear_permissions()  # not allowed: a beep instead
    page.reload()
    wants_a_person(app)
    expect(page.locator("#count-waiting")).to_have_text("3", timeout=LIVE_MS)
    page.wait_for_function("window.inboxWaitingAlerts === 1", timeout=LIVE_MS)
    assert page.evaluate("window.inboxWaitingAlertWay") == "sound"


def test_a_voice_note_arrives_live_with_its_player(new_tab: Callable[[ViewportSize], Page], live_server: str,
                                                   app: Flask, services: Services) -> None:
    make_staff(services)
    phone = Phone(app.test_client())
    phone.send("hola")
    cid = conversation_id_of(services, phone)
    page = new_tab(DESK)
    logged_in(page, live_server)
    page.goto(f"{live_server}/inbox/c/{cid}")
    page.evaluate("window.__notReloaded = true")
    expect(page.locator("#transcript audio")).to_have_count(0)
    phone.upload(voice_note(4), "nota.ogg")
    player = page.locator("#transcript .msg.in audio[controls]")
    expect(player).to_have_count(1, timeout=LIVE_MS)
    expect(page.locator("#transcript .msg.in .media-kind").last).to_contain_text("0:04")
    assert page.evaluate("window.__notReloaded === true")
    live = page.locator("#transcript").inner_html()
    page.reload()
    expect(page.locator("#transcript .msg.in audio[controls]")).to_have_count(1)
    assert page.locator("#transcript .msg.in .media-kind").last.inner_html() in live  # the same as on reload
