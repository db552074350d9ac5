"""The inbox workbench in headless Chromium (issues 18 and 19): routine work updates in place without a reload,
the queues and the open conversation follow the server's events, the document viewer, the phone layout, and
axe-core on every inbox page in both languages on a phone and a desk."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import select

from bot.wiring import Services
from locales import translate
from storage.models import Document
from tests.a11y import assert_accessible
from tests.helpers import PASSWORD, Phone, conversation_id_of, enrolled_applicant, make_staff

pytest_plugins = ["tests.browser"]

DESK: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
LIVE_MS = 4_000  # events arrive within a second; this only bounds a failure


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def logged_in(page: Page, base: str, email: str = "ana@gestoria.mx") -> None:
    page.goto(base + "/inbox/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name=es("Log in")).click()
    expect(page.locator("#queues")).to_be_visible()


def mark(page: Page) -> None:
    page.evaluate("window.__notReloaded = true")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def filed(app: Flask, services: Services) -> tuple[Phone, int]:
    phone = Phone(app.test_client())
    enrolled_applicant(phone)
    return phone, conversation_id_of(services, phone)


def test_routine_work_updates_in_place(new_tab: Callable[[ViewportSize], Page], live_server: str, app: Flask,
                                       services: Services) -> None:
    make_staff(services)
    phone, cid = filed(app, services)
    page = new_tab(DESK)
    logged_in(page, live_server)
    page.goto(f"{live_server}/inbox/c/{cid}")
    mark(page)
    page.locator("#take").click()
    expect(page.locator("#owner-bar")).to_contain_text(es("With %(name)s", name="Ana"))
    page.fill("#reply-text", "Hola, reviso tus *documentos*")
    page.locator("#send-reply").click()
    expect(page.locator("#transcript .msg.out").last).to_contain_text("Hola, reviso tus documentos")
    expect(page.locator("#transcript .msg.out strong").last).to_have_text("documentos")
    expect(page.locator("#reply-text")).to_have_value("")
    page.fill("#note-text", "Llamar mañana")
    page.locator("#add-note").click()
    expect(page.locator("#transcript .msg.note").last).to_contain_text("Llamar mañana")
    first = page.locator("#documents-card .doc").first
    first.get_by_role("button", name=es("Approve"), exact=True).click()
    expect(page.locator("#documents-card .doc").first.locator(".pill")).to_have_text(es("approved"))
    page.select_option("#new-status", label=es("in review"))
    page.locator("#change-status").click()
    expect(page.locator("#case-status")).to_have_text(es("in review"))
    assert not_reloaded(page)


def test_the_queue_and_the_conversation_follow_events(new_tab: Callable[[ViewportSize], Page], live_server: str,
                                                      app: Flask, services: Services) -> None:
    make_staff(services)
    page = new_tab(DESK)
    logged_in(page, live_server)
    page.goto(f"{live_server}/inbox/?view=review")
    expect(page.locator("#count-review")).to_have_text("0")
    mark(page)
    phone, cid = filed(app, services)
    expect(page.locator("#count-review")).to_have_text("1", timeout=LIVE_MS)
    expect(page.locator(f'#rows tr[data-id="{cid}"]')).to_be_visible(timeout=LIVE_MS)
    expect(page).to_have_title(re.compile(r"^\(1\) "), timeout=LIVE_MS)
    assert not_reloaded(page)
    page.goto(f"{live_server}/inbox/c/{cid}")
    mark(page)
    phone.send("¿Ya quedó mi trámite?")
    expect(page.locator("#transcript .msg.in").last).to_contain_text("¿Ya quedó mi trámite?", timeout=LIVE_MS)
    assert not_reloaded(page)


def test_a_live_update_never_eats_what_staff_are_typing(new_tab: Callable[[ViewportSize], Page], live_server: str,
                                                        app: Flask, services: Services) -> None:
    """An agent half-way through a reject reason who looks elsewhere keeps the text when the applicant writes."""
    make_staff(services)
    phone, cid = filed(app, services)
    page = new_tab(DESK)
    logged_in(page, live_server)
    page.goto(f"{live_server}/inbox/c/{cid}")
    reason = page.locator("#documents-card input[name=reason]").first
    reason.fill("La foto salió borrosa")
    page.locator("h1").click()  # the field is no longer focused, but it still holds unsent text
    phone.send("¿Ya quedó mi trámite?")
    expect(page.locator("#transcript .msg.in").last).to_contain_text("¿Ya quedó mi trámite?", timeout=LIVE_MS)
    expect(page.locator("#documents-card input[name=reason]").first).to_have_value("La foto salió borrosa")


def test_the_document_viewer(new_tab: Callable[[ViewportSize], Page], live_server: str, app: Flask,
                             services: Services) -> None:
    make_staff(services)
    _phone, cid = filed(app, services)
    with services.database.session_scope() as session:
        ids = [d.id for d in session.execute(select(Document).where(Document.conversation_id == cid)
                                              .order_by(Document.id)).scalars()]
    page = new_tab(DESK)
    logged_in(page, live_server)
    page.goto(f"{live_server}/inbox/c/{cid}/documents/{ids[0]}")
    image = page.locator("#viewer-image")
    expect(image).to_be_visible()
    page.locator("#zoom-in").click()
    page.locator("#rotate").click()
    assert "rotate(90deg) scale(1.25)" in (image.get_attribute("style") or "")
    expect(page.locator("#data-card")).to_be_visible()  # the data beside the document
    mark(page)
    page.fill(f"#reject-reason-{ids[0]}", "La foto está borrosa")
    page.locator(f"#reject-{ids[0]}").click()
    expect(page.locator("#viewer-review .pill")).to_have_text(es("rejected"))
    assert not_reloaded(page)
    page.locator("#next-document").click()
    expect(page).to_have_url(f"{live_server}/inbox/c/{cid}/documents/{ids[1]}")


def test_the_inbox_on_a_phone(new_tab: Callable[[ViewportSize], Page], live_server: str, app: Flask,
                              services: Services) -> None:
    make_staff(services)
    _phone, cid = filed(app, services)
    page = new_tab(PHONE)
    logged_in(page, live_server)
    page.goto(f"{live_server}/inbox/?view=all")
    header = page.locator("header").bounding_box()
    assert header is not None and header["height"] <= 60, header
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("#rows tr").first.locator("time").first).to_be_visible()  # last activity on the phone
    page.goto(f"{live_server}/inbox/c/{cid}")
    transcript = page.locator("#transcript-card").bounding_box()
    data = page.locator("#data-card").bounding_box()
    assert transcript and data and transcript["y"] < data["y"]
    page.get_by_role("link", name=es("Documents"), exact=True).click()
    expect(page.locator("#documents-card")).to_be_in_viewport()


@pytest.mark.parametrize("viewport", [PHONE, DESK], ids=["phone", "desk"])
def test_every_inbox_page_passes_axe(new_tab: Callable[[ViewportSize], Page], live_server: str, app: Flask,
                                     services: Services, viewport: ViewportSize) -> None:
    make_staff(services)
    make_staff(services, "admin@gestoria.mx", "admin")
    phone, cid = filed(app, services)
    other = Phone(app.test_client())
    other.send("hola")
    other.send("asesor")
    with services.database.session_scope() as session:
        documents = [d.id for d in session.execute(select(Document).where(Document.conversation_id == cid)
                                                    .order_by(Document.id)).scalars()]
    page = new_tab(viewport)
    logged_in(page, live_server, "admin@gestoria.mx")
    urls = ["/inbox/?view=review", "/inbox/?view=waiting", "/inbox/?view=mine", "/inbox/?view=all",
            f"/inbox/c/{cid}", f"/inbox/c/{conversation_id_of(services, other)}",
            f"/inbox/c/{cid}/documents/{documents[0]}", f"/inbox/c/{cid}/documents/{documents[2]}",
            "/inbox/cases", "/inbox/rights", "/inbox/staff", "/inbox/audit", "/inbox/payments", "/inbox/canned",
            "/inbox/dashboard"]
    for lang in ("es", "en"):
        page.goto(f"{live_server}/inbox/?lang={lang}")
        for url in urls:
            page.goto(live_server + url)
            expect(page.locator("h1")).to_have_count(1)
            assert_accessible(page, f"{url} {lang} {viewport['width']}px")


def tab_to(page: Page, selector: str, limit: int = 120) -> None:
    """Press Tab (only the keyboard) until the element is focused."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_a_keyboard_only_agent_takes_replies_and_reviews(new_tab: Callable[[ViewportSize], Page], live_server: str,
                                                         app: Flask, services: Services) -> None:
    make_staff(services)
    phone, cid = filed(app, services)
    page = new_tab(DESK)
    logged_in(page, live_server)
    page.goto(f"{live_server}/inbox/?view=review")
    tab_to(page, f'#rows tr[data-id="{cid}"] a')
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/inbox/c/{cid}")
    tab_to(page, "#take")
    page.keyboard.press("Enter")
    expect(page.locator("#owner-bar")).to_contain_text(es("With %(name)s", name="Ana"))
    expect(page.locator("#reply-text")).to_be_focused()  # focus went on to the reply box
    page.keyboard.type("Ya reviso tus papeles")
    tab_to(page, "#send-reply")
    page.keyboard.press("Enter")
    expect(page.locator("#transcript .msg.out").last).to_contain_text("Ya reviso tus papeles")
    tab_to(page, "#documents-card .doc button")
    page.keyboard.press("Enter")
    expect(page.locator("#documents-card .doc").first.locator(".pill")).to_have_text(es("approved"))
