"""The IMSS payment calendar of a membership: which months have a day-20 deadline, and when each reminder
is due (5 days before, the day before, the day itself, and the day after if unpaid). Pure date logic.

A *period* here is the month of a deadline ("2026-12": pay by 20 December 2026). IMSS is paid in advance:
paying by day 20 buys the coverage of the next month (DOMAIN.md "Contributions": "Pay by day 20 of the
month for coverage from the 1st of the next month"), so the month the applicant is paying for is
`coverage_month(period)`. Every date is the applicant's, in BUSINESS_TIMEZONE: `local_date` converts.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

MONTHS_PER_PAYMENT = {"monthly": 1, "bimonthly": 2, "semiannual": 6, "annual": 12}
REMINDER_OFFSETS = {"before_5": -5, "before_1": -1, "due": 0, "missed": 1}
PAYMENT_DAY = 20
#: BUSINESS_TIMEZONE's default; callers pass the configured zone.
MEXICO_CITY = ZoneInfo("America/Mexico_City")


def month_index(period: str) -> int:
    year, month = period.split("-")
    return int(year) * 12 + int(month) - 1


def period_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def local_date(moment: datetime | date, zone: ZoneInfo) -> date:
    """The calendar date of `moment` in `zone` (a naive datetime is UTC); a date is returned as it is."""
    if not isinstance(moment, datetime):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(zone).date()


def first_period(moment: datetime | date, zone: ZoneInfo = MEXICO_CITY) -> str:
    """The first deadline to remind: this month's while its day 20 has not passed (even the day before or
    the day itself still get "mañana" / "hoy"), else next month's. `moment` is read in `zone`."""
    today = local_date(moment, zone)
    index = today.year * 12 + today.month - 1
    return period_of(index if today.day <= PAYMENT_DAY else index + 1)


def coverage_month(period: str) -> date:
    """The first day of the month a payment due in `period` covers: the month after the deadline."""
    index = month_index(period) + 1
    return date(index // 12, index % 12 + 1, 1)


def babel_locale(locale: str) -> str:
    return "es_MX" if locale == "es_MX" else "en_US"


def month_name(day: date, locale: str) -> str:
    """'enero de 2027' / 'January 2027', with Babel's standalone month name."""
    return format_date(day, "LLLL 'de' yyyy" if locale == "es_MX" else "LLLL yyyy", locale=babel_locale(locale))


def long_date(day: date, locale: str) -> str:
    """'20 de diciembre de 2026' / 'December 20, 2026'."""
    return format_date(day, "long", locale=babel_locale(locale))


def nearest_period(moment: datetime | date, zone: ZoneInfo = MEXICO_CITY) -> str:
    """The deadline month closest to today: what "ya pagué" most likely refers to."""
    today = local_date(moment, zone)
    index = today.year * 12 + today.month - 1
    return min((period_of(i) for i in (index - 1, index, index + 1)),
               key=lambda period: abs((deadline(period) - today).days))


def deadline(period: str) -> date:
    index = month_index(period)
    return date(index // 12, index % 12 + 1, PAYMENT_DAY)


def periods_near(first: str, frequency: str, today: date, before: int = 6, after: int = 4) -> list[str]:
    """Deadline months of this membership whose reminders could be due around `today`."""
    step = MONTHS_PER_PAYMENT[frequency]
    start = month_index(first)
    found = []
    for index in range(today.year * 12 + today.month - 2, today.year * 12 + today.month + 1):
        if index >= start and (index - start) % step == 0:
            day = deadline(period_of(index))
            if today - timedelta(days=after) <= day <= today + timedelta(days=before):
                found.append(period_of(index))
    return found


def due_times(period: str, zone: ZoneInfo, hour: time) -> dict[str, datetime]:
    """When each reminder of a period is due, at the configured hour of the business time zone."""
    day = deadline(period)
    return {kind: datetime.combine(day + timedelta(days=offset), hour, zone)
            for kind, offset in REMINDER_OFFSETS.items()}


USEFUL_DAYS = {"before_5": -1, "before_1": 0, "due": 1, "missed": 4}


def useful_until(kind: str, period: str, zone: ZoneInfo) -> datetime:
    """Past this moment a reminder would say something untrue ("in 5 days", "tomorrow") or stale."""
    return datetime.combine(deadline(period) + timedelta(days=USEFUL_DAYS[kind]), time(0, 0), zone)


def in_quiet_hours(moment: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    local = moment.astimezone(zone).time()
    return local >= start or local < end if start > end else start <= local < end


# -- the membership's own period (what the member paid us for, not IMSS's calendar) ----------------------------
RENEWAL_NOTICES = {"renew5": 5, "renew1": 1}  # days before the paid period ends


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 January + 1 month = 28/29 February)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))


def membership_end(paid_until: datetime | None, now: datetime, months: int, zone: ZoneInfo) -> datetime:
    """When a membership paid now for `months` ends: renewing extends from the current end while it has not
    passed, else from today; the end is local midnight in `zone`, so the last covered day is the day before."""
    start = local_date(now, zone)
    if paid_until is not None and paid_until > now:
        start = max(start, local_date(paid_until, zone))
    return datetime.combine(add_months(start, months), time(0, 0), zone)


def last_covered_day(paid_until: datetime, zone: ZoneInfo) -> date:
    """The last day a membership ending at `paid_until` covers, as the member reads it."""
    return local_date(paid_until - timedelta(microseconds=1), zone)


def renewal_due(paid_until: datetime, kind: str, zone: ZoneInfo, hour: time) -> datetime:
    """When a renewal notice of a membership ending at `paid_until` is due: N days before the day it ends, at the
    sending hour (ending 1 January: 27 December and 31 December, its last day)."""
    return datetime.combine(local_date(paid_until, zone) - timedelta(days=RENEWAL_NOTICES[kind]), hour, zone)
