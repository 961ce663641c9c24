"""Five-field cron expressions (minute hour day-of-month month day-of-week), in UTC.

Each field takes `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, and comma-separated lists of
those. Day of week: 0 or 7 is Sunday. As in cron, when both day fields are restricted a day matches
either of them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_LIMITS = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
_NAMES = ["minute", "hour", "day of month", "month", "day of week"]


class CronError(ValueError):
    pass


def _parse_field(text: str, low: int, high: int, name: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                start, end = low, high
            elif "-" in body:
                start, end = (int(v) for v in body.split("-", 1))
            elif step_text:  # "5/15": from 5 to the end, every 15, as in cron
                start, end = int(body), high
            else:
                start = end = int(body)
        except ValueError as exc:
            raise CronError(f"{name}: {part!r} is not a number, range or step") from exc
        if step < 1 or not (low <= start <= end <= high):
            raise CronError(f"{name}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> "Cron":
        fields = expression.split()
        if len(fields) != 5:
            raise CronError(f"{expression!r}: expected 5 fields (minute hour day month weekday)")
        parsed = [_parse_field(f, lo, hi, n) for f, (lo, hi), n in zip(fields, _LIMITS, _NAMES, strict=True)]
        weekdays = frozenset(d % 7 for d in parsed[4])
        return cls(expression, parsed[0], parsed[1], parsed[2], parsed[3], weekdays,
                   days_restricted=fields[2] != "*", weekdays_restricted=fields[4] != "*")

    def _day_matches(self, moment: datetime) -> bool:
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def matches(self, moment: datetime) -> bool:
        return (moment.minute in self.minutes and moment.hour in self.hours and moment.month in self.months
                and self._day_matches(moment))

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after `moment`."""
        candidate = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = candidate + timedelta(days=366 * 5)
        while candidate < limit:
            if candidate.month not in self.months:
                candidate = (candidate.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(candidate):
                candidate = candidate.replace(hour=0, minute=0) + timedelta(days=1)
            elif candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0) + timedelta(hours=1)
            elif candidate.minute not in self.minutes:
                candidate += timedelta(minutes=1)
            else:
                return candidate
        raise CronError(f"{self.expression!r} never matches")
