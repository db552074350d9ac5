"""Dated IMSS constants (UMA, minimum wage, rates), read from one data file per year."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class Constants:
    """One year's values. `current` says whether they apply on the date they were looked up for."""

    valid_from: date
    valid_until: date
    uma_daily: float
    minimum_wage_daily: float
    minimum_wage_border_daily: float
    max_base_uma: int
    days_per_month: float
    payment_day: int
    infonavit_rate: float
    illustrative_monthly_at_minimum_wage: float
    rates: dict[str, Any]
    current: bool

    @property
    def max_base_daily(self) -> float:
        return round(self.uma_daily * self.max_base_uma, 2)


@cache
def _all() -> tuple[dict[str, Any], ...]:
    folder = resources.files("flows") / "data"
    tables = [tomllib.loads(item.read_text(encoding="utf-8"))
              for item in folder.iterdir() if item.name.startswith("imss_") and item.name.endswith(".toml")]
    return tuple(sorted(tables, key=lambda table: table["valid_from"]))


def constants_for(day: date) -> Constants:
    """The constants in force on `day`; the newest ones (flagged not current) when none cover it."""
    tables = _all()
    chosen = next((t for t in reversed(tables) if t["valid_from"] <= day <= t["valid_until"]), None)
    current = chosen is not None
    if chosen is None:
        earlier = [t for t in tables if t["valid_from"] <= day]
        chosen = earlier[-1] if earlier else tables[0]
    fields = {k: v for k, v in chosen.items() if k != "sources"}
    return Constants(current=current, **fields)
