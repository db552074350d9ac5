"""The web chat and the staff login pages for everyone (issue 19): axe-core finds nothing in Spanish or English,
on a phone or a laptop; a keyboard-only applicant enrolls with uploads; and the web chat's polish, item by item.

Each test drives the real page in headless Chromium against the live test app (tests/browser.py); axe-core
comes from tests/a11y.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, FilePayload, Page, Route, ViewportSize, expect

from bot.wiring import Services
from locales import translate
from tests.a11y import assert_accessible
from tests.browser import API, PHONE, TIMEOUT_MS, exactly
from tests.helpers import (
    CURP,
    ELIGIBLE,
    NSS,
    RFC,
    confirm_pending_payment,
    conversation_id_of_ref,
    make_staff,
    post_form,
)
from tests.samples import document_photo, id_card_photo, pdf_document, png_photo

pytest_plugins = ["tests.browser"]

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
LOCALES = {"es_MX": "es-MX", "en": "en-US"}
DATA_ANSWERS = ("eduardo gonzález díaz", CURP.lower(), RFC, NSS, "ana.gonzalez@example.mx", "sí", "55 1234 5678",
                "06600", "Av. Juárez 123, Col. Centro, Cuauhtémoc", "diseñador web", "acepto", "12 mil",
                "bimestral")
MB = 1024 * 1024


def t(msgid: str, locale: str = "es_MX", **values: Any) -> str:
    return translate(locale, msgid, **values)


def shown(msgid: str, locale: str = "es_MX", **values: Any) -> str:
    return t(msgid, locale, **values).replace("*", "")


@pytest.fixture
def tab(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Opens a tab with its own cookies, of a given size, language and motion preference."""
    contexts = []

    def open_tab(viewport: ViewportSize = PHONE, locale: str = "es_MX", reduced_motion: str = "no-preference") -> Page:
        context = browser.new_context(viewport=viewport, locale=LOCALES[locale],
                                      reduced_motion=reduced_motion)  # type: ignore[arg-type]
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    try:
        yield open_tab
    finally:
        for context in contexts:
            context.close()


class Applicant:
    """The web chat driven like a person would; `keys_only` drives it with Tab, Shift+Tab, Enter and Space."""

    def __init__(self, page: Page, base_url: str, locale: str = "es_MX") -> None:
        self.page = page
        self.base_url = base_url
        self.locale = locale
        self.bot = page.locator("#log .bubble.bot")
        self.mine = page.locator("#log .bubble.me")
        self.notices = page.locator("#log .bubble.notice")
        self.typing = page.locator("#log .typing")
        self.presses = 0
        # Intercept file choosers from the start: Playwright turns interception on without waiting for the
        # browser, so a chooser opened right after `expect_file_chooser` could otherwise slip past it.
        page.on("filechooser", lambda chooser: None)

    def open(self) -> None:
        self.page.goto(self.base_url + "/")
        expect(self.live_button(t("Start my enrollment", self.locale))).to_be_visible()

    def live_button(self, title: str) -> Any:
        return self.page.locator("#log .buttons button:enabled", has_text=exactly(title))

    def wait_for_reply(self, before: int) -> None:
        expect(self.bot.nth(before)).to_be_attached()
        expect(self.typing).to_have_count(0)

    def focused(self) -> dict[str, Any]:
        return self.page.evaluate("""() => { const e = document.activeElement;
            return {body: !e || e === document.body, id: e ? e.id : '', tag: e ? e.tagName : '',
                    text: e ? (e.textContent || '').trim() : '', disabled: !!(e && e.disabled)}; }""")

    def tab_to(self, matches: Callable[[dict[str, Any]], bool], what: str) -> None:
        """Tab (forward, then backward) until the focused element matches: only keys, no clicks."""
        for key in ("Tab", "Shift+Tab"):
            for _ in range(40):
                if matches(self.focused()):
                    return
                self.page.keyboard.press(key)
        raise AssertionError(f"could not reach {what} with Tab/Shift+Tab; focus is on {self.focused()}")

    def key_press(self, title: str) -> None:
        before = self.bot.count()
        self.tab_to(lambda f: f["tag"] == "BUTTON" and f["text"] == title and not f["disabled"], title)
        self.presses += 1
        self.page.keyboard.press("Enter" if self.presses % 2 else " ")  # both keys a button answers to
        self.wait_for_reply(before)
        assert not self.focused()["body"], f"focus fell to <body> after choosing {title!r}"

    def key_say(self, text: str) -> None:
        before = self.bot.count()
        self.tab_to(lambda f: f["id"] == "text", "the text box")
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")
        self.wait_for_reply(before)
        assert self.focused()["id"] == "text"

    def key_upload(self, name: str, mime_type: str, content: bytes) -> None:
        before = self.bot.count()
        self.tab_to(lambda f: f["id"] == "attach", "the upload button")
        with self.page.expect_file_chooser() as chooser:
            self.page.keyboard.press("Enter")
        picked: FilePayload = {"name": name, "mimeType": mime_type, "buffer": content}
        chooser.value.set_files(files=[picked])
        expect(self.mine.last).to_contain_text(f"📎 {name}")
        self.wait_for_reply(before)
        assert not self.focused()["body"]

    def pick(self, name: str, mime_type: str, content: bytes) -> None:
        """Choose a file as the picker would (no keyboard needed for what the test checks)."""
        picked: FilePayload = {"name": name, "mimeType": mime_type, "buffer": content}
        # Megabytes travel to the browser through Playwright's pipe: slow on a busy machine.
        self.page.set_input_files("#file", files=[picked], timeout=max(TIMEOUT_MS, len(content) // 200))

    def press(self, title: str) -> None:
        before = self.bot.count()
        self.live_button(title).click()
        self.wait_for_reply(before)

    def say(self, text: str) -> None:
        before = self.bot.count()
        self.page.fill("#text", text)
        self.page.press("#text", "Enter")
        self.wait_for_reply(before)

    def history(self) -> list[dict[str, Any]]:
        response = self.page.request.get(f"{self.base_url}{API}?after=0")
        assert response.ok, response.text()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    def session_ref(self, app: Flask) -> str:
        cookie = next(c for c in self.page.context.cookies() if c["name"] == "session")
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        return str(serializer.loads(cookie["value"])["webchat_id"])


def reach_documents(chat: Applicant) -> None:
    """From the menu to the request for the front of the ID, with the mouse (tests that are not about keys)."""
    chat.press(t("Start my enrollment"))
    chat.press(t("I accept"))
    chat.press(t("I accept"))
    for answer in ELIGIBLE:
        chat.say(answer)
    chat.press(t("I authorise it"))
    chat.press(t("No"))
    chat.press(t("Neither"))
    chat.press(t("Continue"))
    for answer in DATA_ANSWERS:
        chat.say(answer)
    chat.press(t("Continue"))
    chat.press(t("Not now"))
    expect(chat.bot.last).to_have_text(shown(
        "Send a photo or PDF of the *front* of your official ID (INE, passport or residence card)."))


# -- axe-core: zero violations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["es_MX", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_webchat_has_no_axe_violations(tab: Callable[..., Page], live_server: str, locale: str,
                                       viewport: ViewportSize) -> None:
    page = tab(viewport, locale)
    chat = Applicant(page, live_server, locale)
    chat.open()
    expect(page.locator("html")).to_have_attribute("lang", "en" if locale == "en" else "es")
    assert_accessible(page, f"web chat greeted, {locale}")
    chat.press(t("Requirements", locale))  # a chosen option, an answer, new buttons
    expect(page.locator("#log .buttons button.chosen")).to_have_count(1)
    chat.pick("video.mp4", "video/mp4", b"\x00" * 2048)  # a notice the page shows itself
    expect(chat.notices).to_have_count(1)
    assert_accessible(page, f"web chat with an answer and a notice, {locale}")


@pytest.mark.parametrize("locale", ["es_MX", "en"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_login_and_password_pages_have_no_axe_violations(tab: Callable[..., Page], live_server: str,
                                                         services: Services, locale: str,
                                                         viewport: ViewportSize) -> None:
    make_staff(services)
    page = tab(viewport, locale)
    lang = "en" if locale == "en" else "es"
    page.goto(f"{live_server}/inbox/login?lang={lang}")
    expect(page.locator("h1")).to_have_text(t("Staff inbox", locale))
    assert_accessible(page, f"login, {locale}")
    page.fill("#email", "ana@gestoria.mx")
    page.fill("#password", "correct horse battery")
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/inbox/?"))
    page.goto(f"{live_server}/inbox/password")
    expect(page.locator("h1")).to_have_text(t("Change your password", locale))
    assert_accessible(page, f"password, {locale}")


# -- keyboard only ----------------------------------------------------------------------------------------------


def test_keyboard_only_enrollment_with_uploads(page: Page, live_server: str, services: Services) -> None:
    """Tab, Shift+Tab, Enter and Space only: from the greeting to the folio, uploads included."""
    chat = Applicant(page, live_server)
    chat.open()
    chat.key_press(t("Start my enrollment"))
    chat.key_press(t("I accept"))  # terms
    chat.key_press(t("I accept"))  # privacy notice
    for answer in ELIGIBLE:
        chat.key_say(answer)
    chat.key_press(t("I authorise it"))
    chat.key_press(t("No"))
    chat.key_press(t("Neither"))
    chat.key_press(t("Continue"))
    for answer in DATA_ANSWERS:
        chat.key_say(answer)
    chat.key_press(t("Continue"))
    chat.key_press(t("Not now"))  # no beneficiaries
    chat.key_upload("ine-frente.jpg", "image/jpeg", id_card_photo())
    chat.key_upload("ine-reverso.png", "image/png", png_photo(seed=3))
    chat.key_upload("constancia.pdf", "application/pdf", pdf_document())
    expect(chat.bot.last).to_have_text(
        shown("Now a *proof of address* less than 3 months old (electricity, water, phone bill…)."))
    chat.key_press(t("Later"))
    chat.key_press(t("Skip"))  # the optional CURP document
    chat.key_press(t("Everything is right, send it"))
    chat.key_press(t("I accept"))  # the contract
    expect(page.locator("#log .bubble.bot", has_text="CLABE")).to_have_count(1)
    chat.key_upload("transferencia.jpg", "image/jpeg", document_photo(seed=41))
    confirm_pending_payment(services)
    folio = page.locator("#log .bubble.bot .folio")
    expect(folio.first).to_have_text(re.compile(r"^PTI-\d{4}-\d{6}$"), timeout=20_000)
    assert folio.first.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"  # the folio never wraps
    assert chat.mine.count() >= 4 + len(ELIGIBLE) + len(DATA_ANSWERS)


def test_focus_is_visible_and_targets_are_large_enough(page: Page, live_server: str) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    chat.tab_to(lambda f: f["tag"] == "BUTTON" and f["text"] == t("Requirements"), "a menu button")
    outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement); "
                            "return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
    assert outline[0] != "none" and outline[1] >= 2, outline
    sizes = page.evaluate("""() => Array.from(document.querySelectorAll('button, input:not([type=file]), a'))
        .filter((e) => e.offsetParent !== null)
        .map((e) => { const r = e.getBoundingClientRect();
                      return [e.textContent.trim() || e.id, r.width, r.height]; })""")
    small = [size for size in sizes if size[1] < 24 or size[2] < 24]
    assert not small, small


# -- the web chat, item by item ---------------------------------------------------------------------------------


def test_the_bot_greets_first_and_nothing_is_sent_for_the_applicant(page: Page, live_server: str) -> None:
    posts: list[dict[str, Any]] = []
    page.on("request", lambda r: posts.append(json.loads(r.post_data or "{}")) if r.method == "POST" else None)
    chat = Applicant(page, live_server)
    chat.open()
    expect(chat.bot.first).to_contain_text(shown("Hi! 👋"))
    expect(chat.mine).to_have_count(0)
    assert [m["author"] for m in chat.history() if m["author"] == "contact"] == []
    assert len(posts) == 1 and posts[0]["start"] is True and "text" not in posts[0]
    page.reload()
    expect(chat.bot.first).to_contain_text(shown("Hi! 👋"))
    page.wait_for_timeout(300)
    assert len(posts) == 1  # a reload shows the history; it does not greet again
    assert len([m for m in chat.history() if m["text"].startswith(t("Hi! 👋"))]) == 1


LIVE_PROBE = """() => {
  window.__added = [];
  new MutationObserver((records) => {
    const log = document.getElementById('log');
    for (const record of records) for (const node of record.addedNodes) {
      if (node.classList && node.parentElement === log)
        window.__added.push([node.className, log.getAttribute('aria-live'), node.getAttribute('aria-hidden')]);
    }
  }).observe(document, {childList: true, subtree: true});
}"""


def test_only_new_messages_are_announced(page: Page, live_server: str) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    chat.press(t("Requirements"))
    log = page.locator("#log")
    expect(log).to_have_attribute("role", "log")
    expect(log).to_have_attribute("aria-live", "polite")
    page.add_init_script(script=f"({LIVE_PROBE})()")
    page.reload()
    expect(log).to_have_attribute("aria-live", "polite")
    history = page.evaluate("window.__added")
    assert history and all(live == "off" for _, live, _ in history), history  # drawn before the region is live
    def slowly(route: Route) -> None:
        page.wait_for_timeout(400)
        route.continue_()

    page.route(f"**{API}", slowly)
    chat.say("menu")
    added = page.evaluate("window.__added")[len(history):]
    assert [cls for cls, live, _ in added if "bubble bot" in cls and live == "polite"], added
    typing = [(live, hidden) for cls, live, hidden in added if cls == "typing"]
    assert typing and all(hidden == "true" for _, hidden in typing), added  # "typing…" is never announced


def test_typing_indicator_stays_in_view(page: Page, live_server: str) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    held: list[Route] = []
    page.route(f"**{API}", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    for _ in range(3):  # a conversation long enough to scroll
        page.fill("#text", "requisitos")
        page.press("#text", "Enter")
    expect(chat.typing).to_be_visible()
    box, log = chat.typing.bounding_box(), page.locator("#log").bounding_box()
    assert box and log and log["y"] <= box["y"] and box["y"] + box["height"] <= log["y"] + log["height"] + 1
    for route in held:
        route.continue_()
    page.unroute(f"**{API}")
    expect(chat.typing).to_have_count(0)


def test_links_staff_names_and_long_messages(page: Page, live_server: str, app: Flask, services: Services,
                                            staff_client: FlaskClient) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    conversation_id = conversation_id_of_ref(services, chat.session_ref(app))
    lines = "\n".join(f"Paso {n}: revisa tus datos con calma." for n in range(1, 60))
    text = ("Hola, revisa https://www.imss.gob.mx/pti. No abras http://inseguro.example ni javascript:alert(1). "
            "Tu folio: PTI-2026-000123\n" + lines)
    assert post_form(staff_client, f"/inbox/c/{conversation_id}/reply", text=text).status_code == 302  # Ana
    staff = page.locator("#log .bubble.staff")
    expect(staff).to_have_count(1, timeout=8000)  # brought by the page's poll
    expect(staff.locator(".who")).to_have_text(t("%(name)s, from our team", name="Ana"))
    links = staff.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://www.imss.gob.mx/pti")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    expect(links).to_have_text("https://www.imss.gob.mx/pti")  # the full stop stays outside the link
    expect(staff.locator(".folio")).to_have_text("PTI-2026-000123")
    page.wait_for_timeout(700)  # smooth scrolling settles
    top, log_top = staff.bounding_box(), page.locator("#log").bounding_box()
    assert top and log_top and log_top["y"] - 1 <= top["y"] <= log_top["y"] + 40, (top, log_top)  # read from the start


def test_offline_message_is_sent_once_when_back(page: Page, live_server: str) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.post_data or "") if r.method == "POST" else None)
    page.context.set_offline(True)
    page.fill("#text", "4")
    page.press("#text", "Enter")
    expect(page.locator("#status")).to_have_text(t(
        "No connection: your message will be sent as soon as you are back online."))
    page.context.set_offline(False)
    expect(chat.bot.filter(has_text="CURP")).to_have_count(1)
    expect(page.locator("#status")).to_have_text("")
    history = chat.history()
    assert [m["text"] for m in history if m["author"] == "contact"] == ["4"]
    assert len([m for m in history if "CURP" in m["text"]]) == 1


def test_a_lost_answer_is_resent_with_the_same_id_and_runs_once(page: Page, live_server: str) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    ids: list[str] = []

    def lose_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        ids.append(json.loads(route.request.post_data or "{}")["id"])
        if len(ids) == 1:
            route.fetch()  # the server ran the turn…
            route.abort("connectionreset")  # …and the answer never arrived
        else:
            route.continue_()

    page.route(f"**{API}", lose_first_answer)
    page.fill("#text", "4")
    page.press("#text", "Enter")
    expect(chat.bot.filter(has_text="CURP")).to_have_count(1)
    assert len(ids) == 2 and ids[0] == ids[1]
    page.wait_for_timeout(300)
    expect(chat.bot.filter(has_text="CURP")).to_have_count(1)
    history = chat.history()
    assert len([m for m in history if m["author"] == "contact"]) == 1
    assert len([m for m in history if "CURP" in m["text"]]) == 1


def test_files_are_checked_before_uploading(page: Page, live_server: str) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    chat.pick("video.jpg", "image/jpeg", b"\xff\xd8\xff" + b"\x00" * (11 * MB))
    expect(chat.notices.last).to_have_text(t(
        "That file is too large: the limit is %(mb)s MB. Send a regular photo from your phone's camera, "
        "or a smaller PDF.", mb="10"))
    assert "MB" in chat.notices.last.inner_text() and "large" not in chat.notices.last.inner_text()  # Spanish only
    chat.pick("notas.txt", "text/plain", b"hola")
    expect(chat.notices.last).to_have_text(t("We can't open this kind of file. Please send a photo (JPG) or a PDF."))
    chat.pick("IMG_0001.HEIC", "image/heic", b"\x00" * 100)
    expect(chat.notices).to_have_count(3)
    assert posts == []  # nothing went to the server
    expect(page.locator("#log .buttons button:enabled")).not_to_have_count(0)  # the menu is still usable
    assert chat.focused()["id"] == "attach"


def test_after_an_upload_error_the_question_is_usable_again(page: Page, live_server: str) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    reach_documents(chat)

    def file_lost_on_the_way(route: Route) -> None:  # the upload arrives without its file: the server's 400
        if route.request.method == "POST" and "multipart" in (route.request.headers.get("content-type") or ""):
            route.continue_(post_data=b"--nothing--\r\n")
        else:
            route.continue_()

    page.route(f"**{API}", file_lost_on_the_way)
    chat.pick("ine.jpg", "image/jpeg", id_card_photo())
    expect(chat.notices.last).to_have_text(t("I could not read that message. Please write it again."))
    later = chat.live_button(t("Later"))
    expect(later).to_be_enabled()
    expect(later).to_be_focused()
    page.unroute(f"**{API}")
    chat.press(t("Later"))  # and it works


def test_upload_shows_thumbnail_progress_and_questions_the_same_file(page: Page, live_server: str) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    reach_documents(chat)
    front = id_card_photo()
    held: list[Route] = []
    page.route(f"**{API}", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    chat.pick("ine-frente.jpg", "image/jpeg", front)
    upload = chat.mine.last
    expect(upload).to_have_text("📎 ine-frente.jpg")
    expect(upload.locator("img.thumb")).to_have_attribute("src", re.compile(r"^blob:"))
    expect(upload.locator("progress")).to_have_attribute("aria-label", t("Uploading %(name)s", name="ine-frente.jpg"))
    before = chat.bot.count()
    for route in held:
        route.continue_()
    page.unroute(f"**{API}")
    chat.wait_for_reply(before)
    expect(upload.locator("progress")).to_have_count(0)
    expect(chat.bot.last).to_have_text(shown("Now the *back* of your official ID."))

    chat.pick("ine-frente-otra-vez.jpg", "image/jpeg", front)  # the same file for the back
    question = chat.notices.last
    expect(question).to_contain_text(t(
        "You already sent this same file for another document. Is it the right one for this one?"))
    other = question.get_by_role("button", name=t("Choose another file"))
    expect(other).to_be_focused()
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    back: FilePayload = {"name": "ine-reverso.png", "mimeType": "image/png", "buffer": png_photo(seed=3)}
    chooser.value.set_files(files=[back])
    chat.wait_for_reply(chat.bot.count())
    expect(chat.bot.last).to_have_text(
        shown("Now your *tax certificate* (constancia de situación fiscal), as a PDF or a photo."))
    expect(chat.notices).to_have_count(0)

    chat.pick("constancia.pdf", "application/pdf", pdf_document(pages=2))
    expect(chat.mine.last.locator("img")).to_have_count(0)  # a PDF shows its name and, when cheaply known, pages
    expect(chat.mine.last).to_have_text("📎 constancia.pdf · " + t("%(count)s pages", count="2"))
    expect(chat.bot.last).to_have_text(
        shown("Now a *proof of address* less than 3 months old (electricity, water, phone bill…)."))
    chat.pick("otra-vez.jpg", "image/jpeg", front)
    before = chat.bot.count()
    chat.notices.last.get_by_role("button", name=t("Send it anyway")).click()
    chat.wait_for_reply(before)
    expect(chat.bot.nth(before)).to_have_text(shown(
        "We already have this exact file, thank you! There is no need to send it again."))


def test_the_chosen_option_is_highlighted(page: Page, live_server: str) -> None:
    chat = Applicant(page, live_server)
    chat.open()
    chat.press(t("Requirements"))
    chosen = page.locator("#log .buttons button.chosen")
    expect(chosen).to_have_count(1)
    expect(chosen).to_have_text(t("Requirements"))
    expect(chosen).to_have_attribute("aria-pressed", "true")
    assert chosen.evaluate("e => getComputedStyle(e, '::before').content") == '"✓ "'


@pytest.mark.parametrize("zoom", [200, 400])
def test_reflow_without_sideways_scrolling(tab: Callable[..., Page], live_server: str, zoom: int) -> None:
    # A 1280×1024 laptop zoomed to 200 % or 400 % lays the page out in 640 or 320 CSS pixels.
    page = tab({"width": 1280 * 100 // zoom, "height": 1024 * 100 // zoom})
    chat = Applicant(page, live_server)
    chat.open()
    chat.press(t("Requirements"))
    chat.say("https://www.imss.gob.mx/" + "una-direccion-muy-larga-" * 6 + " PTI-2026-000123")
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth, "
                           "document.getElementById('log').scrollWidth, document.getElementById('log').clientWidth]")
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
    for locator in (page.locator("#attach"), page.locator("#text"), chat.live_button(t("Main menu"))):
        locator.scroll_into_view_if_needed()
        expect(locator).to_be_in_viewport()


def test_reduced_motion_is_respected(tab: Callable[..., Page], live_server: str) -> None:
    calm, lively = tab(reduced_motion="reduce"), tab()
    for page in (calm, lively):
        Applicant(page, live_server).open()
        page.route(f"**{API}", lambda route: None)  # hold every answer: the indicator stays
        page.fill("#text", "hola")
        page.press("#text", "Enter")
        expect(page.locator("#log .typing")).to_be_visible()
    animation = "e => getComputedStyle(e, '::before').animationName"
    assert calm.locator("#log .typing").evaluate(animation) == "none"
    assert lively.locator("#log .typing").evaluate(animation) != "none"


# -- the staff login and first-login password pages -------------------------------------------------------------


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_password_rules_and_messages_in_the_page_language(tab: Callable[..., Page], live_server: str,
                                                          services: Services, locale: str) -> None:
    make_staff(services)
    page = tab(PHONE, locale)
    page.goto(f"{live_server}/inbox/login?lang={'en' if locale == 'en' else 'es'}")
    email = page.locator("#email")
    assert email.evaluate("e => e.validationMessage") == t("Please fill in this field.", locale)
    page.fill("#email", "ana")
    assert email.evaluate("e => e.validationMessage") == t("Write a valid email address, such as ana@example.mx.",
                                                          locale)
    page.fill("#email", "ana@gestoria.mx")
    page.fill("#password", "correct horse battery")
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/inbox/?"))
    page.goto(f"{live_server}/inbox/password")
    rules = t("The new password needs at least %(count)s characters. A phrase of a few words you can remember "
              "works well.", locale, count="10")
    expect(page.locator("#password-rules")).to_have_text(rules)
    expect(page.locator("#new-password")).to_have_attribute("aria-describedby", "password-rules")
    page.fill("#new-password", "corta")
    assert page.locator("#new-password").evaluate("e => e.validationMessage") == t(
        "Use at least %(count)s characters.", locale, count="10")
    page.fill("#new-password", "una frase bastante larga")
    page.fill("#confirm", "una frase bastante largo")
    assert page.locator("#confirm").evaluate("e => e.validationMessage") == t(
        "The two new passwords are not the same.", locale)
    page.fill("#confirm", "una frase bastante larga")
    assert page.locator("#confirm").evaluate("e => e.validationMessage") == ""
