"""Dated IMSS values (UMA, minimum wages, rates), each with its own validity and source.

flows/data/imss_<year>.toml holds one table per value (`value` or the rate fields, `valid_from`,
`valid_until`, `source`); flows/data/imss_law.toml the values fixed by law. The UMA runs February–January,
the minimum wages January–December, the rates by calendar year, so one date can take its UMA from one year
and its minimum wage from another. A value with no entry covering the date is taken from the nearest
earlier entry (or the earliest one) and named in `Constants.stale`, so every screen that shows an amount
can say which year's value it used. Dates are the applicant's dates, in Mexico City time (the caller
converts; `today_in` helps).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

#: The dated values, in the order they are reported.
DATED = ("uma_daily", "minimum_wage_daily", "minimum_wage_border_daily", "rates",
         "illustrative_monthly_at_minimum_wage")
MEXICO_CITY = ZoneInfo("America/Mexico_City")


@dataclass(frozen=True, slots=True)
class Entry:
    """One dated value as the data file gives it."""

    name: str
    value: Any
    valid_from: date
    valid_until: date
    source: str

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until


@dataclass(frozen=True, slots=True)
class Constants:
    """The values used for one date. `entries` says, per dated value, which entry was used; `stale` names
    the dated values that have no entry covering the date (an older or newer one was used instead)."""

    day: date
    uma_daily: float
    minimum_wage_daily: float
    minimum_wage_border_daily: float
    max_base_uma: int
    days_per_month: float
    payment_day: int
    infonavit_rate: float
    illustrative_monthly_at_minimum_wage: float
    rates: dict[str, Any]
    entries: dict[str, Entry] = field(default_factory=dict)
    stale: tuple[str, ...] = ()

    @property
    def current(self) -> bool:
        return not self.stale

    @property
    def valid_from(self) -> date:
        """When the UMA used came into force (the value most amounts hang on)."""
        return self.entries["uma_daily"].valid_from

    @property
    def max_base_daily(self) -> float:
        return round(self.uma_daily * self.max_base_uma, 2)

    def stale_among(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(name for name in self.stale if name in names)


def _files() -> list[tuple[str, dict[str, Any]]]:
    folder = resources.files("flows") / "data"
    return [(item.name, tomllib.loads(item.read_text(encoding="utf-8"))) for item in folder.iterdir()
            if item.name.startswith("imss_") and item.name.endswith(".toml")]


@cache
def _entries() -> dict[str, tuple[Entry, ...]]:
    found: dict[str, list[Entry]] = {name: [] for name in DATED}
    for file_name, table in _files():
        for name in DATED:
            if name not in table:
                continue
            item = dict(table[name])
            for key in ("valid_from", "valid_until", "source"):
                if key not in item:
                    raise ValueError(f"{file_name}: [{name}] needs {key}")
            start, end, source = item.pop("valid_from"), item.pop("valid_until"), item.pop("source")
            value = item["value"] if "value" in item else item
            found[name].append(Entry(name, value, start, end, source))
    for name, entries in found.items():
        if not entries:
            raise ValueError(f"no entry for {name} in flows/data")
        entries.sort(key=lambda entry: entry.valid_from)
    return {name: tuple(entries) for name, entries in found.items()}


@cache
def _law() -> dict[str, Any]:
    return next(table for name, table in _files() if name == "imss_law.toml")


def entries(name: str) -> tuple[Entry, ...]:
    """Every entry of one dated value, oldest first."""
    return _entries()[name]


def entry_for(name: str, day: date) -> tuple[Entry, bool]:
    """The entry of `name` for `day` and whether it covers it (else the nearest earlier, or the earliest)."""
    options = entries(name)
    covering = [entry for entry in options if entry.covers(day)]
    if covering:
        return covering[-1], True
    earlier = [entry for entry in options if entry.valid_from <= day]
    return (earlier[-1] if earlier else options[0]), False


def today_in(moment: datetime, zone: ZoneInfo = MEXICO_CITY) -> date:
    """The calendar date of `moment` where the applicant lives (a naive moment is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(zone).date()


def constants_for(day: date) -> Constants:
    """The values in force on `day` (a date in Mexico City), each from its own entry."""
    chosen = {name: entry_for(name, day) for name in DATED}
    law = _law()
    return Constants(
        day=day,
        uma_daily=chosen["uma_daily"][0].value,
        minimum_wage_daily=chosen["minimum_wage_daily"][0].value,
        minimum_wage_border_daily=chosen["minimum_wage_border_daily"][0].value,
        max_base_uma=law["max_base_uma"],
        days_per_month=law["days_per_month"],
        payment_day=law["payment_day"],
        infonavit_rate=law["infonavit_rate"],
        illustrative_monthly_at_minimum_wage=chosen["illustrative_monthly_at_minimum_wage"][0].value,
        rates=chosen["rates"][0].value,
        entries={name: entry for name, (entry, _) in chosen.items()},
        stale=tuple(name for name, (_, covers) in chosen.items() if not covers),
    )


def expiring(today: date, within_days: int) -> list[Entry]:
    """The newest entry of each dated value whose validity ends within `within_days` of `today` (or has
    ended): next year's value is missing and must be added to flows/data."""
    limit = today + timedelta(days=within_days)
    latest = [max(entries(name), key=lambda entry: entry.valid_until) for name in DATED]
    return [entry for entry in latest if entry.valid_until <= limit]
