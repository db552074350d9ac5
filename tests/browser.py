"""Headless Chromium fixtures for the web chat (DESIGN §6): a live server for the app and a phone-sized page.

Use as a pytest plugin (`pytest_plugins = ["tests.browser"]`). Chromium is Debian's `chromium`, driven by
Playwright's sync API; Playwright's own browser downloads are not used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Error, Page, ViewportSize, sync_playwright
from werkzeug.serving import make_server

from tests.conftest import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
PHONE: ViewportSize = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000  # a turn takes milliseconds; this only bounds a failure


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
