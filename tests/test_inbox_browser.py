"""The staff inbox in headless Chromium: what a person at the gestoría sees, types and clicks.

A live server runs the test app (fresh database per test). Staff log in through the form in their own browser
context; the applicant either talks in a second context on the web chat page, or through the web chat JSON API
with a Flask test client of the same app (faster, for setting the scene).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import FilePayload, Locator, Page, ViewportSize, expect

from bot.core.messages import Inbound
from bot.wiring import Services
from flows.rules.document_slots import LABELS
from flows.steps.documents import REQUESTS
from flows.steps.menu import FLOW as MENU_FLOW
from locales import translate
from tests.browser import Chat, exactly, shown
from tests.helpers import (
    PASSWORD,
    STATUS_NEWS,
    Phone,
    conversation_id_of,
    conversation_id_of_ref,
    enrolled_applicant,
    folio,
    make_staff,
)
from tests.samples import pdf_document

pytest_plugins = ["tests.browser"]

LOCALE = "es_MX"
EMAIL = "ana@gestoria.mx"
DESK: ViewportSize = {"width": 1280, "height": 900}
POLLED_MS = 8_000  # the applicant's page polls every 4 s and the conversation page every 3 s
SCRIPT = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=2">'


def es(msgid: str, **values: Any) -> str:
    return translate(LOCALE, msgid, **values)


@pytest.fixture
def staff_page(new_tab: Callable[[ViewportSize], Page]) -> Page:
    """A desk-sized tab for the staff member, with its own cookies (apart from the applicant's tab)."""
    return new_tab(DESK)


class Inbox:
    """The staff side: log in through the form, then the list and one conversation."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.rows = page.locator("#rows tr[data-id]")
        self.transcript = page.locator("#transcript .msg")

    def login(self, email: str = EMAIL, password: str = PASSWORD) -> None:
        self.page.goto(self.base_url + "/inbox/")
        expect(self.page).to_have_url(re.compile(r"/inbox/login\?next="))
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        self.page.get_by_role("button", name=es("Log in")).click()

    def logged_in(self) -> None:
        self.login()
        expect(self.page).to_have_url(self.base_url + "/inbox/")

    def row_ids(self) -> list[int]:
        return [int(value or 0) for value in self.rows.evaluate_all("rows => rows.map(r => r.dataset.id)")]

    def open(self, conversation_id: int) -> None:
        self.page.goto(f"{self.base_url}/inbox/c/{conversation_id}")
        expect(self.page.locator("#reply-form")).to_be_visible()

    def button(self, msgid: str) -> Locator:
        return self.page.get_by_role("button", name=es(msgid), exact=True)

    def document(self, slot: str) -> Locator:
        """The block of one document in the Documents card, found by its label."""
        label = self.page.locator("strong", has_text=exactly(es(LABELS[slot])))
        return self.page.locator("aside .card div", has=label)

    def send_results(self) -> None:
        """File the case with IMSS, then pick the IMSS receipt and the first payment slip (two PDFs) and send them."""
        status = self.page.locator("#case-status")
        for label in ("in review", "filed with IMSS"):
            if self.page.locator("select[name=status] option", has_text=exactly(es(label))).count():
                self.page.select_option("select[name=status]", label=es(label))
                self.button("Change status").click()
                expect(status).to_have_text(es(label))
        receipt: FilePayload = {"name": "comprobante.pdf", "mimeType": "application/pdf", "buffer": pdf_document()}
        slip: FilePayload = {"name": "linea.pdf", "mimeType": "application/pdf", "buffer": pdf_document(seed=2)}
        self.page.set_input_files("input[name=receipt]", files=[receipt])
        self.page.set_input_files("input[name=payment_slip]", files=[slip])
        self.button("Send receipt and mark enrolled").click()

    def mark(self) -> None:
        """Leave a mark in the page's JS state: it survives only if the page is not reloaded."""
        self.page.evaluate("window.__notReloaded = true")

    def not_reloaded(self) -> bool:
        return bool(self.page.evaluate("window.__notReloaded === true"))


def history(phone: Phone) -> list[dict[str, Any]]:
    """Everything the applicant's web chat holds (both sides), as the page would rebuild it."""
    response = phone.client.get("/webchat/api/messages?after=0")
    assert response.status_code == 200
    messages: list[dict[str, Any]] = response.get_json()["messages"]
    return messages


def webchat_ref(app: Flask, page: Page) -> str:
    """The web chat identity the applicant's browser holds in its signed session cookie."""
    cookies = [c for c in page.context.cookies() if c.get("name") == app.config["SESSION_COOKIE_NAME"]]
    assert len(cookies) == 1, cookies
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    return str(serializer.loads(cookies[0]["value"])["webchat_id"])


def page_widths(page: Page) -> tuple[int, int]:
    sizes: list[int] = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return sizes[0], sizes[1]


# -- 1. login and the queue ------------------------------------------------------------------------------------


def test_login_then_the_waiting_conversation_is_on_top(staff_page: Page, live_server: str, app: Flask,
                                                       services: Services) -> None:
    make_staff(services)
    waiting, calm = Phone(app.test_client()), Phone(app.test_client())
    waiting.send("hola")
    waiting.send("4")
    waiting.send("asesor")
    calm.send("hola")  # the most recent activity, yet below the one waiting for a person
    inbox = Inbox(staff_page, live_server)

    inbox.login(password="not the password")
    expect(staff_page.locator(".flash")).to_have_text(es("Wrong email or password."))
    expect(staff_page.locator("input[name=password]")).to_be_visible()
    expect(staff_page.locator("#rows")).to_have_count(0)

    inbox.login()
    expect(staff_page).to_have_url(live_server + "/inbox/")
    expect(staff_page.locator("header .who")).to_contain_text(EMAIL)
    expect(staff_page.locator(".flash")).to_have_count(0)
    expect(inbox.rows).to_have_count(2)
    assert inbox.row_ids() == [conversation_id_of(services, waiting), conversation_id_of(services, calm)]
    first, second = inbox.rows.nth(0), inbox.rows.nth(1)
    expect(first.locator(".waiting")).to_be_visible()
    expect(first.locator(".waiting")).to_contain_text(es("Waiting"))
    expect(first.locator(".waiting")).to_contain_text(es("asked for a person"))
    expect(first.locator("td").nth(2)).to_have_text(es("Person"))  # the bot stepped aside, nobody took it yet
    expect(second.locator("td").nth(2)).to_have_text(es("Bot"))
    expect(second.locator(".waiting")).to_have_count(0)


# -- 2. take, reply, the applicant answers, hand back ----------------------------------------------------------


def test_take_reply_and_hand_back_seen_by_the_applicant(page: Page, staff_page: Page, live_server: str,
                                                        app: Flask, services: Services) -> None:
    make_staff(services)
    chat = Chat(page, live_server)
    chat.open()
    chat.press(es("Requirements"))
    chat.say("asesor")
    cid = conversation_id_of_ref(services, webchat_ref(app, page))
    quiet_bot_bubbles = chat.bot.count()

    inbox = Inbox(staff_page, live_server)
    inbox.logged_in()
    assert inbox.row_ids()[0] == cid
    inbox.rows.first.locator("a").click()
    expect(staff_page).to_have_url(f"{live_server}/inbox/c/{cid}")
    expect(staff_page.locator("#owner-bar")).to_contain_text(es("Waiting for a person"))
    expect(staff_page.locator("#owner-bar")).to_contain_text(es("With a person"))  # the bot stepped aside
    expect(staff_page.locator("#take")).to_have_text(es("Take this conversation"))

    staff_page.locator("#take").click()
    expect(staff_page.locator("#take")).to_have_count(0)
    # The applicant is told a person took the chat, and who (issue 14).
    taken = es("%(name)s from our team is now with you and will reply here.", name="Ana")
    expect(chat.bot.last).to_have_text(taken, timeout=POLLED_MS)
    quiet_bot_bubbles += 1
    expect(staff_page.locator("#owner-bar")).to_contain_text(es("With %(name)s", name="Ana"))
    expect(staff_page.locator("#hand-back")).to_have_text(es("Hand back to the bot"))

    reply = "Hola, soy Ana del equipo. ¿En qué te ayudo?"
    staff_page.fill("#reply-text", reply)
    staff_page.locator("#reply-form button[type=submit]").click()
    expect(inbox.transcript.last).to_contain_text(reply)
    expect(staff_page.locator("#reply-text")).to_have_value("")

    staff_bubbles = page.locator("#log .bubble.staff")
    expect(staff_bubbles).to_have_count(1, timeout=POLLED_MS)  # the page polls every 4 s
    expect(staff_bubbles).to_contain_text(reply)
    expect(staff_bubbles.locator(".who")).to_have_text(es("%(name)s, from our team", name="Ana"))  # issue 19
    expect(chat.bot).to_have_count(quiet_bot_bubbles)  # a staff bubble, not a bot one

    inbox.mark()
    question = "Gracias. ¿Mi NSS sirve si trabajé antes con patrón?"
    with page.expect_response(lambda r: r.url.endswith("/webchat/api/messages") and r.request.method == "POST") \
            as answer:
        page.fill("#text", question)
        page.press("#text", "Enter")
    assert answer.value.json()["messages"] == []  # the bot stays quiet while a person has the conversation
    incoming = staff_page.locator("#transcript .msg.in", has_text=question)
    expect(incoming).to_have_count(1, timeout=POLLED_MS)  # the conversation page polls every 3 s
    assert inbox.not_reloaded()
    expect(inbox.transcript.last).to_contain_text(question)

    inbox.button("Hand back to the bot").click()
    expect(staff_page.locator("#owner-bar")).to_contain_text(es("With the bot"))
    expect(staff_page.locator("#take")).to_be_visible()
    expect(staff_page.locator("#hand-back")).to_have_count(0)

    back = shown("You are back with the assistant. We were at: %(where)s.", where=es("the requirements"))
    assert back.startswith("Volviste con el asistente")
    expect(chat.bot.filter(has_text=exactly(back))).to_have_count(1, timeout=POLLED_MS)
    requirements = shown(MENU_FLOW.step("requirements").say[0])
    expect(chat.bot.last).to_have_text(requirements)
    assert chat.buttons() == [es("Start my enrollment"), es("Main menu")]  # its buttons are live again
    expect(staff_bubbles).to_have_count(1)

    chat.press(es("Main menu"))  # and the bot talks again
    expect(chat.bot.last).to_have_text(shown("How can I help you? Choose an option:"))


def test_a_message_for_staff_is_shown_once_in_the_web_chat(page: Page, live_server: str) -> None:
    """Once a bug: the POST answered nothing, lastId stayed behind, and the next poll drew the message again."""
    chat = Chat(page, live_server)
    chat.open()
    chat.say("asesor")  # the bot steps aside: what the applicant writes now is for a person
    question = "¿Alguien me puede ayudar con mi NSS?"
    with page.expect_response(lambda r: r.url.endswith("/webchat/api/messages") and r.request.method == "POST") \
            as answer:
        page.fill("#text", question)
        page.press("#text", "Enter")
    assert answer.value.json()["messages"] == []
    with page.expect_request(lambda r: "/webchat/api/messages?after=" in r.url, timeout=POLLED_MS) as poll:
        pass  # the page's next poll, sent after the message was stored
    poll.value.response()
    page.wait_for_timeout(300)  # let the page draw what the poll brought
    expect(chat.mine.filter(has_text=exactly(question))).to_have_count(1, timeout=500)


# -- 3. case work on a filed case ------------------------------------------------------------------------------


def test_case_status_document_rejection_and_receipt(staff_page: Page, live_server: str, app: Flask,
                                                    services: Services) -> None:
    make_staff(services)
    phone = Phone(app.test_client())
    enrolled_applicant(phone)
    cid = conversation_id_of(services, phone)
    inbox = Inbox(staff_page, live_server)
    inbox.logged_in()
    inbox.open(cid)
    status = staff_page.locator("#case-status")
    expect(status).to_have_text(es("received"))
    expect(staff_page.locator("aside h2", has_text=folio(services))).to_have_count(1)

    before = len(history(phone))
    staff_page.select_option("select[name=status]", label=es("documents need attention"))
    inbox.button("Change status").click()  # observing documents needs a reason: refused, nothing sent
    expect(staff_page.locator(".flash")).to_have_text(es("This status needs a reason."))
    expect(status).to_have_text(es("received"))
    assert len(history(phone)) == before

    staff_page.select_option("select[name=status]", label=es("in review"))
    inbox.button("Change status").click()
    expect(status).to_have_text(es("in review"))
    expect(staff_page.locator(".flash")).to_have_count(0)
    expect(staff_page.locator("aside ul.muted li").last).to_contain_text(EMAIL)
    assert history(phone)[-1]["text"] == es(STATUS_NEWS, folio=folio(services), status=es("in review"))

    proof = inbox.document("proof_of_address")
    expect(proof.locator(".pill")).to_have_text(es("to review"))
    reason = "El recibo de luz tiene más de 3 meses"
    proof.locator("input[name=reason]").fill(reason)
    proof.get_by_role("button", name=es("Reject"), exact=True).click()
    expect(staff_page.locator("aside .muted", has_text=reason)).to_have_count(1)
    expect(staff_page.locator("aside .pill", has_text=exactly(es("rejected")))).to_have_count(1)
    messages = history(phone)
    assert reason in messages[-2]["text"]
    assert messages[-1]["text"] == es(REQUESTS["proof_of_address"])

    inbox.send_results()
    expect(status).to_have_text(es("enrolled"))
    expect(staff_page.locator(".flash")).to_have_count(0)
    expect(staff_page.locator("select[name=status]")).to_have_count(0)  # a closed case has nowhere to go
    last = history(phone)[-1]
    assert "🎉" in last["text"]
    assert len(last["attachments"]) == 2
    assert [a["filename"] for a in last["attachments"]] == ["comprobante-inscripcion-imss.pdf", "linea-de-captura.pdf"]


def test_the_receipt_can_be_opened_from_the_web_chat(page: Page, staff_page: Page, live_server: str, app: Flask,
                                                     services: Services) -> None:
    """Once a bug: the web chat page drew text and buttons but ignored attachments."""
    make_staff(services)
    phone = Phone(app.test_client())
    enrolled_applicant(phone)
    inbox = Inbox(staff_page, live_server)
    inbox.logged_in()
    inbox.open(conversation_id_of(services, phone))
    inbox.send_results()
    expect(staff_page.locator("#case-status")).to_have_text(es("enrolled"))
    assert len(history(phone)[-1]["attachments"]) == 2

    cookie = phone.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server}])
    page.goto(live_server + "/")  # the applicant opens the web chat again: the page rebuilds the history
    chat = Chat(page, live_server)
    expect(chat.bot.last).to_contain_text("🎉")
    links = page.locator("#log a[href*='/media/']")
    expect(links).to_have_count(3, timeout=1000)  # our payment receipt, then the two results
    expect(links).to_contain_text(["recibo-PTI-P", "comprobante-inscripcion-imss.pdf", "linea-de-captura.pdf"])
    for link in links.all():
        opened = page.request.get(str(link.evaluate("a => a.href")))
        assert opened.ok and opened.body().startswith(b"%PDF")


# -- 4. what applicants write is text ----------------------------------------------------------------------------


def test_markup_from_applicants_is_shown_as_text(staff_page: Page, live_server: str, app: Flask,
                                                 services: Services) -> None:
    make_staff(services)
    services.turns.handle(Inbound("telegram", "4242", "tg-1", text="hola", display_name=SCRIPT))
    phone = Phone(app.test_client())
    phone.send(SCRIPT)
    phone.send(IMG)
    inbox = Inbox(staff_page, live_server)
    inbox.logged_in()
    expect(inbox.rows).to_have_count(2)
    expect(staff_page.locator("#rows a", has_text=exactly(SCRIPT))).to_have_count(1)
    expect(staff_page.locator("#rows img, #rows script")).to_have_count(0)
    assert staff_page.evaluate("window.__xss") is None

    # A newcomer whose name is markup arrives while the list is open: the server's event brings it in, as text.
    inbox.mark()
    services.turns.handle(Inbound("telegram", "4343", "tg-2", text="hola", display_name=IMG))
    expect(inbox.rows).to_have_count(3, timeout=POLLED_MS)
    assert inbox.not_reloaded()
    expect(staff_page.locator("#rows a", has_text=exactly(IMG))).to_have_count(1)
    expect(staff_page.locator("#rows a", has_text=exactly(SCRIPT))).to_have_count(1)
    expect(staff_page.locator("#rows img, #rows script")).to_have_count(0)
    assert staff_page.evaluate("window.__xss") is None

    for ref, name in (("4242", SCRIPT), ("4343", IMG)):
        inbox.open(conversation_id_of_ref(services, ref))
        expect(staff_page.locator("h1")).to_contain_text(name)
        assert staff_page.title().startswith(name)
        expect(staff_page.locator("main img, main script")).to_have_count(0)
        assert staff_page.evaluate("window.__xss") is None

    inbox.open(conversation_id_of(services, phone))
    expect(staff_page.locator("#transcript .msg.in", has_text=SCRIPT)).to_have_count(1)
    expect(staff_page.locator("#transcript .msg.in", has_text=IMG)).to_have_count(1)
    later = f"{IMG} {SCRIPT}"
    phone.send(later)  # comes in through the server's event, rendered (escaped) by the server
    expect(staff_page.locator("#transcript .msg.in", has_text=later)).to_have_count(1, timeout=POLLED_MS)
    expect(staff_page.locator("main img, main script")).to_have_count(0)
    assert staff_page.evaluate("window.__xss") is None


def test_the_queues_are_in_spanish(staff_page: Page, live_server: str, services: Services) -> None:
    """Once a bug: the view labels came from a literal list in the template, so pybabel never extracted them."""
    make_staff(services)
    inbox = Inbox(staff_page, live_server)
    inbox.logged_in()
    queues = staff_page.locator("#queues a")
    expect(queues.first).to_contain_text("Por revisar")
    english = ["To review", "Waiting for an advisor", "Mine", "Conversations"]
    texts = queues.all_inner_texts()
    assert not any(text.startswith(msgid) for text in texts for msgid in english), texts
    assert [text.rstrip("0123456789 \n") for text in texts] == [es(msgid) for msgid in english]


# -- 5. a phone in the hand ----------------------------------------------------------------------------------------


def test_list_and_conversation_fit_a_phone(page: Page, live_server: str, app: Flask, services: Services) -> None:
    make_staff(services)
    phone = Phone(app.test_client())
    enrolled_applicant(phone)
    waiting = Phone(app.test_client())
    waiting.send("hola")
    waiting.send("asesor")
    waiting.send("Necesito ayuda: " + "https://example.mx/" + "muy-largo-" * 12)
    assert page.viewport_size == {"width": 390, "height": 844}
    inbox = Inbox(page, live_server)
    inbox.login()
    expect(page).to_have_url(live_server + "/inbox/")
    expect(inbox.rows).to_have_count(2)
    width, viewport = page_widths(page)
    assert width <= viewport + 1, f"the list is {width}px wide in a {viewport}px viewport"

    for conversation in (conversation_id_of(services, phone), conversation_id_of(services, waiting)):
        inbox.open(conversation)
        width, viewport = page_widths(page)
        assert width <= viewport + 1, f"conversation {conversation} is {width}px wide in a {viewport}px viewport"
