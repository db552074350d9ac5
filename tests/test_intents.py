"""The intent layer and the guard before a question's parser: what a message means, and what is no answer."""

from __future__ import annotations

import pytest

from flows.rules.intents import applies, asks, looks_english, looks_spanish, understand
from flows.rules.validators import screen_answer


@pytest.mark.parametrize(("text", "field", "answer", "refused"), [
    ("Mi nombre es José Luis Pérez López", "full_name", "José Luis Pérez López", False),
    ("me llamo Ana López", "full_name", "Ana López", False),
    ("my name is John Smith", "full_name", "John Smith", False),
    ("María de la Cruz", "full_name", "María de la Cruz", False),
    ("cuanto cobran ustedes", "full_name", None, True),
    ("no sé", "full_name", None, True),
    ("¿para qué?", "full_name", None, True),
    ("mi curp es GODE561231HDFNZD03", "curp", "GODE561231HDFNZD03", False),
    ("gode 561231 hdfnzd03", "curp", "gode 561231 hdfnzd03", False),  # spaces inside: the parser joins them
    ("ahorita no tengo mi curp a la mano", "curp", None, True),
    ("mi correo es ana@gmail.com", "email", "ana@gmail.com", False),
    ("ana lopez@gmail.com", "email", "ana lopez@gmail.com", False),  # a space inside: the parser says so
    ("ocho mil pesos", "monthly_income", "8000 pesos", False),  # in words, read as a number
    ("😊 me llamo Ana López", "full_name", "Ana López", False),
    ("¿12,500?", "monthly_income", "¿12,500?", False),  # a number with a question mark is still a number
    ("Av. Juárez 123, Col. Centro", "address", "Av. Juárez 123, Col. Centro", False),
])
def test_screen_answer(text: str, field: str, answer: str | None, refused: bool) -> None:
    cleaned, error = screen_answer(text, field)
    assert (error is not None) == refused
    if answer is not None:
        assert cleaned == answer


@pytest.mark.parametrize(("text", "expected"), [
    ("cuanto cobran ustedes", True), ("es seguro dar mi curp", True), ("precio?", True), ("vendo seguros", False),
    ("hago paginas web", False), ("how much", True),
])
def test_asks(text: str, expected: bool) -> None:
    assert asks(text) == expected


@pytest.mark.parametrize(("text", "english", "spanish"), [
    ("Hello, do you speak English?", True, False), ("i want to enroll", True, False),
    ("hola quiero inscribirme", False, True), ("José Luis Pérez", False, False), ("ok", False, False),
])
def test_language_of_a_message(text: str, english: bool, spanish: bool) -> None:
    assert (looks_english(text), looks_spanish(text)) == (english, spanish)


@pytest.mark.parametrize(("text", "intent"), [
    ("kiero inscrivirme al seguro", "enroll"), ("ablar con alguien", "human"), ("cuanto tarda?", "duration"),
    ("me devuelven mi dinero?", "refund"), ("aceptan tarjeta?", "payment"), ("tienen pagina web?", "website"),
    ("inglés", "english"), ("español", "spanish"), ("holaa", "greeting"), ("ayudaa", "help"),
    ("hola quiero inscribirme", "enroll"),  # the longest phrase wins over the greeting
    # Chat shorthand and slang: "q" is "que", "lana", "feria" and "varo" are money.
    ("me regresan la lana?", "refund"), ("y si me arrepiento?", "refund"), ("cuanto tengo q pagar al imss", "costs"),
    ("no será fraude?", "trust"), ("ustedes son del imss?", "trust"), ("puedo meter a mis hijos?", "family"),
    ("no entiendo", "confused"), ("no le entendí", "confused"),
    # Short words are not folded: "hi" is a greeting, the English "I" is not ("hi" folds to "i").
    ("hi", "greeting"), ("I sell food", None), ("can I add my kids?", "family"),
    ("55", None), ("GODE561231GR8", None), ("Av. Juárez 123", None),
])
def test_understand(text: str, intent: str | None) -> None:
    assert understand(text) == intent


@pytest.mark.parametrize(("text", "intent", "applies_here"), [
    ("quincenal", "payment_frequency", True), ("¿puedo pagar cada semana?", "payment_frequency", True),
    ("sí, me pagan semanal por mis trabajos", "payment_frequency", False),
    ("mis hijos también entran", "family", False), ("¿puedo meter a mis hijos?", "family", True),
    ("cuanto cobran", "price", True),
])
def test_an_intent_said_only_as_a_question_or_alone_is_not_taken_from_a_sentence(text: str, intent: str,
                                                                                   applies_here: bool) -> None:
    assert understand(text) == intent
    assert applies(intent, text) is applies_here


@pytest.mark.parametrize("text", ["es el de mi mamá 12348512349", "puedo poner el de mi hija?",
                                  "mi esposa y mis hijos"])
def test_naming_a_relative_is_not_asking_about_beneficiaries(text: str) -> None:
    assert understand(text) != "family"
