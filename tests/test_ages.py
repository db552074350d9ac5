"""Birth years and dates typed at the age question (flows/rules/ages.py)."""

from datetime import date

import pytest

from flows.rules.ages import birth_age
from flows.rules.matching import pick

TODAY = date(2026, 6, 10)
AGE_OPTIONS = [["under 18"], ["18 a 59"], ["60 a 64"], ["65 o mas"]]
AGE_RANGES = [(0, 17), (18, 59), (60, 64), (65, 120)]


@pytest.mark.parametrize(("said", "age"), [
    ("nací en 1985", "tengo 40 a 41 anos"),
    ("1990", "tengo 35 a 36 anos"),
    ("soy del 75", "tengo 50 a 51 anos"),
    ("del 2010", "tengo 15 a 16 anos"),
    ("soy del 05", "tengo 20 a 21 anos"),
    ("nací el 15 de marzo de 1966", "tengo 60 anos"),
    ("nací el 15 de diciembre de 1966", "tengo 59 anos"),
    ("15/03/1966", "tengo 60 anos"),
    ("I was born in 1959", "tengo 66 a 67 anos"),
    ("nacida el 10 de junio del 66", "tengo 60 anos"),
])
def test_a_birth_year_or_date_is_read_as_the_age_it_gives_today(said: str, age: str) -> None:
    assert birth_age(said, TODAY) == age


@pytest.mark.parametrize("said", [
    "55", "tengo 55", "de 18 a 59", "2", "200", "mi hijo nació en 2010", "tengo 3 hijos", "voy a cumplir 60",
    "nací en 2030", "31/02/1980", "nací el 3 de marzo", "1850", "15/13/1980", "del 18 al 59",
])
def test_what_is_not_a_birth_year_is_left_alone(said: str) -> None:
    assert birth_age(said, TODAY) is None


@pytest.mark.parametrize(("said", "option"), [("nací en 1985", 1), ("soy del 66", None), ("15/03/1966", 2),
                                              ("born in 1950", 3), ("del 2012", 0)])
def test_the_age_options_take_a_birth_year_only_when_both_possible_ages_fall_in_one(said: str,
                                                                                     option: int | None) -> None:
    assert pick(birth_age(said, TODAY) or said, AGE_OPTIONS, AGE_RANGES, strict=True) == option


def test_a_curps_age_set_against_the_questionnaires_is_flagged_when_it_differs() -> None:
    from flows.rules.ages import age_bracket, age_differs

    assert [age_bracket(age) for age in (17, 18, 59, 60, 64, 65)] == ["under_18", "18_59", "18_59", "60_64", "60_64",
                                                                      "65_plus"]
    assert age_differs({"elig_age": "18_59", "age": 69})
    assert not age_differs({"elig_age": "65_plus", "age": 69}) and not age_differs({"elig_age": "18_59"})
