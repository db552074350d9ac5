"""Typed answers: numbers, titles, synonyms; case, accents, punctuation and emoji do not matter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import normalise
from flows.rules.intents import understand
from flows.rules.matching import UNSURE, pick

YES_NO = [["Sí", "yes", "si"], ["No", "no"]]


@pytest.mark.parametrize(("said", "expected"), [
    ("si", 0), ("Sí!!", 0), ("SI", 0), ("👍", 0), ("✅", 0), ("sí, claro", 0), ("1", 0), ("uno", 0),
    ("no", 1), ("No.", 1), ("👎", 1), ("2", 1), ("no gracias", 1), ("  NO  ", 1),
    ("3", None), ("0", None), ("quizá", None), ("", None), ("🙂", None),
])
def test_yes_no(said: str, expected: int | None) -> None:
    assert pick(said, YES_NO) == expected


@pytest.mark.parametrize(("said", "expected"), [
    ("sí, vendo comida en mi casa", 0), ("si tengo mi propio negocio", 0), ("claro, soy plomero", 0),
    ("no tengo patrón", 1), ("no, nada más lo mío", 1), ("nunca", 1), ("nel, soy independiente", 1),
    # A question, an answer that says both, a doubt: asked again rather than guessed.
    ("si me rechazan, ¿me devuelven mi dinero?", None), ("si pero no", None), ("no sé si cuenta", None),
    ("no, si tengo", None),
])
def test_a_yes_or_no_that_leads_an_explanation_answers_in_the_loose_pass_only(said: str, expected: int | None) -> None:
    assert pick(said, YES_NO) == expected
    if len(said.split()) > 1 and said != "nunca":
        assert pick(said, YES_NO, strict=True) is None  # the intent layer is asked first


@pytest.mark.parametrize(("said", "expected"), [
    ("ni loco acepto eso", None), ("I don't accept", None), ("mi esposo tiene un negocio", None),
    ("antes tenía negocio", None), ("todo bien excepto el correo", None), ("no manches, vendo tamales", None),
    ("sí, tengo un negocio", 0), ("no, ya regresé", 1),
])
def test_the_loose_pass_abstains_on_contrast_negation_someone_else_and_the_past(
        said: str, expected: int | None) -> None:
    options = [["Sí", "si", "acepto", "negocio", "todo bien"], ["No", "no", "no acepto"]]
    assert pick(said, options) == expected


SUMMARY = [["Todo está bien, envíalo", "confirm", "correcto", "esta correcto"],
           ["Corregir algo", "edit", "cambiar", "no"]]


@pytest.mark.parametrize(("said", "expected"), [
    ("quiero cambiar mi correo", 1), ("ya está correcto", 0),
    ("no está correcto", None),  # close in spelling to "está correcto", its opposite in meaning
    ("¿puedo cambiar algo después?", None),  # a question names no answer
    ("no quiero cambiar nada", None),  # the "no" denies the edit option's own word: asked again
])
def test_an_option_named_inside_a_sentence_is_picked_and_a_denial_never_confirms(
        said: str, expected: int | None) -> None:
    assert pick(said, SUMMARY) == expected


MENU = [["Iniciar mi inscripción", "enroll", "inscribirme"], ["Requisitos", "requirements"],
        ["Cuánto cuesta el IMSS", "costs", "costos", "precio"], ["Hablar con un asesor", "asesor"]]


@pytest.mark.parametrize(("said", "expected"), [
    ("requisitos", 1), ("REQUISITOS!!!", 1), ("requsitos", 1), ("cuanto cuesta", 2), ("precio?", 2),
    ("inscribirme", 0), ("iniciar mi inscripcion", 0), ("asesor", 3), ("4", 3), ("4.", 3), ("4)", 3),
    ("el", None), ("hola", None),
])
def test_menu_titles_and_synonyms(said: str, expected: int | None) -> None:
    assert pick(said, MENU) == expected


def test_normalise() -> None:
    assert normalise("  ¡Sí!  Año, ÁÉÍÓÚ 👍 ") == "si ano aeiou si"


@given(st.text())
def test_pick_never_crashes_and_returns_a_valid_index(text: str) -> None:
    result = pick(text, MENU)
    assert result is None or 0 <= result < len(MENU)


AGES = [["Menos de 18", "menor"], ["18 a 59"], ["60 a 64"], ["65 o más"]]
AGE_RANGES = [(0, 17), (18, 59), (60, 64), (65, 120)]


@pytest.mark.parametrize(("said", "expected"), [
    ("55", 1), ("tengo 55", 1), ("tengo 55 años", 1), ("de 18 a 59", 1), ("2", 1), ("62", 2), ("70", 3),
    ("17", 0), ("menor de edad", 0), ("200", None), ("de 50 a 70", None),
])
def test_numbers_within_ranges_pick_the_range_not_the_position(said: str, expected: int | None) -> None:
    assert pick(said, AGES, AGE_RANGES) == expected


YES_NO_UNSURE = [["Sí", "yes", "si"], ["No", "no"], ["No estoy seguro", *UNSURE]]


@pytest.mark.parametrize(("said", "expected"), [
    ("sip", 0), ("claro", 0), ("claro que sí", 0), ("ok", 0), ("simón", 0), ("yeah", 0), ("👍", 0),
    ("nel", 1), ("nop", 1), ("no, gracias", 1), ("mejor no", 1),
    ("no sé", 2), ("no me acuerdo", 2), ("no estoy segura", 2), ("ni idea", 2), ("I don't know", 2),
])
def test_yes_no_variants_and_unsure_as_its_own_answer(said: str, expected: int) -> None:
    assert pick(said, YES_NO_UNSURE) == expected


@pytest.mark.parametrize("said", ["no sé", "no me acuerdo", "no lo sé", "no estoy seguro"])
def test_unsure_is_never_taken_as_no(said: str) -> None:
    assert pick(said, YES_NO) is None


def test_an_options_words_in_any_order() -> None:
    assert pick("en México, sí", [["Sí, en México"], ["No, vivo en el extranjero"]]) == 0


@pytest.mark.parametrize(("said", "intent"), [
    ("kiero inscrivirme al seguro", "enroll"), ("i want to enroll", "enroll"), ("cuanto cobran ustedes", "price"),
    ("es seguro dar mi curp", "privacy"), ("quiero hablar con alguien", "human"), ("english", "english"),
    ("José Luis Pérez", None), ("GODE561231HDFNZD03", None), ("12500", None),
])
def test_intents(said: str, intent: str | None) -> None:
    assert understand(said) == intent


LIVE_IN_MEXICO = [["Sí, en México", "si", "mexico", "yes"], ["No, vivo fuera", "no", "usa", "texas", "chicago"]]


@pytest.mark.parametrize(("said", "expected"), [
    # "si" without its accent before "me", "fuera"…: a condition, not a yes.
    ("si me contratan en una empresa", None), ("si fuera gratis sí", None), ("si me jubilo el año que entra", None),
    ("si tengo mi propio negocio", 0), ("sí, me contrataron", 0),
    # Someone else, the past, a wish: asked again.
    ("mis papás viven en Texas", None), ("viví en Chicago diez años", None), ("me gustaría vivir en México", None),
    # A short place name after a "yes" takes the yes back ("usa" names the other option); both places named: asked.
    ("yes, in the USA", 1), ("estoy en México de vacaciones, vivo en Chicago", None), ("vivo en texas", 1),
])
def test_the_loose_pass_abstains_on_a_condition_someone_else_the_past_or_both_places(
        said: str, expected: int | None) -> None:
    assert pick(said, LIVE_IN_MEXICO) == expected
