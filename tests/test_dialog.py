"""The dialog engine as a module: it stays pure, every step renders, and the web chat runs it end to end.

The conversations themselves are specified as tables in test_dialog_specs.py, against the engine alone. Here the
web chat, with its database between requests, shows the first answer and a person's ownership of the chat hold
there too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest

from bot.core.state import DialogState
from bot.dialog.engine import Engine
from flows.registry import FLOWS
from flows.rules.commands import BY_NAME
from flows.rules.prices import quote_values
from locales import translate
from tests.helpers import ROOT, Phone

# What the core must never load (STYLE rule 1): the web framework, the database, the providers' clients.
IO_LIBRARIES = frozenset({"flask", "werkzeug", "sqlalchemy", "psycopg", "telegram", "twilio", "httpx"})


def es(msgid: str, **values: object) -> str:
    return translate("es_MX", msgid, **values)


MENU_PROMPT = "How can I help you? Choose an option:"
MENU_BUTTONS = [
    "Start my enrollment", "What the service includes", "Benefits of enrolling", "Requirements",
    "How much IMSS costs", "My case status", "Payment reminders", "Talk to a person",
]


@pytest.mark.parametrize(("statement", "loads"), [
    ("import bot.dialog.engine, flows.registry", "transitions"),
    ("import flows", "flows"),
])
def test_the_engine_and_the_flows_load_no_io_library(statement: str, loads: str) -> None:
    """A fresh interpreter, so that nothing the test session imported hides an import."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    loaded = {name.partition(".")[0] for name in json.loads(run.stdout)}
    assert loads in loaded  # the statement did import what it names
    assert sorted(loaded & IO_LIBRARIES) == []


def test_first_message_gets_welcome_and_menu(phone: Phone) -> None:
    replies = phone.send("hola")
    assert "IMSS" in replies[0]["text"]
    assert replies[-1]["text"] == es(MENU_PROMPT)
    assert phone.buttons() == [es(title) for title in MENU_BUTTONS]


def test_human_owner_silences_the_bot_until_menu(phone: Phone) -> None:
    phone.send("hola")
    phone.send("asesor")
    assert phone.send("hola? alguien?") == []
    assert phone.send("4") == []
    replies = phone.send("menu")
    assert replies[0]["text"] == es("You are back with the assistant.")
    assert replies[-1]["text"] == es(MENU_PROMPT)


def test_every_step_renders_in_both_languages() -> None:
    """Without a missing placeholder; a step that says nothing must lead on (`then`)."""
    engine = Engine(FLOWS)
    for locale in ("es_MX", "en"):
        for name in engine.steps:
            conversation = DialogState(locale=locale)
            step = engine.steps[name][1]
            assert engine.render(name, conversation, date(2026, 11, 28)) or step.then or not step.say


def test_command_buttons_have_titles() -> None:
    for command in BY_NAME.values():
        assert es(command.title)


FULL_DATA = {
    "full_name": "María Guadalupe de la Cruz Hernández Villaseñor", "curp": "GODE561231HDFNZD03",
    "rfc": "GODE561231GR8", "nss": "12345612340", "email": "maria.guadalupe.delacruz@gmail.com",
    "phone": "+525512345678", "channel_phone": "+525512345678", "postal_code": "06600", "border_zone": "yes",
    "address": "Avenida Insurgentes Sur 1234, Interior 5, Colonia Del Valle Centro, Benito Juárez, CDMX",
    "occupation": "Diseñadora web y vendedora de comida por catálogo", "monthly_income": 85000.0,
    "payment_frequency": "annual", "financial_consent": True, "health_consent": True,
    "beneficiaries": [{"name": f"Persona Número {n} Apellido", "relationship": "child"} for n in range(6)],
    "documents": {"id_front": 1, "id_back": 2, "tax_certificate": 3, "proof_of_address": 4},
    "case": {"folio": "PTI-2026-000123", "status": "received"}, "reminders_active": True,
    "elig_own_income": "unsure", "elig_nationality": "foreign", "elig_legal_stay": "in_process",
    "elig_first_registration": "unknown", "elig_age": "60_64", "elig_pensioner": "yes", "elig_pregnancy": "surgery",
    "elig_preexisting": "yes", "elig_abroad": "yes", "elig_salaried": "yes", "elig_public_admin": "yes",
}


@pytest.mark.parametrize("locale", ["es_MX", "en"])
def test_no_message_is_longer_than_600_characters(locale: str) -> None:
    """Every step, entered with the fullest data, in both languages: each bubble the applicant gets is short."""
    from datetime import UTC, datetime

    from bot.dialog.turn import MAX_BUBBLE, Turn

    engine = Engine(FLOWS, base_url="https://ptibot.example.com.mx")
    for name in engine.steps:
        turn = Turn(engine, DialogState(locale=locale, data=json.loads(json.dumps(FULL_DATA))),
                    datetime(2026, 11, 28, 17, tzinfo=UTC))
        try:
            turn.enter(name)
            replies = turn.result().replies
        finally:
            turn.release()
        too_long = [reply.text for reply in replies if len(reply.text) > MAX_BUBBLE]
        assert not too_long, f"{name} ({locale}): {[len(text) for text in too_long]}"


def test_every_faq_answer_fits_one_bubble() -> None:
    from flows.rules.intents import INTENTS

    for intent in INTENTS:
        for locale in ("es_MX", "en"):
            if intent.answer:
                text = translate(locale, intent.answer, site="https://ptibot.example.com.mx",
                                 privacy_url="https://ptibot.example.com.mx/legal/privacy?v=2026-12-01", days=3,
                                 **quote_values(date(2026, 12, 1), locale))
                assert len(text) <= 600, intent.name
