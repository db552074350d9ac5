"""Business hours: when a person can answer, so a handoff tells the applicant what to expect.

Written as "mon-fri 09:00-18:00; sat 10:00-14:00" in BUSINESS_HOURS and read in BUSINESS_TIMEZONE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, get_day_names

from bot.core.errors import ConfigurationError
from locales import N_, translate

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT = "mon-fri 09:00-18:00; sat 10:00-14:00"


@dataclass(frozen=True, slots=True)
class BusinessHours:
    zone: ZoneInfo
    opening: tuple[tuple[time, time] | None, ...]  # by weekday, Monday first
    text: str

    @classmethod
    def parse(cls, text: str, timezone: str) -> BusinessHours:
        opening: list[tuple[time, time] | None] = [None] * 7
        try:
            zone = ZoneInfo(timezone)
            for part in filter(None, (p.strip() for p in text.lower().split(";"))):
                days, hours = part.split()
                first, _, last = days.partition("-")
                start, end = (time.fromisoformat(h) for h in hours.split("-"))
                span = range(DAYS.index(first), DAYS.index(last or first) + 1)
                for day in span:
                    opening[day] = (start, end)
        except (ValueError, KeyError) as error:
            raise ConfigurationError(f"BUSINESS_HOURS must look like {DEFAULT!r}") from error
        return cls(zone, tuple(opening), text)

    def describe(self, locale: str) -> str:
        """The hours in the reader's language, consecutive days with the same hours together:
        "lunes a viernes de 09:00 a 18:00; sábado de 10:00 a 14:00", never the raw setting."""
        names = get_day_names("wide", locale=_babel(locale))
        groups: list[tuple[int, int, tuple[time, time]]] = []
        for day, hours in enumerate(self.opening):
            if hours is None:
                continue
            if groups and groups[-1][1] == day - 1 and groups[-1][2] == hours:
                groups[-1] = (groups[-1][0], day, hours)
            else:
                groups.append((day, day, hours))
        parts = []
        for first, last, (start, end) in groups:
            days = names[first] if first == last else translate(locale, N_("%(first)s to %(last)s"),
                                                                 first=names[first], last=names[last])
            parts.append(translate(locale, N_("%(days)s from %(start)s to %(end)s"), days=days,
                                   start=start.strftime("%H:%M"), end=end.strftime("%H:%M")))
        return "; ".join(parts)

    def describe_moment(self, moment: datetime, locale: str) -> str:
        """A coming opening time as the reader says it: "lunes 09:00", "Monday 09:00"."""
        return format_datetime(moment, "EEEE HH:mm", tzinfo=self.zone, locale=_babel(locale))

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        hours = self.opening[local.weekday()]
        return hours is not None and hours[0] <= local.time() < hours[1]

    def next_opening(self, moment: datetime) -> datetime:
        """The next time a person is at work (now, if open)."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(self.zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            hours = self.opening[day.weekday()]
            if hours is None:
                continue
            start = datetime.combine(day, hours[0], self.zone)
            if start > local:
                return start
        return moment


def _babel(locale: str) -> str:
    return "es_MX" if locale.startswith("es") else "en"
