"""The manager's view (/inbox/dashboard): the enrollment funnel over a chosen period, cases by status and age,
median times, agents' work, reminders and payments — as charts, accessible tables and a CSV export.

Admins and managers see it; agents do not. Every number comes from `storage.dashboard`, which reads what the
product already stores. The period is a range of days in BUSINESS_TIMEZONE, both ends included.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent
from flask import Response, abort, current_app, g, render_template, request

from bot.core.clock import utcnow
from bot.web.context import services_of
from bot.web.inbox.blueprint import bp, staff_locale
from flows.rules.case_status import STATUSES
from flows.rules.document_slots import SLOTS
from flows.steps import applicant, consent, contract, documents, eligibility
from locales import N_, translate
from storage.dashboard import AGE_BUCKETS, DEPTH, STAGES, Dashboard, DashboardQueries

DEFAULT_DAYS = 30
MAX_DAYS = 366
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)  # beyond, time-zone arithmetic would overflow

STAGE_LABELS = {
    "started": N_("Started a conversation"),
    "consents": N_("Accepted the privacy notice"),
    "eligibility": N_("Passed the eligibility questions"),
    "data": N_("Gave their data"),
    "documents": N_("Sent their documents"),
    "contracted": N_("Accepted the contract"),
    "paid": N_("Paid"),
    "filed": N_("Case filed"),
    "enrolled": N_("Enrolled with IMSS"),
}
AGE_LABELS = {"0-1": N_("0 to 1 days"), "2-7": N_("2 to 7 days"), "8-30": N_("8 to 30 days"),
              "31+": N_("31 days or more")}
assert set(STAGE_LABELS) == set(STAGES) and set(AGE_LABELS) == {key for key, _, _ in AGE_BUCKETS}


def step_depths() -> dict[str, int]:
    """Standing on (or having gone through) a step proves the stages before it: in the consents, only that the
    conversation started; in the eligibility questions, the consents; at a favourable result or in the data,
    eligibility; in the documents, the data; at the summary, the contract or the payment, the documents."""
    depths: dict[str, int] = {}
    for steps, stage in ((consent.STEPS, "started"), (eligibility.STEPS, "consents"),
                         (applicant.STEPS, "eligibility"), (documents.STEPS, "data"), (contract.STEPS, "documents")):
        depths.update((step.name, DEPTH[stage]) for step in steps)
    depths.update({"elig_likely": DEPTH["eligibility"], "elig_review": DEPTH["eligibility"],
                   "summary": DEPTH["documents"], "edit_menu": DEPTH["documents"], "filing": DEPTH["documents"]})
    return depths


def _dashboard_only() -> None:
    if not g.staff.sees_dashboard:
        abort(403)


def _day(value: str | None) -> date | None:
    """A day from the form (YYYY-MM-DD), or None for anything else, years far off included."""
    try:
        day = date.fromisoformat(value) if value and len(value) == 10 and value.isascii() else None
    except ValueError:
        return None
    return day if day is not None and FIRST_DAY <= day <= LAST_DAY else None


def _period(zone: ZoneInfo) -> tuple[date, date]:
    """The chosen days (default: the last 30 up to today), in order and at most a year apart."""
    today = utcnow().astimezone(zone).date()
    end = _day(request.args.get("end")) or today
    start = _day(request.args.get("start")) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
    return start, end


def _load() -> tuple[Dashboard, date, date, str]:
    services = services_of(current_app)
    zone = ZoneInfo(services.settings.business_timezone)
    first, last = _period(zone)
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    with services.database.session_scope() as db:
        board = DashboardQueries(db).build(start, end, step_depths(), [slot for slot, *_ in SLOTS], list(STATUSES),
                                           utcnow())
    return board, first, last, staff_locale()


def _babel(locale: str) -> str:
    return "es_MX" if locale == "es_MX" else "en_US"


class Formats:
    """Numbers, times and money as the staff member's language writes them."""

    def __init__(self, locale: str) -> None:
        self.locale, self.babel = locale, _babel(locale)

    def _(self, msgid: str, **values: Any) -> str:
        return translate(self.locale, msgid, **values)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.babel)

    def share(self, part: int, whole: int) -> str:
        return "—" if whole == 0 else format_percent(part / whole, "#,##0.0%", locale=self.babel)

    def duration(self, value: timedelta | None) -> str:
        if value is None:
            return "—"
        return format_timedelta(value, threshold=1.5, locale=self.babel)

    def money(self, centavos: int) -> str:
        return format_currency(centavos / 100, "MXN", locale="es_MX", currency_digits=True)

    def day(self, value: date) -> str:
        return format_date(value, "long", locale=self.babel)


def _chart_data(board: Dashboard, locale: str) -> dict[str, Any]:
    """What the charts draw: the same numbers as the tables, labels already translated."""
    return {
        "funnel": {"labels": [translate(locale, STAGE_LABELS[row.stage]) for row in board.funnel],
                   "values": [row.reached for row in board.funnel],
                   "label": translate(locale, "Conversations")},
        "cases": {"labels": [translate(locale, STATUSES.get(row.status, N_("other"))) for row in board.cases],
                  "series": [{"label": translate(locale, AGE_LABELS[key]),
                              "values": [row.by_age[index] for row in board.cases]}
                             for index, (key, _, _) in enumerate(AGE_BUCKETS)]},
    }


@bp.get("/dashboard")
def dashboard() -> Any:
    _dashboard_only()
    board, first, last, locale = _load()
    return render_template("inbox/dashboard.html", board=board, first=first, last=last, fmt=Formats(locale),
                           stage_labels=STAGE_LABELS, age_labels=[AGE_LABELS[key] for key, _, _ in AGE_BUCKETS],
                           status_labels=STATUSES, chart=_chart_data(board, locale))


def _cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula is quoted (a staff name is free text)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _hours(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 3600:.1f}"


def _minutes(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds() / 60:.1f}"


def csv_rows(board: Dashboard, first: date, last: date, locale: str) -> list[list[object]]:
    """The dashboard as rows: one block per table, each with its own header row, blocks apart by an empty row."""
    def _(msgid: str) -> str:
        return translate(locale, msgid)

    rows: list[list[object]] = [[_("Period"), first.isoformat(), last.isoformat()], [],
                                [_("Enrollment funnel")],
                                [_("Step"), _("Reached"), _("Dropped off"), _("Percent of the previous step")]]
    previous = 0
    for index, row in enumerate(board.funnel):
        share = "" if index == 0 or previous == 0 else f"{100 * row.reached / previous:.1f}"
        rows.append([_(STAGE_LABELS[row.stage]), row.reached, row.dropped, share])
        previous = row.reached
    rows += [[], [_("Cases by status and age (all cases, now)")],
             [_("Status"), *(_(AGE_LABELS[key]) for key, _low, _high in AGE_BUCKETS), _("Total")]]
    rows += [[_(STATUSES.get(row.status, N_("other"))), *row.by_age, row.total] for row in board.cases]
    rows += [[], [_("Median times")], [_("Measure"), _("Median (hours)"), _("Cases")],
             [_("First message to filing"), _hours(board.to_filing), board.to_filing_count],
             [_("Filing to enrollment"), _hours(board.to_enrollment), board.to_enrollment_count]]
    rows += [[], [_("Agents")], [_("Agent"), _("Email"), _("Conversations taken"), _("Answered"),
                                 _("Median first response (minutes)")]]
    rows += [[agent.name, agent.email, agent.handoffs, agent.answered, _minutes(agent.median_first_response)]
             for agent in board.agents]
    activity = board.activity
    rows += [[], [_("Reminders and payments")], [_("Measure"), _("Count")],
             [_("Payment-date reminders sent (memberships)"), activity.membership_reminders],
             [_("Reminders to finish an enrollment"), activity.enrollment_nudges],
             [_("Reminders to pay a contract"), activity.payment_nudges],
             [_("Payments confirmed"), activity.payments_confirmed],
             [_("Amount confirmed (MXN)"), f"{activity.payments_centavos / 100:.2f}"],
             [_("Membership periods marked paid"), activity.membership_periods_paid]]
    return [[_cell(value) for value in row] for row in rows]


@bp.get("/dashboard.csv")
def dashboard_csv() -> Any:
    _dashboard_only()
    board, first, last, locale = _load()
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(board, first, last, locale))
    prefix = translate(locale, N_("dashboard"))
    name = f"{prefix}-{first.isoformat()}-{last.isoformat()}.csv"
    # A byte-order mark, so that a spreadsheet opens the accents as UTF-8.
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
