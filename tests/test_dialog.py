"""Dialog tables through the web chat API: what the applicant sends, what the bot must answer."""

from __future__ import annotations

import pytest

from flows.registry import FLOWS
from flows.rules.commands import BY_NAME
from locales import translate
from tests.conftest import Phone


def es(msgid: str, **values: object) -> str:
    return translate("es_MX", msgid, **values)


MENU_PROMPT = "How can I help you? Choose an option:"
MENU_BUTTONS = [
    "Start my enrollment", "What the service includes", "Benefits of enrolling", "Requirements",
    "How much IMSS costs", "My case status", "Payment reminders", "Talk to a person",
]


def test_first_message_gets_welcome_and_menu(phone: Phone) -> None:
    replies = phone.send("hola")
    assert "IMSS" in replies[0]["text"]
    assert replies[-1]["text"] == es(MENU_PROMPT)
    assert phone.buttons() == [es(title) for title in MENU_BUTTONS]


# Every topic of the menu, reached by button, by number, by title typed loosely and by synonym.
TOPICS = [
    ("What the service includes", "2", "  que INCLUYE?? ", "IMSS"),
    ("Benefits of enrolling", "3", "Beneficios!!", None),
    ("Requirements", "4", "requisitos 📄", "CURP"),
    ("How much IMSS costs", "5", "cuánto cuesta", "$315.04"),
    ("Payment reminders", "7", "recordatorios", None),
]


@pytest.mark.parametrize(("title", "number", "typed", "expect"), TOPICS)
def test_menu_topics_by_button_number_and_text(phone: Phone, title: str, number: str, typed: str,
                                               expect: str | None) -> None:
    phone.send("hola")
    by_button = phone.press(es(title))
    phone.send("menu")
    by_number = phone.send(number)
    phone.send("menu")
    by_text = phone.send(typed)
    assert [m["text"] for m in by_button] == [m["text"] for m in by_number] == [m["text"] for m in by_text]
    if expect:
        assert expect in "\n".join(m["text"] for m in by_button)
    assert es("Main menu") in phone.buttons()


def test_every_benefit_is_browsable_and_leads_back(phone: Phone) -> None:
    phone.send("hola")
    phone.press(es("Benefits of enrolling"))
    titles = [t for t in phone.buttons() if t != es("Main menu")]
    assert len(titles) == 7
    seen = set()
    for title in titles:
        phone.press(title)
        seen.add(phone.text())
        assert phone.buttons() == [es("Other benefits"), es("Start my enrollment"), es("Main menu")]
        phone.press(es("Other benefits"))
    assert len(seen) == 7
    assert "INFONAVIT" in " ".join(seen) and "AFORE" in " ".join(seen)


def test_costs_quote_the_dated_constants(phone: Phone) -> None:
    phone.send("hola")
    text = "\n".join(m["text"] for m in phone.send("5"))
    assert "$315.04" in text and "$440.87" in text and "$2,932.75" in text  # 25 UMA of $117.31
    assert "20" in text and "$1,879.17" in text


@pytest.mark.parametrize("variant", ["si", "Sí!!", "SI", "👍", "sí, bórralos"])
def test_yes_variants_confirm(phone: Phone, variant: str) -> None:
    phone.send("hola")
    phone.send("borrar mis datos")
    replies = phone.send(variant)
    assert es("Done: I deleted your personal data from this conversation.") in replies[0]["text"]


@pytest.mark.parametrize("variant", ["no", "No.", "👎", "NO!!"])
def test_no_variants_keep_data(phone: Phone, variant: str) -> None:
    phone.send("hola")
    phone.send("requisitos")
    phone.send("borrar mis datos")
    phone.send(variant)
    assert "CURP" in phone.text()  # back where we were


STATES = {
    "main menu": [],
    "topic": ["4"],
    "submenu": ["3"],
    "benefit": ["3", "1"],
    "language": ["idioma"],
    "confirmation": ["borrar mis datos"],
}
COMMAND_WORDS = {
    "menu": "menú", "back": "atrás", "help": "ayuda", "human": "asesor", "status": "estado",
    "language": "idioma", "cancel": "cancelar", "my_data": "mis datos", "delete_data": "borrar mis datos",
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("command", COMMAND_WORDS)
def test_every_global_command_in_every_kind_of_state(phone: Phone, state: str, command: str) -> None:
    phone.send("hola")
    for step in STATES[state]:
        phone.send(step)
    before = phone.text()
    replies = phone.send(COMMAND_WORDS[command])
    text = phone.text()
    assert replies, "every command answers"
    expected = {
        "menu": es(MENU_PROMPT),
        "help": "*asesor*",
        "human": es("Done. A person from our team will reply here. While you wait, the assistant will "
                    "stay quiet; write *menu* to come back to it."),
        "status": es("You have no enrollment filed yet. You can start or continue it now, or talk to a person."),
        "language": es("Choose your language:"),
        "cancel": es("All right, I stopped that. What you already sent me is still saved."),
        "my_data": es("I have no personal data of yours saved."),
        "delete_data": es("Are you sure you want me to delete your personal data? This cannot be undone."),
    }
    if command == "back":
        assert text != before or not STATES[state]
    else:
        assert expected[command] in text
    if command == "help":
        assert before.split("\n")[-1] in text  # the current question is asked again


def test_back_walks_history(phone: Phone) -> None:
    phone.send("hola")
    phone.send("3")
    phone.send("1")
    phone.send("atrás")
    assert phone.text() == es(
        "Enrolling gives you almost the same protection as a salaried worker. Which benefit do you "
        "want to know about?")
    phone.send("atras")
    assert phone.text() == es(MENU_PROMPT)


def test_three_misses_offer_a_person_and_corrections_repeat_the_question(phone: Phone) -> None:
    phone.send("hola")
    for attempt in range(1, 4):
        replies = phone.send("blablabla")
        assert replies[0]["text"] == es("Sorry, I did not get that. Please tap a button or reply with its number.")
        assert es(MENU_PROMPT) in [m["text"] for m in replies]
        offered = es("Talk to a person") in [b["title"] for b in replies[-1]["buttons"]] and \
            replies[-1]["text"] != es(MENU_PROMPT)
        assert offered == (attempt == 3)
    phone.press(es("Talk to a person"))
    assert "menu" in phone.text()


def test_a_right_answer_resets_the_miss_count(phone: Phone) -> None:
    phone.send("hola")
    phone.send("xx")
    phone.send("yy")
    phone.send("4")
    phone.send("zz")
    assert len(phone.last) == 2  # correction + question, no offer of a person yet


def test_human_owner_silences_the_bot_until_menu(phone: Phone) -> None:
    phone.send("hola")
    phone.send("asesor")
    assert phone.send("hola? alguien?") == []
    assert phone.send("4") == []
    replies = phone.send("menu")
    assert replies[0]["text"] == es("You are back with the assistant.")
    assert replies[-1]["text"] == es(MENU_PROMPT)


def test_language_switches_to_english_and_back(phone: Phone) -> None:
    phone.send("hola")
    phone.send("4")
    phone.send("idioma")
    phone.press("English")
    assert "CURP" in phone.text() and "Your CURP" in phone.text()  # back to the topic, now in English
    phone.send("menu")
    assert phone.buttons()[0] == "Start my enrollment"
    phone.send("language")
    phone.send("español")
    assert phone.text() == es(MENU_PROMPT)


def test_old_button_press_is_answered_gently(phone: Phone) -> None:
    phone.send("hola")
    phone.send("4")
    replies = phone.send(payload="benefits")  # a button of the menu shown earlier
    assert replies[0]["text"] == es("That question was already answered. This is where we are now:")
    assert "CURP" in replies[1]["text"]


def test_unknown_command_payload_is_not_a_crash(phone: Phone) -> None:
    phone.send("hola")
    replies = phone.send(payload="cmd:format_disk")
    assert replies  # treated as a stale button


def test_every_flow_step_is_reachable_and_renders(phone: Phone) -> None:
    """Every step renders in both languages without a missing placeholder."""
    from datetime import date

    from bot.core.state import DialogState
    from bot.dialog.engine import Engine

    engine = Engine(FLOWS)
    for locale in ("es_MX", "en"):
        for name in engine.steps:
            conversation = DialogState(locale=locale)
            step = engine.steps[name][1]
            assert engine.render(name, conversation, date(2026, 11, 28)) or step.then or not step.say


def test_command_buttons_have_titles() -> None:
    for command in BY_NAME.values():
        assert es(command.title)
