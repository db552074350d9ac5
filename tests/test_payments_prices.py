"""Our prices as data: dated totals in integer centavos with IVA included, the IVA derivable, quoted with Babel,
and the bot quoting the fee from the data whenever it is asked."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from flows.rules.prices import MEMBERSHIP_PLANS, SERVICE, PriceError, all_prices, amount, price_for, total_text
from tests.helpers import Phone

DATA = Path(__file__).resolve().parent.parent / "flows" / "data" / "prices.toml"
TODAY = date(2026, 12, 1)


def test_every_price_is_an_integer_total_with_its_source_and_dates() -> None:
    table = tomllib.loads(DATA.read_text(encoding="utf-8"))
    assert table["iva_rate_basis_points"] == 1600
    for period in table["period"]:
        assert period["source"] and period["approved"] and isinstance(period["valid_from"], date)
        for item in period["prices"].values():
            assert isinstance(item["total_centavos"], int)
    keys = {price.key for price in all_prices()}
    assert {SERVICE, *MEMBERSHIP_PLANS} <= keys


def test_the_iva_part_is_derived_and_adds_up_to_the_total() -> None:
    for price in all_prices():
        assert price.subtotal_centavos + price.iva_centavos == price.total_centavos
        # 16% of the subtotal, to the centavo
        assert abs(price.subtotal_centavos * 16 - price.iva_centavos * 100) <= 100
    fee = price_for(SERVICE, TODAY)
    assert (fee.total_centavos, fee.subtotal_centavos, fee.iva_centavos) == (149900, 129224, 20676)


def test_plans_carry_their_period_in_months() -> None:
    assert price_for("membership_monthly", TODAY).months == 1
    assert price_for("membership_yearly", TODAY).months == 12


def test_no_price_before_the_first_period() -> None:
    with pytest.raises(PriceError):
        price_for(SERVICE, date(2020, 1, 1))


def test_totals_are_quoted_with_babel_in_both_languages() -> None:
    assert amount(149900) == "$1,499.00"
    assert amount(5) == "$0.05"
    fee = price_for(SERVICE, TODAY)
    assert total_text(fee, "es_MX") == "Total $1,499.00 MXN (IVA incluido)"
    assert total_text(fee, "en") == "Total $1,499.00 MXN (IVA included)"


def test_no_amount_is_written_in_a_text() -> None:
    po = (Path(__file__).resolve().parent.parent / "locales" / "messages.pot").read_text(encoding="utf-8")
    assert "1,499" not in po and "1499" not in po


def test_asked_the_price_from_any_step_the_bot_quotes_the_fee_and_keeps_imss_apart(client) -> None:
    phone = Phone(client)
    phone.send("hola")
    phone.send("cuanto cobran?")
    assert "Total $1,499.00 MXN (IVA incluido)" in phone.text()
    assert "Las cuotas del IMSS son aparte" in phone.text()
    phone.send("1")
    phone.send("acepto")
    phone.send("¿cuánto cuesta su servicio?")
    assert "Total $1,499.00 MXN (IVA incluido)" in phone.text()
    assert "$99.00 al mes" in phone.text() and "$990.00 al año" in phone.text()
