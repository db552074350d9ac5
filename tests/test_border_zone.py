"""Issue 15 item 6: the postal code decides the Zona Libre de la Frontera Norte (ZLFN), also in the five
states only partly in it. The zone is the decree's municipality list ("Decreto de estímulos fiscales región
fronteriza norte", DOF 31-12-2018, art. Primero, which CONASAMI takes as the ZLFN; DOMAIN.md "Identifiers",
postal code); the postal code's municipality comes from SEPOMEX's catalogue (via GeoNames,
flows/data/border_zone_postal_codes.toml). A code the data does not know makes the bot ask.
"""

from __future__ import annotations

import tomllib
import unicodedata
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.wiring import Services
from flows.rules.border_zone import (
    border_status,
    municipalities,
    municipality_keys,
    municipality_of,
    needs_question,
    state_of,
    zone_of_postal_code,
)
from locales import translate
from tests.helpers import CURP, ELIGIBLE, RFC, Phone

MX = ZoneInfo("America/Mexico_City")
UNKNOWN_CHIHUAHUA = "32830"  # a real code (Valle de la Esperanza) newer than the shipped SEPOMEX data


def es(msgid: str, **values: Any) -> str:
    return translate("es_MX", msgid, **values)


def plain(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def postal_data() -> dict[str, Any]:
    return tomllib.loads((resources.files("flows") / "data" / "border_zone_postal_codes.toml")
                        .read_text(encoding="utf-8"))


# -- the rule -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "municipality"), [
    ("32000", "Juárez"),  # Chihuahua: Ciudad Juárez
    ("84000", "Nogales"),  # Sonora
    ("88500", "Reynosa"),  # Tamaulipas
    ("26000", "Piedras Negras"),  # Coahuila
    ("65000", "Anáhuac"),  # Nuevo León's only ZLFN municipality
    ("88000", "Nuevo Laredo"),
    ("87300", "Matamoros"),  # Matamoros, Tamaulipas
    ("32740", "Guadalupe"),  # Guadalupe, Chihuahua
    ("83400", "San Luis Río Colorado"),
    ("26200", "Acuña"),
    ("32880", "Ojinaga"),
])
def test_border_municipalities_postal_codes_are_in_the_zone(code: str, municipality: str) -> None:
    """These municipalities are listed in the decree (DOF 31-12-2018, art. Primero): the postal code alone
    puts the applicant in the ZLFN, with no question."""
    assert municipality_of(code) == (municipality,)
    assert zone_of_postal_code(code) == "yes"
    assert not needs_question({"postal_code": code})
    assert border_status({"postal_code": code, "border_zone": "unsure"}) == "yes"


@pytest.mark.parametrize(("code", "municipality"), [
    ("83000", "Hermosillo"),  # Sonora's capital
    ("31000", "Chihuahua"),  # Chihuahua city
    ("64000", "Monterrey"),
    ("25000", "Saltillo"),
    ("87000", "Victoria"),  # Ciudad Victoria
    ("27440", "Matamoros"),  # Matamoros, Coahuila: same name as the border one in Tamaulipas, not in the decree
    ("67100", "Guadalupe"),  # Guadalupe, Nuevo León: the decree's Guadalupe is Chihuahua's
    ("67250", "Juárez"),  # Juárez, Nuevo León: the decree's Juárez is Chihuahua's
])
def test_other_municipalities_of_the_partial_states_are_out(code: str, municipality: str) -> None:
    """Not in the decree's list for their state, so the general minimum wage applies; no question."""
    assert municipality_of(code) == (municipality,)
    assert zone_of_postal_code(code) == "no"
    assert not needs_question({"postal_code": code})
    assert border_status({"postal_code": code, "border_zone": "yes"}) == "no"  # the data outranks a guess


def test_an_unknown_postal_code_of_a_partial_state_asks() -> None:
    """A code missing from the SEPOMEX data (added after it, or mistyped) cannot tell: the bot asks, and the
    applicant's answer decides; "No sé" stays undecided (issue 15 item 6)."""
    for code in (UNKNOWN_CHIHUAHUA, "83999", "64999"):
        assert state_of(code) is not None and municipality_of(code) == ()
        assert zone_of_postal_code(code) is None and needs_question({"postal_code": code})
    assert border_status({"postal_code": UNKNOWN_CHIHUAHUA, "border_zone": "yes"}) == "yes"
    assert border_status({"postal_code": UNKNOWN_CHIHUAHUA, "border_zone": "unsure"}) is None


def test_whole_states_still_decide_by_prefix() -> None:
    """Baja California lies wholly in the ZLFN; a state with no decree municipality wholly outside."""
    assert zone_of_postal_code("22000") == "yes" and zone_of_postal_code("21100") == "yes"
    assert zone_of_postal_code("06600") == "no" and zone_of_postal_code("44100") == "no"
    assert zone_of_postal_code("1234") is None and zone_of_postal_code("") is None


# -- the data -------------------------------------------------------------------------------------------------

def test_decree_keys_name_the_decree_municipalities() -> None:
    """Each INEGI key in border_zone.toml is, in the SEPOMEX data, the municipality the decree names, state by
    state (43 municipalities in 2018: 5 in Baja California, 11 Sonora, 8 Chihuahua, 8 Coahuila, 1 Nuevo León,
    10 Tamaulipas)."""
    names = postal_data()["municipalities"]
    keys = municipality_keys()
    assert {state: len(keys[state]) for state in keys} == {
        "Sonora": 11, "Chihuahua": 8, "Coahuila": 8, "Nuevo León": 1, "Tamaulipas": 10}
    for state, state_keys in keys.items():
        decree = municipalities()[state]
        assert [plain(names[key]) for key in state_keys] == [plain(name) for name in decree], state
        assert len(set(state_keys)) == len(state_keys)
    assert len(municipalities()["Baja California"]) == 7  # the 5 of 2018 plus San Quintín and San Felipe


def test_postal_data_is_consistent_and_dated() -> None:
    """Every code lies in its municipality's state by the SEPOMEX prefixes, every decree municipality has
    codes, and the file says where it comes from (CC BY 4.0, GeoNames) and of when."""
    data = postal_data()
    assert "GeoNames" in data["source"] and "CC BY 4.0" in data["source"] and data["as_of"].year >= 2024
    state_codes = {"05": "Coahuila", "08": "Chihuahua", "19": "Nuevo León", "26": "Sonora", "28": "Tamaulipas"}
    codes = set()
    for key, listed in data["postal_codes"].items():
        for code in listed.split():
            assert state_of(code) == state_codes[key[:2]], (key, code)
            codes.add(code)
    assert len(codes) == data["postal_code_count"] > 5000
    for keys in municipality_keys().values():
        assert all(data["postal_codes"].get(key) for key in keys)


# -- through the web chat -------------------------------------------------------------------------------------

def to_postal_code(phone: Phone) -> None:
    phone.send("hola")
    phone.press(es("Start my enrollment"))
    phone.press(es("I accept"))
    phone.press(es("I accept"))
    for answer in ELIGIBLE:
        phone.send(answer)
    phone.press(es("I authorise it"))
    phone.press(es("No"))
    phone.press(es("Neither"))
    phone.press(es("Continue"))
    for answer in ("Eduardo González Díaz", CURP, RFC):
        phone.send(answer)
    phone.press(es("I do not have one"))
    for answer in ("ana@example.mx", "si", "5512345678"):
        phone.send(answer)


def estimate_after(phone: Phone, postal_code: str) -> tuple[bool, str]:
    """Give the postal code and go on to the estimate; whether the bot asked about the border zone (answered
    "No sé"), and the estimate's text."""
    to_postal_code(phone)
    phone.send(postal_code)
    asked = "Frontera Norte" in phone.text()
    if asked:
        phone.send("no se")
    for answer in ("Calle 5 número 10, Centro", "costurera", "si", "$3,000", "mensual"):
        phone.send(answer)
    return asked, phone.text()


def pin_clock(services: Services) -> None:
    services.turns.clock = lambda: datetime(2026, 12, 10, 12, tzinfo=MX).astimezone(UTC)


def test_ciudad_juarez_postal_code_gets_the_border_minimum(services: Services, phone: Phone) -> None:
    """Ciudad Juárez (32000) is in the decree's list: no question, and the 2026 floor is the ZLFN minimum
    wage, $440.87 a day (CONASAMI; LSS art. 227): $2,379.70 a month at the floor, not $1,879.17."""
    pin_clock(services)
    asked, text = estimate_after(phone, "32000")
    assert not asked
    assert "$2,379.70" in text and "$440.87" in text and "$1,879.17" not in text


def test_hermosillo_postal_code_gets_the_general_minimum(services: Services, phone: Phone) -> None:
    """Hermosillo (83000) is not in the decree's list: no question, and the general minimum applies."""
    pin_clock(services)
    asked, text = estimate_after(phone, "83000")
    assert not asked
    assert "$1,879.17" in text and "no pudimos saber si vives en la Zona Libre" not in text


def test_unknown_chihuahua_postal_code_asks(services: Services, phone: Phone) -> None:
    """A Chihuahua code the data does not know: the bot asks, and "No sé" is not taken as "No"."""
    pin_clock(services)
    asked, text = estimate_after(phone, UNKNOWN_CHIHUAHUA)
    assert asked
    assert "$1,879.17" in text and "no pudimos saber si vives en la Zona Libre" in text
