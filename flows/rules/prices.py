"""Our prices for a date, from flows/data/prices.toml, and how a text quotes them. Pure: no I/O but the data file.

Every amount is an integer number of centavos of MXN with IVA included (a consumer price in Mexico is shown
as its total); the IVA it contains is derived with integer arithmetic, so no float ever touches money.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from babel.numbers import format_currency

from locales import N_, translate

SERVICE = "service"
MEMBERSHIP_PLANS = ("membership_monthly", "membership_yearly")
CONCEPTS = {
    SERVICE: N_("IMSS enrollment filing service"),
    "membership_monthly": N_("Payment reminders membership, monthly"),
    "membership_yearly": N_("Payment reminders membership, yearly"),
}


class PriceError(LookupError):
    """No price is valid for the date asked (the data file needs a new period)."""


@dataclass(frozen=True, slots=True)
class Price:
    """One priced item of one period: the total the applicant pays, IVA included."""

    key: str
    total_centavos: int
    iva_rate_basis_points: int
    valid_from: date
    valid_to: date | None
    source: str
    months: int = 0  # a membership plan's period; 0 for the one-off service

    @property
    def subtotal_centavos(self) -> int:
        """The amount before IVA, rounded half up to the centavo: total / (1 + rate)."""
        divisor = 10_000 + self.iva_rate_basis_points
        return (self.total_centavos * 10_000 * 2 + divisor) // (2 * divisor)

    @property
    def iva_centavos(self) -> int:
        """The IVA contained in the total; subtotal + IVA is exactly the total."""
        return self.total_centavos - self.subtotal_centavos

    @property
    def concept(self) -> str:
        """What is sold, as a msgid."""
        return CONCEPTS[self.key]


@cache
def _table() -> dict[str, Any]:
    text = (resources.files("flows") / "data" / "prices.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def all_prices() -> tuple[Price, ...]:
    """Every price of every period in the data file, checked: integer centavos, known keys, dated."""
    table = _table()
    rate = int(table["iva_rate_basis_points"])
    found: list[Price] = []
    for period in table["period"]:
        start, end, source = period["valid_from"], period.get("valid_to"), period["source"]
        for key, item in period["prices"].items():
            if key not in CONCEPTS:
                raise ValueError(f"prices.toml: unknown price {key!r}")
            total = item["total_centavos"]
            if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
                raise ValueError(f"prices.toml: {key} needs a positive integer total_centavos")
            found.append(Price(key, total, rate, start, end, source, int(item.get("months", 0))))
    return tuple(found)


def price_for(key: str, day: date) -> Price:
    """The price of `key` valid on `day` (the latest period that covers it)."""
    valid = [price for price in all_prices() if price.key == key and price.valid_from <= day
             and (price.valid_to is None or day <= price.valid_to)]
    if not valid:
        raise PriceError(f"no price for {key} on {day.isoformat()}")
    return max(valid, key=lambda price: price.valid_from)


def amount(centavos: int) -> str:
    """Integer centavos as a Mexican reader expects them: 149900 -> "$1,499.00"."""
    return format_currency(Decimal(centavos) / 100, "MXN", locale="es_MX", currency_digits=True)


def total_text(price: Price, locale: str) -> str:
    """"Total $1,499.00 MXN (IVA incluido)"."""
    return translate(locale, N_("Total %(amount)s MXN (IVA included)"), amount=amount(price.total_centavos))


def quote_values(day: date, locale: str) -> dict[str, str]:
    """The placeholders texts quote our prices with: the service fee and each membership plan, as totals."""
    return {
        "service_fee": total_text(price_for(SERVICE, day), locale),
        "service_amount": amount(price_for(SERVICE, day).total_centavos),
        "monthly_amount": amount(price_for("membership_monthly", day).total_centavos),
        "yearly_amount": amount(price_for("membership_yearly", day).total_centavos),
    }
