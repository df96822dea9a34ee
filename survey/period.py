"""Reporting periods: parse what an official types (`month`, `2026-Q3`, a date range…) into dates.

Pure: "today" is always a parameter, computed by the caller in the configured time zone.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

MAX_DAYS = 3700
"""The longest period accepted: ten years and change, so a typo like 2062 is still caught."""

EXAMPLES = "month, week, quarter, year, 2026-10, 2026-Q3, 2026, 2026-10-05, 2026-10-01..2026-10-31"

_ALIASES = {
    "week": "week",
    "tuan": "week",
    "tuần": "week",
    "month": "month",
    "thang": "month",
    "tháng": "month",
    "quarter": "quarter",
    "quy": "quarter",
    "quý": "quarter",
    "qui": "quarter",
    "quí": "quarter",
    "year": "year",
    "nam": "year",
    "năm": "year",
}
_DAY = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_RANGE = re.compile(rf"{_DAY}\s*\.\.\s*{_DAY}")
_SINGLE_DAY = re.compile(_DAY)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_QUARTER = re.compile(r"([0-9]{4})-q([0-9])")
_YEAR = re.compile(r"[0-9]{4}")


@dataclass(frozen=True, order=True)
class Period:
    """An inclusive range of calendar days."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of equal length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


class PeriodError(ValueError):
    """A period the parser does not understand; the message shows the accepted syntax."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{reason} Examples of a period: {EXAMPLES}.")
        self.text = text


def _month(year: int, month: int) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(date(year, month, 1), date(year, month, last))


def _quarter(year: int, quarter: int) -> Period:
    first = 3 * (quarter - 1) + 1
    return Period(_month(year, first).start, _month(year, first + 2).end)


def _year(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31))


def _week(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def _current(unit: str, today: date) -> Period:
    if unit == "week":
        return _week(today)
    if unit == "month":
        return _month(today.year, today.month)
    if unit == "quarter":
        return _quarter(today.year, (today.month - 1) // 3 + 1)
    return _year(today.year)


def _day(text: str, year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise PeriodError(text, f"{year}-{month}-{day} is not a date.") from None


def _explicit(text: str, key: str) -> Period:
    if match := _RANGE.fullmatch(key):
        start = _day(text, *match.group(1, 2, 3))
        end = _day(text, *match.group(4, 5, 6))
        if end < start:
            raise PeriodError(text, f"The period {text!r} ends before it starts.")
        return Period(start, end)
    if match := _SINGLE_DAY.fullmatch(key):
        day = _day(text, *match.groups())
        return Period(day, day)
    if match := _QUARTER.fullmatch(key):
        quarter = int(match[2])
        if not 1 <= quarter <= 4:
            raise PeriodError(text, f"{text!r}: a quarter is Q1 to Q4.")
        return _quarter(_known_year(text, match[1]), quarter)
    if match := _MONTH.fullmatch(key):
        month = int(match[2])
        if not 1 <= month <= 12:
            raise PeriodError(text, f"{text!r}: a month is 01 to 12.")
        return _month(_known_year(text, match[1]), month)
    if _YEAR.fullmatch(key):
        return _year(_known_year(text, key))
    raise PeriodError(text, f"Unrecognised period {text!r}.")


def _known_year(text: str, year: str) -> int:
    if int(year) < 1:
        raise PeriodError(text, f"{text!r}: the year must be 0001 or later.")
    return int(year)


def parse_period(text: str | None, today: date) -> Period:
    """The period ``text`` names, relative to ``today``; None or blank means the current month.

    Raises:
        PeriodError: the text is not a period, names an impossible date, ends before it
            starts, or spans more than `MAX_DAYS` days.
    """
    # NFC so that a decomposed "tháng" typed on some keyboards matches the alias table.
    key = unicodedata.normalize("NFC", text or "").strip().casefold()
    if not key:
        return _current("month", today)
    unit = _ALIASES.get(key)
    period = _current(unit, today) if unit else _explicit(text or "", key)
    if period.days > MAX_DAYS:
        raise PeriodError(text or "", f"The period {text!r} is longer than {MAX_DAYS} days.")
    return period


def last_full_week(today: date) -> Period:
    """The Monday-Sunday week before the week that contains ``today``."""
    return _week(today).previous()


def weeks_back(period: Period, count: int) -> list[Period]:
    """``count`` consecutive periods of equal length ending with ``period``, oldest first."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    periods: list[Period] = []
    current = period
    for _ in range(count):
        periods.append(current)
        current = current.previous()
    periods.reverse()
    return periods
