"""Headless Chromium for the web chat (DESIGN §6): a live server for the app, a phone-sized page, and `Chat`,
the page seen as a conversation.

Use as a pytest plugin (`pytest_plugins = ["tests.browser"]`). Chromium is Debian's `chromium`, driven by
Playwright's sync API; Playwright's own browser downloads are not used.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Error,
    FilePayload,
    Locator,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
from werkzeug.serving import make_server

from locales import translate
from tests.helpers import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
PHONE: ViewportSize = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000  # a turn takes milliseconds; this only bounds a failure
LOCALE = "es_MX"
API = "/webchat/api/messages"


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test app on a free loopback port, served by threads like a real server; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        skip_or_fail(f"Chromium not available: {CHROMIUM} is missing (apt-get install chromium)")
    manager = sync_playwright().start()
    try:
        launched = manager.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    except Error as error:
        manager.stop()
        first_line = error.message.splitlines()[0] if error.message else repr(error)
        skip_or_fail(f"Chromium not available: Playwright could not launch {CHROMIUM}: {first_line}")
        raise  # unreachable: skip_or_fail always raises
    try:
        yield launched
    finally:
        launched.close()
        manager.stop()


@pytest.fixture
def new_tab(browser: Browser) -> Iterator[Callable[[ViewportSize], Page]]:
    """Opens a tab of the given size, each in a browser context of its own (its own cookies); all are closed with
    their contexts after the test."""
    contexts: list[BrowserContext] = []

    def open_tab(viewport: ViewportSize) -> Page:
        context = browser.new_context(viewport=viewport, locale="es-MX")
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        return context.new_page()

    try:
        yield open_tab
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_tab: Callable[[ViewportSize], Page]) -> Page:
    """A fresh phone-sized tab with its own cookies (a new web-chat conversation) for each test."""
    return new_tab(PHONE)


def shown(msgid: str, **values: Any) -> str:
    """A bot text as the page displays it: `*bold*` becomes <b>bold</b>, so the asterisks are not visible."""
    return translate(LOCALE, msgid, **values).replace("*", "")


def exactly(text: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


class Chat:
    """The page seen as a conversation: send like a thumb would, then wait for the bot's bubbles."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.bot = page.locator("#log .bubble.bot")
        self.mine = page.locator("#log .bubble.me")
        self.typing = page.locator("#log .typing")

    def open(self) -> None:
        """Open the page; a newcomer is greeted without typing anything."""
        self.page.goto(self.base_url + "/")
        expect(self.button(translate(LOCALE, "Start my enrollment"))).to_be_visible()

    def button(self, title: str) -> Locator:
        """The clickable button with exactly this title (answered questions keep theirs, disabled)."""
        return self.page.locator("#log .buttons button:enabled", has_text=exactly(title))

    def buttons(self) -> list[str]:
        return [text.strip() for text in self.page.locator("#log .buttons button:enabled").all_inner_texts()]

    def _wait_for_reply(self, bot_bubbles_before: int) -> None:
        expect(self.bot.nth(bot_bubbles_before)).to_be_attached()
        expect(self.typing).to_have_count(0)

    def say(self, text: str) -> None:
        before = self.bot.count()
        self.page.fill("#text", text)
        self.page.press("#text", "Enter")
        self._wait_for_reply(before)

    def press(self, title: str) -> None:
        before = self.bot.count()
        self.button(title).click()
        self._wait_for_reply(before)

    def upload(self, name: str, mime_type: str, content: bytes) -> None:
        before = self.bot.count()
        picked: FilePayload = {"name": name, "mimeType": mime_type, "buffer": content}
        self.page.set_input_files("#file", files=[picked])
        expect(self.mine.last).to_contain_text(f"📎 {name}")  # a PDF's bubble adds its pages
        self._wait_for_reply(before)

    def last_bot_texts(self, count: int) -> list[str]:
        texts = self.bot.all_inner_texts()
        return [text.strip() for text in texts[-count:]]

    def history(self) -> list[dict[str, Any]]:
        """The bot replies the server holds for this browser's session (same cookie as the page)."""
        response = self.page.request.get(f"{self.base_url}{API}?after=0")
        assert response.ok, response.text()
        messages: list[dict[str, Any]] = response.json()["messages"]
        return [m for m in messages if m.get("author") != "contact"]
