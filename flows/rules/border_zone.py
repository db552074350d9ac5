"""Whether an applicant lives in the Zona Libre de la Frontera Norte (ZLFN), whose higher minimum wage is
the floor of their contribution base (LSS art. 227; CONASAMI; DOMAIN.md "Contributions").

The postal code decides when its state is wholly inside or wholly outside the zone (flows/data/
border_zone.toml: SEPOMEX state ranges and the decree's municipality list, with their source and date).
Only when it cannot tell does the bot ask; then "Sí" counts as the zone, and "No" or "No sé" do not (the
estimate then says the border amount would be higher). Pure: reads only the shipped data.
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
    """"yes" when the postal code's state lies wholly in the ZLFN, "no" when it has no ZLFN municipality,
    None when the state is partly in the zone (the applicant is asked)."""
    state = state_of(postal_code)
    if state is None:
        return None
    border = municipalities().get(state)
    if not border:
        return "no"
    if state == "Baja California":  # every municipality of the state is in the zone
        return "yes"
    return None


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
