"""The contribution estimate against figures worked out by hand from the 2026 constants.

2026: UMA 117.31, minimum wage 315.04 (border 440.87), 25 UMA = 2,932.75, 30.4 days a month, 3 UMA = 351.93.
Every line is rate × daily amount × 30.4, rounded to cents at its end. The fixed fee never changes:
0.2040 × 117.31 × 30.4 = 0.2040 × 3,566.224 = 727.509696 → 727.51.
"""

from __future__ import annotations

from datetime import date

import pytest

from flows.rules.estimate import Estimate, estimate, render_estimate
from flows.rules.imss import constants_for

DAY = date(2026, 3, 1)
KEYS = ("eym_fixed", "eym_surplus", "medical_pensioners", "eym_cash", "invalidity_life", "daycare_social",
        "retirement", "old_age")

# Base 315.04 (one minimum wage), monthly base 315.04 × 30.4 = 9,577.216:
#   surplus 0 (315.04 < 351.93); 0.01425 × 9,577.216 = 136.475328 → 136.48; 0.0095 × 9,577.216 = 90.983552
#   → 90.98; 0.02375 × 9,577.216 = 227.45888 → 227.46; 0.01 × 9,577.216 = 95.77216 → 95.77;
#   0.02 × 9,577.216 = 191.54432 → 191.54; (1.125% + 3.15%) 0.04275 × 9,577.216 = 409.425984 → 409.43.
#   Total 727.51 + 136.48 + 90.98 + 227.46 + 95.77 + 191.54 + 409.43 = 1,879.17; INFONAVIT 0.05 × 9,577.216
#   = 478.8608 → 478.86.
AT_MINIMUM = (727.51, 0.0, 136.48, 90.98, 227.46, 95.77, 191.54, 409.43)


def monthly(est: Estimate) -> tuple[float, ...]:
    assert tuple(line.key for line in est.lines) == KEYS
    return tuple(line.monthly for line in est.lines)


@pytest.mark.parametrize(("income", "clamped"), [
    (5_000, "minimum"),             # 5,000 / 30.4 = 164.47 a day, below 315.04
    (315.04 * 30.4, None),          # exactly one minimum wage: not raised
    (2 * 117.31 * 30.4, "minimum"),  # 2 UMA = 234.62 a day, still below one minimum wage (2.69 UMA)
])
def test_one_minimum_wage(income: float, clamped: str | None) -> None:
    est = estimate(income, DAY)
    assert (est.daily_base, est.monthly_base, est.clamped) == (315.04, 9577.22, clamped)
    assert monthly(est) == AT_MINIMUM
    assert est.lines[-1].rate_text == "4.275%"
    assert (est.monthly_total, est.infonavit_monthly, est.period_total) == (1879.17, 478.86, 1879.17)


def test_middle_band() -> None:
    # Base 380.00 = 3.24 UMA (3.01–3.50 band, 6.36%); monthly base 380 × 30.4 = 11,552:
    #   surplus 0.015 × (380 − 351.93) × 30.4 = 0.015 × 853.328 = 12.79992 → 12.80; 0.01425 × 11,552 = 164.616
    #   → 164.62; 0.0095 × 11,552 = 109.744 → 109.74; 0.02375 × 11,552 = 274.36; 0.01 × 11,552 = 115.52;
    #   0.02 × 11,552 = 231.04; 0.07485 × 11,552 = 864.6672 → 864.67. Total 2,500.26; INFONAVIT 577.60.
    est = estimate(11_552, DAY)
    assert (est.daily_base, est.clamped) == (380.0, None)
    assert monthly(est) == (727.51, 12.80, 164.62, 109.74, 274.36, 115.52, 231.04, 864.67)
    assert (est.monthly_total, est.infonavit_monthly) == (2500.26, 577.60)


def test_ten_uma() -> None:
    # Base 10 × 117.31 = 1,173.10; monthly base 35,662.24:
    #   surplus 0.015 × (1,173.10 − 351.93) × 30.4 = 0.015 × 24,963.568 = 374.45352 → 374.45;
    #   0.01425 × 35,662.24 = 508.18692 → 508.19; 0.0095 × = 338.79128 → 338.79; 0.02375 × = 846.9782 → 846.98;
    #   0.01 × = 356.6224 → 356.62; 0.02 × = 713.2448 → 713.24; (1.125% + 7.51%) 0.08635 × = 3,079.434424
    #   → 3,079.43. Total 6,945.21; INFONAVIT 0.05 × 35,662.24 = 1,783.112 → 1,783.11.
    est = estimate(35_662.24, DAY)
    assert (est.daily_base, est.monthly_base, est.clamped) == (1173.10, 35662.24, None)
    assert monthly(est) == (727.51, 374.45, 508.19, 338.79, 846.98, 356.62, 713.24, 3079.43)
    assert (est.monthly_total, est.infonavit_monthly) == (6945.21, 1783.11)


def test_above_25_uma_is_lowered_to_the_cap() -> None:
    # 100,000 / 30.4 = 3,289.47 > 2,932.75. Monthly base 2,932.75 × 30.4 = 89,155.60:
    #   surplus 0.015 × (2,932.75 − 351.93) × 30.4 = 0.015 × 78,456.928 = 1,176.85392 → 1,176.85;
    #   0.01425 × 89,155.6 = 1,270.4673 → 1,270.47; 0.0095 × = 846.9782 → 846.98; 0.02375 × = 2,117.4455
    #   → 2,117.45; 0.01 × = 891.556 → 891.56; 0.02 × = 1,783.112 → 1,783.11; 0.08635 × = 7,698.58606
    #   → 7,698.59. Total 16,512.52; INFONAVIT 4,457.78.
    est = estimate(100_000, DAY)
    assert (est.daily_base, est.monthly_base, est.clamped) == (2932.75, 89155.60, "maximum")
    assert monthly(est) == (727.51, 1176.85, 1270.47, 846.98, 2117.45, 891.56, 1783.11, 7698.59)
    assert (est.monthly_total, est.infonavit_monthly) == (16512.52, 4457.78)


def test_border_minimum() -> None:
    # Raised to the border minimum 440.87, which is one (border) minimum wage: first band, 3.15%.
    # Monthly base 440.87 × 30.4 = 13,402.448: surplus 0.015 × 88.94 × 30.4 = 0.015 × 2,703.776 = 40.55664
    #   → 40.56; 0.01425 × 13,402.448 = 190.984884 → 190.98; 0.0095 × = 127.323256 → 127.32;
    #   0.02375 × = 318.30814 → 318.31; 0.01 × = 134.02448 → 134.02; 0.02 × = 268.04896 → 268.05;
    #   0.04275 × = 572.954652 → 572.95. Total 2,379.70; INFONAVIT 670.1224 → 670.12.
    est = estimate(5_000, DAY, border=True)
    assert (est.daily_base, est.monthly_base, est.clamped) == (440.87, 13402.45, "minimum")
    assert monthly(est) == (727.51, 40.56, 190.98, 127.32, 318.31, 134.02, 268.05, 572.95)
    assert (est.monthly_total, est.infonavit_monthly) == (2379.70, 670.12)


@pytest.mark.parametrize(("base", "border", "rate_text"), [
    (315.05, False, "7.155%"),   # a cent above one minimum wage: 2.69 UMA, band up to 3.00 (6.03% + 1.125%)
    (351.93, False, "7.155%"),   # 3 × 117.31 = 351.93: upper limits are inclusive
    (351.94, False, "7.485%"),   # 6.36% + 1.125%
    (410.58, False, "7.485%"),   # 3.5 × 117.31 = 410.585
    (410.59, False, "7.735%"),   # 6.61% + 1.125%
    (440.87, False, "7.735%"),   # the border minimum is not the general area's minimum wage
    (440.87, True, "4.275%"),    # ... but it is in the border zone: 3.15% + 1.125%
    (469.24, False, "7.735%"),   # 4 × 117.31
    (469.25, False, "8.635%"),   # 7.51% + 1.125%
    (527.90, False, "8.635%"),   # 4.5 UMA
])
def test_old_age_bands(base: float, border: bool, rate_text: str) -> None:
    est = estimate(base * 30.4, DAY, border=border)
    assert est.daily_base == base
    assert est.lines[-1].rate_text == rate_text


@pytest.mark.parametrize(("frequency", "total"), [
    ("monthly", 1879.17), ("bimonthly", 3758.34),   # 1,879.17 × 2
    ("semiannual", 11275.02), ("annual", 22550.04),  # × 6, × 12
])
def test_period_totals(frequency: str, total: float) -> None:
    est = estimate(5_000, DAY, frequency=frequency)
    assert (est.frequency, est.monthly_total, est.period_total) == (frequency, 1879.17, total)


def test_infonavit_stays_out_of_the_total() -> None:
    without = estimate(11_552, DAY, include_infonavit=False)
    assert without.infonavit_monthly is None
    assert without.monthly_total == estimate(11_552, DAY).monthly_total == 2500.26


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        estimate(10_000, DAY, frequency="weekly")
    with pytest.raises(ValueError):
        estimate(-1, DAY)


def test_constants_date_and_outdated_values() -> None:
    assert (estimate(5_000, DAY).constants_date, estimate(5_000, DAY).current) == (date(2026, 2, 1), True)
    stale = estimate(5_000, date(2030, 3, 1))
    assert (stale.constants_date, stale.current) == (date(2026, 2, 1), False)


def test_illustrative_figure_is_the_same_order_of_magnitude() -> None:
    """The costs topic quotes 'about $1,850' at one minimum wage; it must not drift from what we compute."""
    illustrative = constants_for(DAY).illustrative_monthly_at_minimum_wage
    assert abs(estimate(315.04 * 30.4, DAY).monthly_total - illustrative) / illustrative < 0.05


def test_render_in_english() -> None:
    text = render_estimate(estimate(35_662.24, DAY, frequency="bimonthly"), "en")
    assert text.startswith("*Your estimate (not official)*")
    for expected in ("Health and maternity, fixed fee: ", "Old-age severance and old age: ", "$727.51",
                     "$3,079.43", "*Total per month: ", "$6,945.21", "Every 2 months: ", "$13,890.42",
                     "Optional INFONAVIT (5%): ", "$1,783.11", "Work-risk insurance is not included",
                     "February 1, 2026", "línea de captura"):
        assert expected in text
    assert "below the minimum" not in text and "above the maximum" not in text and "outdated" not in text


def test_render_explains_clamping_and_stale_values_in_english() -> None:
    assert "below the minimum base" in render_estimate(estimate(5_000, DAY), "en")
    assert "above the maximum base" in render_estimate(estimate(100_000, DAY), "en")
    assert "may be outdated" in render_estimate(estimate(5_000, date(2030, 3, 1)), "en")


def test_render_in_spanish_has_the_figures_and_the_structure() -> None:
    # Words may still be English until the catalog is updated: check amounts and layout only.
    text = render_estimate(estimate(9_577.216, DAY, frequency="annual", include_infonavit=False), "es_MX")
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == 5  # title, base, branches, totals, closing
    assert paragraphs[0].startswith("*") and paragraphs[0].endswith("*")
    assert "$315.04" in paragraphs[1] and "$9,577.22" in paragraphs[1]
    bullets = paragraphs[2].splitlines()
    assert len(bullets) == 7  # the surplus over 3 UMA is $0 and left out
    assert all(line.startswith("• ") for line in bullets)
    assert [line.rsplit(": ", 1)[1] for line in bullets] == [
        "$727.51", "$136.48", "$90.98", "$227.46", "$95.77", "$191.54", "$409.43"]
    assert "$1,879.17" in paragraphs[3] and "$22,550.04" in paragraphs[3]
    assert "$478.86" not in text
    assert "2026" in paragraphs[4] and "línea de captura" in paragraphs[4]


def test_render_in_spanish_adds_lines_for_clamping_and_stale_values() -> None:
    plain = render_estimate(estimate(9_577.216, DAY), "es_MX").split("\n\n")
    raised = render_estimate(estimate(5_000, date(2030, 3, 1)), "es_MX").split("\n\n")
    assert len(raised) == len(plain) + 1  # the line saying why the base was raised
    # one warning naming the values with no 2030 entry (UMA, minimum wage, rates) and the year used
    assert len(raised[-1].splitlines()) == len(plain[-1].splitlines()) + 1
    assert "$478.86" in plain[-2]
