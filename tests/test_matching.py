"""Typed answers: numbers, titles, synonyms; case, accents, punctuation and emoji do not matter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.text import normalise
from flows.rules.matching import pick

YES_NO = [["Sí", "yes", "si"], ["No", "no"]]


@pytest.mark.parametrize(("said", "expected"), [
    ("si", 0), ("Sí!!", 0), ("SI", 0), ("👍", 0), ("✅", 0), ("sí, claro", 0), ("1", 0), ("uno", 0),
    ("no", 1), ("No.", 1), ("👎", 1), ("2", 1), ("no gracias", 1), ("  NO  ", 1),
    ("3", None), ("0", None), ("quizá", None), ("", None), ("🙂", None),
])
def test_yes_no(said: str, expected: int | None) -> None:
    assert pick(said, YES_NO) == expected


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
