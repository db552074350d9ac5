"""Whether an applicant lives in the Zona Libre de la Frontera Norte (ZLFN), whose higher minimum wage is
the floor of their contribution base (LSS art. 227; CONASAMI; DOMAIN.md "Contributions").

The postal code decides (flows/data/border_zone.toml: the decree's municipality list and SEPOMEX state
ranges, with their source and date). Baja California is wholly in the zone, 25 states and Mexico City
wholly outside; in Sonora, Chihuahua, Coahuila, Nuevo León and Tamaulipas the postal code's municipality
decides (flows/data/border_zone_postal_codes.toml, SEPOMEX via GeoNames, derived by
tools/border_zone_data.py). Only a code the data does not know (or one shared by a municipality in the zone
and one outside) makes the bot ask; then "Sí" counts as the zone, and "No" or "No sé" do not (the estimate
then says the border amount would be higher). Pure: reads only the shipped data.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal

Zone = Literal["yes", "no"]


@cache
def _data() -> dict[str, Any]:
    text = (resources.files("flows") / "data" / "border_zone.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def _state_of_prefix() -> dict[str, str]:
    return {prefix: state for state, prefixes in _data()["postal_prefixes"].items() for prefix in prefixes}


@cache
def _postal_data() -> dict[str, Any]:
    text = (resources.files("flows") / "data" / "border_zone_postal_codes.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def _municipalities_of_code() -> dict[str, frozenset[str]]:
    """Postal code → the INEGI keys of its municipalities, in the states only partly in the zone."""
    keys_of: dict[str, set[str]] = {}
    for key, codes in _postal_data()["postal_codes"].items():
        for code in codes.split():
            keys_of.setdefault(code, set()).add(key)
    return {code: frozenset(keys) for code, keys in keys_of.items()}


@cache
def _zone_keys() -> frozenset[str]:
    return frozenset(key for keys in _data()["municipality_keys"].values() for key in keys)


def municipality_keys() -> Mapping[str, tuple[str, ...]]:
    """The INEGI keys of the decree's municipalities in the partial states, in the order of municipalities()."""
    return {state: tuple(keys) for state, keys in _data()["municipality_keys"].items()}


def municipality_of(postal_code: str) -> tuple[str, ...]:
    """The names of the municipalities a postal code of a partial state belongs to (SEPOMEX), or ()."""
    names = _postal_data()["municipalities"]
    return tuple(sorted(names[key] for key in _municipalities_of_code().get((postal_code or "").strip(), ())))


def municipalities() -> Mapping[str, tuple[str, ...]]:
    """The ZLFN municipalities by state, as the decree lists them."""
    return {state: tuple(names) for state, names in _data()["municipalities"].items()}


def state_of(postal_code: str) -> str | None:
    """The state a 5-digit postal code belongs to (SEPOMEX ranges), or None."""
    code = (postal_code or "").strip()
    if len(code) != 5 or not code.isdigit():
        return None
    return _state_of_prefix().get(code[:2])


def zone_of_postal_code(postal_code: str) -> Zone | None:
    """"yes" when the postal code lies in the ZLFN, "no" when it does not, None when the data cannot tell
    (a code unknown in a partial state, or one shared by municipalities in and out of the zone)."""
    state = state_of(postal_code)
    if state is None:
        return None
    if not municipalities().get(state):
        return "no"
    if state == "Baja California":  # every municipality of the state is in the zone
        return "yes"
    keys = _municipalities_of_code().get(postal_code.strip())
    if not keys:
        return None
    inside = {key in _zone_keys() for key in keys}
    if len(inside) != 1:
        return None
    return "yes" if inside.pop() else "no"


def needs_question(data: Mapping[str, Any]) -> bool:
    """Ask "do you live in the border zone?" only when the postal code cannot tell."""
    return zone_of_postal_code(str(data.get("postal_code") or "")) is None


def border_status(data: Mapping[str, Any]) -> Zone | None:
    """The zone from the postal code, else from the applicant's answer; None for "No sé" or no answer."""
    decided = zone_of_postal_code(str(data.get("postal_code") or ""))
    if decided is not None:
        return decided
    answer = data.get("border_zone")
    return answer if answer in ("yes", "no") else None


def in_border_zone(data: Mapping[str, Any]) -> bool:
    return border_status(data) == "yes"
