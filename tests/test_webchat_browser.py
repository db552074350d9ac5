"""The web chat page in headless Chromium (DESIGN §6): what a person on a phone sees and taps.

A live server runs the test app; each test gets a fresh phone-sized tab (its own cookie, so its own
conversation). The page greets by itself, shows bot bubbles with buttons, sends typed text and picked
files, and rebuilds the conversation from the history API after a reload.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Dialog, Page, Request, Route, expect

from bot.wiring import Services
from flows.steps.menu import FLOW as MENU_FLOW
from locales import translate
from tests.browser import API, Chat, exactly, shown
from tests.helpers import CURP, ELIGIBLE, NSS, RFC, confirm_pending_payment
from tests.samples import document_photo, id_card_photo, pdf_document, png_photo

pytest_plugins = ["tests.browser"]

LOCALE = "es_MX"
# The applicant's answers after the estimate, in the order of tests/test_journey.py::fill_data.
DATA_ANSWERS = ("eduardo gonzález díaz", CURP.lower(), RFC, NSS, "ana.gonzalez@example.mx", "sí", "55 1234 5678",
                "06600", "Av. Juárez 123, Col. Centro, Cuauhtémoc", "diseñador web", "acepto", "12 mil",
                "bimestral")


def t(msgid: str, **values: Any) -> str:
    return translate(LOCALE, msgid, **values)


def main_menu_titles() -> list[str]:
    return [t(choice.title) for choice in MENU_FLOW.step("main_menu").choices]


def test_newcomer_browses_the_menu_with_buttons(page: Page, live_server: str) -> None:
    chat = Chat(page, live_server)
    chat.open()
    expect(chat.mine).to_have_count(0)  # the bot greets first: nothing is sent on the newcomer's behalf
    expect(page.locator("#text")).to_have_attribute("placeholder", t("Write a message"))
    expect(chat.bot.first).to_contain_text(shown(
        "Hi! 👋 I am the assistant of the IMSS enrollment service for self-employed workers "
        "(Personas Trabajadoras Independientes). I can explain everything and help you file your "
        "enrollment from your phone."))
    menu_question = shown("How can I help you? Choose an option:")
    expect(chat.bot.last).to_have_text(menu_question)
    menu_titles = main_menu_titles()
    assert chat.buttons() == menu_titles
    for title in ("Start my enrollment", "Requirements", "Talk to a person"):
        assert t(title) in menu_titles

    chat.press(t("Requirements"))
    expect(chat.mine.last).to_have_text(t("Requirements"))
    expect(chat.bot.last).to_contain_text("CURP")
    expect(chat.bot.last).to_have_text(shown(MENU_FLOW.step("requirements").say[0]))
    expect(chat.bot.last.locator("b").first).not_to_be_empty()  # *What to have at hand* in bold
    answered = page.locator("#log .buttons").first
    expect(answered.locator("button:disabled")).to_have_count(len(menu_titles))
    assert chat.buttons() == [t("Start my enrollment"), t("Main menu")]

    chat.say("menu")
    expect(chat.bot.last).to_have_text(menu_question)
    assert chat.buttons() == menu_titles

    chat.say("3")  # the third option, by number
    benefits_question = shown(MENU_FLOW.step("benefits").say[0])
    expect(chat.bot.last).to_have_text(benefits_question)
    benefits = [choice for choice in MENU_FLOW.step("benefits").choices if choice.key != "menu"]
    assert chat.buttons() == [t(choice.title) for choice in benefits] + [t("Main menu")]
    for choice in benefits:
        assert isinstance(choice.goto, str)
        chat.press(t(choice.title))
        expect(chat.bot.last).to_have_text(shown(MENU_FLOW.step(choice.goto).say[0]))
        assert chat.buttons() == [t("Other benefits"), t("Start my enrollment"), t("Main menu")]
        chat.press(t("Other benefits"))
        expect(chat.bot.last).to_have_text(benefits_question)
    chat.press(t("Main menu"))
    expect(chat.bot.last).to_have_text(menu_question)
    assert chat.buttons() == menu_titles


def test_talk_to_a_person_quiets_the_bot_until_menu(page: Page, live_server: str) -> None:
    chat = Chat(page, live_server)
    chat.open()
    chat.press(t("Talk to a person"))
    expect(chat.bot.last).to_have_text(shown(
        "Done. A person from our team will reply here. While you wait, the assistant will stay quiet; "
        "write *menu* to come back to it."))
    expect(chat.bot.last.locator("b")).to_have_text("menu")
    assert chat.buttons() == []  # the menu was answered: nothing left to tap

    bot_bubbles = chat.bot.count()
    with page.expect_response(lambda r: r.url.endswith(API) and r.request.method == "POST") as answer:
        page.fill("#text", "¿Hay alguien ahí? Necesito ayuda con mi NSS")
        page.press("#text", "Enter")
    assert answer.value.json()["messages"] == []
    expect(chat.mine.last).to_have_text("¿Hay alguien ahí? Necesito ayuda con mi NSS")
    expect(chat.typing).to_have_count(0)
    expect(chat.bot).to_have_count(bot_bubbles)  # the assistant stays quiet

    chat.say("menu")
    expect(chat.bot.nth(bot_bubbles)).to_have_text(t("You are back with the assistant."))
    expect(chat.bot.last).to_have_text(shown("How can I help you? Choose an option:"))
    assert t("Start my enrollment") in chat.buttons()


def test_enrollment_by_upload_to_a_folio(page: Page, live_server: str, services: Services) -> None:
    chat = Chat(page, live_server)
    chat.open()
    chat.press(t("Start my enrollment"))
    chat.press(t("I accept"))  # terms
    chat.press(t("I accept"))  # privacy notice
    for answer in ELIGIBLE:
        chat.say(answer)
    chat.press(t("I authorise it"))
    chat.press(t("No"))
    chat.press(t("Neither"))
    expect(chat.bot.filter(has_text="✅")).not_to_have_count(0)
    chat.press(t("Continue"))
    expect(chat.bot.last).to_have_text(
        shown("What is your full name, as it appears on your CURP? (given names and surnames)"))
    for answer in DATA_ANSWERS:
        chat.say(answer)
    expect(page.locator("#log .bubble.bot", has_text="línea de captura")).not_to_have_count(0)
    chat.press(t("Continue"))
    chat.press(t("Not now"))  # no beneficiaries
    front_request = shown("Send a photo or PDF of the *front* of your official ID (INE, passport or residence card).")
    expect(chat.bot.last).to_have_text(front_request)
    assert chat.buttons() == [t("Later")]

    chat.upload("borrosa.jpg", "image/jpeg", document_photo(blur=6))
    first, second = chat.last_bot_texts(2)
    assert first == shown("The photo came out blurry. Rest your phone on a table, use good light and try again.")
    assert second == front_request  # the same request again

    chat.upload("ine-frente.jpg", "image/jpeg", id_card_photo())
    first, second = chat.last_bot_texts(2)
    assert first == shown("Received, thank you! ✅")
    assert second == shown("Now the *back* of your official ID.")

    chat.upload("ine-reverso.png", "image/png", png_photo(seed=3))
    expect(chat.bot.last).to_have_text(
        shown("Now your *tax certificate* (constancia de situación fiscal), as a PDF or a photo."))
    chat.upload("constancia.pdf", "application/pdf", pdf_document())
    expect(chat.bot.last).to_have_text(
        shown("Now a *proof of address* less than 3 months old (electricity, water, phone bill…)."))
    chat.press(t("Later"))
    chat.press(t("Skip"))  # the optional CURP document
    expect(page.locator("#log .bubble.bot", has_text=CURP)).not_to_have_count(0)  # the summary
    chat.press(t("Everything is right, send it"))
    expect(page.locator("#log .bubble.bot", has_text="Total $1,499.00 MXN (IVA incluido)")).to_have_count(1)
    chat.press(t("I accept"))  # the contract
    expect(page.locator("#log .bubble.bot", has_text="CLABE")).to_have_count(1)
    chat.upload("transferencia.jpg", "image/jpeg", document_photo(seed=41))
    expect(page.locator("#log .bubble.bot", has_text=re.compile(r"PTI-\d{4}-\d{6}"))).to_have_count(0)
    confirm_pending_payment(services)  # staff matched the transfer: the page's poll brings the folio
    expect(page.locator("#log .bubble.bot", has_text=re.compile(r"PTI-\d{4}-\d{6}"))).to_have_count(
        1, timeout=20_000)
    expect(page.locator("#log .bubble.me")).to_contain_text(
        ["📎 borrosa.jpg", "📎 ine-frente.jpg", "📎 ine-reverso.png", "📎 constancia.pdf", "📎 transferencia.jpg"])


def test_user_text_is_shown_as_text_never_as_html(page: Page, live_server: str) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:  # an alert() would mean the markup ran
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    chat = Chat(page, live_server)
    chat.open()
    markup = "<img src=x onerror=alert(1)>"
    chat.say(markup)
    expect(chat.mine.last).to_have_text(markup)
    chat.say('<script>alert("2")</script><b>negrita</b>')
    expect(chat.mine.last).to_have_text('<script>alert("2")</script><b>negrita</b>')
    expect(page.locator("#log img")).to_have_count(0)
    expect(page.locator("#log script")).to_have_count(0)
    expect(page.locator("#log .bubble.me b")).to_have_count(0)
    expect(chat.bot.last).to_have_text(shown("How can I help you? Choose an option:"))  # asked again
    assert dialogs == []


def test_reload_shows_the_history_without_greeting_again(page: Page, live_server: str) -> None:
    chat = Chat(page, live_server)
    chat.open()
    chat.say("4")  # the requirements, by number
    before = chat.bot.all_inner_texts()
    assert len(before) == 3 and "CURP" in before[-1]
    history = chat.history()
    assert [m["text"].replace("*", "") for m in history] == [text.strip() for text in before]

    posts: list[Request] = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    with page.expect_response(lambda r: r.url.endswith(f"{API}?after=0")):
        page.reload()
    expect(chat.bot).to_have_count(len(before))
    assert [text.strip() for text in chat.bot.all_inner_texts()] == [text.strip() for text in before]
    expect(chat.mine).to_have_text(["4"])  # what the applicant typed comes back too
    # Only the question still open can be answered: the menu's buttons come back disabled.
    menu = page.locator("#log .buttons").first
    expect(menu.locator("button:disabled")).to_have_count(len(main_menu_titles()))
    assert chat.buttons() == [t("Start my enrollment"), t("Main menu")]

    chat.press(t("Main menu"))  # the conversation carries on after the reload
    expect(chat.bot.last).to_have_text(shown("How can I help you? Choose an option:"))
    sent = [json.loads(request.post_data or "{}") for request in posts]
    assert [body.get("payload") for body in sent] == ["menu"], sent  # and no second greeting
    assert len(chat.history()) == len(history) + 1
    assert not any(m["text"] == t("Hi! 👋") for m in chat.history())


# -- once bugs, now guarded ------------------------------------------------------------------------------------


def test_a_message_typed_while_the_bot_answers_is_not_lost(page: Page, live_server: str) -> None:
    chat = Chat(page, live_server)
    chat.open()
    holding = True
    held: list[Route] = []

    def slow_network(route: Route) -> None:
        if holding and route.request.method == "POST":
            held.append(route)  # the reply to "4" is still on its way
        else:
            route.continue_()

    page.route(f"**{API}", slow_network)
    page.fill("#text", "4")
    page.press("#text", "Enter")
    expect(chat.typing).to_have_count(1)
    page.fill("#text", "menu")
    page.press("#text", "Enter")
    holding = False
    for route in held:
        route.continue_()
    expect(chat.bot.filter(has_text="CURP")).to_have_count(1)  # the answer to "4"
    # "menu" must be shown and sent after the first answer, never silently dropped.
    expect(chat.mine.filter(has_text=exactly("menu"))).to_have_count(1, timeout=2000)


def test_after_a_reload_answered_buttons_stay_disabled(page: Page, live_server: str) -> None:
    chat = Chat(page, live_server)
    chat.open()
    chat.press(t("Talk to a person"))
    assert chat.buttons() == []
    with page.expect_response(lambda r: r.url.endswith(f"{API}?after=0")):
        page.reload()
    expect(chat.bot).to_have_count(3)
    expect(page.locator("#log .buttons button:enabled")).to_have_count(0, timeout=1000)
