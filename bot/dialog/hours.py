"""Business hours: when a person can answer, so a handoff tells the applicant what to expect.

Written as "mon-fri 09:00-18:00; sat 10:00-14:00" in BUSINESS_HOURS and read in BUSINESS_TIMEZONE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import ConfigurationError

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
