"""Amounts of money as the applicant reads them."""

from __future__ import annotations

from babel.numbers import format_currency


def money(amount: float, locale: str) -> str:
    """Pesos as a Mexican reader expects them ($1,234.50), in either language (en_US would say MX$)."""
    return format_currency(amount, "MXN", locale="es_MX", currency_digits=True)
