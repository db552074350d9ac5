"""A rough, clearly unofficial estimate of what IMSS charges a self-employed worker (PTI) each month.

The applicant tells us a monthly income; we turn it into the daily contribution base IMSS uses, clamp it
to the legal floor and ceiling, apply every rate of the dated constants file (flows/data/imss_*.toml) and
say which period they will pay. Work-risk insurance is left out on purpose: which premium IMSS applies to
PTIs is not confirmed, so we would rather say so than guess. Pure: the only input read is the constants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from babel.dates import format_date
from babel.lists import format_list

from flows.rules.imss import Constants, constants_for
from flows.rules.money import money
from locales import N_, translate

Clamp = Literal["minimum", "maximum"]

#: Months covered by each payment period a PTI may choose (LSS art. 224).
FREQUENCY_MONTHS: Mapping[str, int] = {"monthly": 1, "bimonthly": 2, "semiannual": 6, "annual": 12}

LABELS: Mapping[str, str] = {
    "eym_fixed": N_("Health and maternity, fixed fee"),
    "eym_surplus": N_("Health and maternity, surplus over 3 UMA"),
    "medical_pensioners": N_("Pensioners' medical expenses"),
    "eym_cash": N_("Health and maternity, cash benefits"),
    "invalidity_life": N_("Invalidity and life"),
    "daycare_social": N_("Daycare and social benefits"),
    "retirement": N_("Retirement"),
    "old_age": N_("Old-age severance and old age"),
}
WORK_RISK_NOTE = N_("Work-risk insurance is not included: the premium IMSS applies to self-employed workers "
                    "is not confirmed yet.")
TITLE = N_("*Your estimate (not official)*")
RAISED = N_("Your income is below the minimum base, so the estimate uses one minimum wage a day, the lowest "
            "base IMSS accepts.")
LOWERED = N_("Your income is above the maximum base, so the estimate uses 25 UMA a day, the highest base IMSS "
             "accepts.")
BASE = N_("Contribution base: %(daily)s a day (%(monthly)s a month).")
MONTHLY_TOTAL = N_("*Total per month: %(amount)s*")
PERIOD_TOTALS: Mapping[str, str] = {
    "bimonthly": N_("Every 2 months: %(amount)s"),
    "semiannual": N_("Every 6 months: %(amount)s"),
    "annual": N_("Every year: %(amount)s"),
}
# "%%" because this msgid is formatted with values; Babel flags it python-format either way.
INFONAVIT = N_("Optional INFONAVIT (5%%): %(amount)s a month, apart from the total.")
CLOSING = N_("This is only an estimate with the UMA in force from %(uma_date)s and the minimum wage in force from "
             "%(wage_date)s. The official amount is the one on your línea de captura.")
#: A value needed for the date has no entry in flows/data: say so, and which year's value was used.
STALE = N_("⚠️ We do not have %(value)s for %(date)s yet: this amount uses the %(year)s values and may be "
           "outdated. IMSS may charge a different amount.")
BORDER_UNSURE = N_("We could not tell from your postal code whether you live in the northern border zone, so "
                   "this uses the general minimum wage. In the border zone the minimum is %(border)s a day and "
                   "the amount could be higher: an advisor will confirm it.")
VALUE_NAMES: Mapping[str, str] = {
    "uma_daily": N_("the UMA"),
    "minimum_wage_daily": N_("the general minimum wage"),
    "minimum_wage_border_daily": N_("the border-zone minimum wage"),
    "rates": N_("the IMSS contribution rates"),
    "illustrative_monthly_at_minimum_wage": N_("the reference amount at one minimum wage"),
}


VALIDITY = N_("Values used: UMA in force from %(uma_date)s; minimum wages in force from %(wage_date)s.")


def validity_line(constants: Constants, locale: str) -> str:
    """Which UMA and minimum wages a screen used, each by the date it came into force."""
    def when(name: str) -> str:
        return format_date(constants.entries[name].valid_from, format="long", locale=_babel(locale))

    return translate(locale, VALIDITY, uma_date=when("uma_daily"), wage_date=when("minimum_wage_daily"))


def needed_values(border: bool) -> tuple[str, ...]:
    """The dated values an estimate needs: the UMA, the area's minimum wage and the rates."""
    return ("uma_daily", "minimum_wage_border_daily" if border else "minimum_wage_daily", "rates")


def stale_warnings(constants: Constants, names: Sequence[str], locale: str) -> list[str]:
    """A warning for the values in `names` that have no entry for the constants' date, naming the year
    whose value was used instead (one sentence per year used, the values listed together)."""
    when = format_date(constants.day, format="long", locale=_babel(locale))
    by_year: dict[int, list[str]] = {}
    for name in constants.stale:
        if name in names:
            by_year.setdefault(constants.entries[name].valid_from.year, []).append(translate(locale, VALUE_NAMES[name]))
    return [translate(locale, STALE, value=format_list(values, locale=_babel(locale)), date=when, year=year)
            for year, values in sorted(by_year.items())]


def _babel(locale: str) -> str:
    return "es_MX" if locale == "es_MX" else "en_US"

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class EstimateLine:
    """One insurance branch: `label` is an English msgid, `rate_text` shows what the rate applies to."""

    key: str
    label: str
    monthly: float
    rate_text: str


@dataclass(frozen=True, slots=True)
class Estimate:
    """Everything needed to explain the figure; `current` False means the constants may be outdated."""

    monthly_income: float
    daily_base: float
    monthly_base: float
    clamped: Clamp | None
    lines: tuple[EstimateLine, ...]
    monthly_total: float
    infonavit_monthly: float | None
    frequency: str
    period_total: float
    constants_date: date
    current: bool
    notes: tuple[str, ...] = (WORK_RISK_NOTE,)
    wage_date: date | None = None
    constants: Constants | None = None
    border: bool = False


def _dec(value: float) -> Decimal:
    """Go through `str` so 117.31 stays 117.31 instead of its binary neighbour."""
    return Decimal(str(value))


def _cents(value: Decimal) -> Decimal:
    """Round half up, as a cashier would, never to the nearest even cent."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _percent(rate: Decimal) -> str:
    """A fraction as people read rates: at least two decimals, three only when the law has them."""
    text = f"{rate * 100:.3f}"
    return text[:-1] if text.endswith("0") else text


def _old_age_employer(base: Decimal, minimum: Decimal, uma: Decimal, bands: Sequence[Mapping[str, Any]]) -> Decimal:
    """Employer share of cesantía y vejez for `base`, from the banded 2026 table.

    The table's first band is "1 minimum wage" and the others are in UMA, but one minimum wage is already
    2.69 UMA (315.04 / 117.31). Read as DOMAIN.md does: a base of exactly the area's minimum wage (the floor
    the base is clamped to, the border one when `border`) pays the first band; any other base is compared in
    UMA, so the bands up to 2.50 UMA never apply to a PTI. Upper limits are inclusive ("up to 3.00 UMA").
    """
    for band in bands:
        if "up_to_minimum_wages" in band:
            limit = minimum * _dec(band["up_to_minimum_wages"])
        elif "up_to_uma" in band:
            limit = uma * _dec(band["up_to_uma"])
        else:
            return _dec(band["rate"]) / 100
        if base <= limit:
            return _dec(band["rate"]) / 100
    raise ValueError("the old_age_employer table must end with an open band")


def estimate(monthly_income: float, day: date, *, border: bool = False, frequency: str = "monthly",
             include_infonavit: bool = True) -> Estimate:
    """Estimate the monthly IMSS contribution of a PTI declaring `monthly_income` on `day`.

    Args:
        monthly_income: the income the applicant declares, in pesos a month.
        day: the date whose constants apply (usually today).
        border: whether they live in the northern border zone, whose minimum wage is the floor.
        frequency: "monthly", "bimonthly", "semiannual" or "annual"; only changes `period_total`.
        include_infonavit: whether to show the voluntary 5% INFONAVIT contribution apart.

    Returns:
        The estimate; each line is daily amount × days per month, rounded to cents once at its end.

    Raises:
        ValueError: for an unknown frequency or an income that is negative or not a number.
    """
    if frequency not in FREQUENCY_MONTHS:
        raise ValueError(f"unknown frequency {frequency!r}")
    if not math.isfinite(monthly_income) or monthly_income < 0:
        raise ValueError(f"invalid monthly income {monthly_income!r}")
    constants = constants_for(day)
    rates = constants.rates
    days = _dec(constants.days_per_month)
    uma = _dec(constants.uma_daily)
    minimum = _dec(constants.minimum_wage_border_daily if border else constants.minimum_wage_daily)
    maximum = _cents(uma * constants.max_base_uma)

    # IMSS states the daily base in cents, which also makes "equals one minimum wage" exact.
    base = _cents(_dec(monthly_income) / days)
    clamped: Clamp | None = None
    if base < minimum:
        base, clamped = minimum, "minimum"
    elif base > maximum:
        base, clamped = maximum, "maximum"

    def rate(key: str) -> Decimal:
        return _dec(rates[key]) / 100

    threshold = uma * _dec(rates["eym_surplus_threshold_uma"])
    old_age = rate("old_age_worker") + _old_age_employer(base, minimum, uma, rates["old_age_employer"])
    # (key, rate, daily amount it applies to, rate text); the fixed fee is on one UMA, not on the base.
    parts = (
        ("eym_fixed", rate("eym_fixed_of_uma"), uma, f"{_percent(rate('eym_fixed_of_uma'))}% × 1 UMA"),
        ("eym_surplus", rate("eym_surplus"), max(base - threshold, Decimal(0)),
         f"{_percent(rate('eym_surplus'))}% × (base − {rates['eym_surplus_threshold_uma']} UMA)"),
        *((key, rate(key), base, f"{_percent(rate(key))}%")
          for key in ("medical_pensioners", "eym_cash", "invalidity_life", "daycare_social", "retirement")),
        ("old_age", old_age, base, f"{_percent(old_age)}%"),
    )
    amounts = [(key, _cents(share * amount * days), text) for key, share, amount, text in parts]
    total = sum((monthly for _, monthly, _ in amounts), Decimal(0))
    # Unclamped, the monthly base is the income declared: base × 30.4 would turn $18,000 into $18,000.14
    # because the daily base is rounded to cents (issue 15, item 14).
    monthly_base = _cents(base * days) if clamped else _cents(_dec(monthly_income))
    infonavit = _cents(_dec(constants.infonavit_rate) * monthly_base) if include_infonavit else None
    needed = needed_values(border)
    return Estimate(
        monthly_income=monthly_income,
        daily_base=float(base),
        monthly_base=float(monthly_base),
        clamped=clamped,
        lines=tuple(EstimateLine(key, LABELS[key], float(monthly), text) for key, monthly, text in amounts),
        monthly_total=float(total),
        infonavit_monthly=None if infonavit is None else float(infonavit),
        frequency=frequency,
        period_total=float(total * FREQUENCY_MONTHS[frequency]),
        constants_date=constants.valid_from,
        current=not constants.stale_among(needed),
        wage_date=constants.entries[needed[1]].valid_from,
        constants=constants,
        border=border,
    )


def border_unsure_note(est: Estimate, locale: str) -> str:
    """Said when neither the postal code nor the applicant ("No sé") tells whether they live in the ZLFN."""
    border = est.constants.minimum_wage_border_daily if est.constants else 0.0
    return translate(locale, BORDER_UNSURE, border=money(border, locale))


def render_estimate(est: Estimate, locale: str) -> str:
    """A short text for a phone screen, in `locale`, that never lets the estimate pass for the official bill.

    Branches that come to $0 (the surplus below 3 UMA) are left out to keep the list short.
    """
    def text(msgid: str, **values: Any) -> str:
        return translate(locale, msgid, **values)

    def pesos(amount: float) -> str:
        return money(amount, locale)

    parts = [text(TITLE)]
    if est.clamped is not None:
        parts.append(text(RAISED if est.clamped == "minimum" else LOWERED))
    parts.append(text(BASE, daily=pesos(est.daily_base), monthly=pesos(est.monthly_base)))
    parts.append("\n".join(f"• {text(line.label)}: {pesos(line.monthly)}" for line in est.lines if line.monthly))
    totals = [text(MONTHLY_TOTAL, amount=pesos(est.monthly_total))]
    if est.frequency in PERIOD_TOTALS:
        totals.append(text(PERIOD_TOTALS[est.frequency], amount=pesos(est.period_total)))
    if est.infonavit_monthly is not None:
        totals.append(text(INFONAVIT, amount=pesos(est.infonavit_monthly)))
    parts.append("\n".join(totals))
    def when(day: date | None) -> str:
        return format_date(day or est.constants_date, format="long", locale=_babel(locale))

    closing = [text(note) for note in est.notes] + [text(CLOSING, uma_date=when(est.constants_date),
                                                          wage_date=when(est.wage_date))]
    if est.constants is not None:
        closing.extend(stale_warnings(est.constants, needed_values(est.border), locale))
    parts.append("\n".join(closing))
    return "\n\n".join(parts)
