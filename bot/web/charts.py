"""Chart geometry for the HTML report's inline SVG: pure numbers; the template draws them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from survey.period import Period

WIDTH = 640
BAR_HEIGHT = 22
LABEL_WIDTH = 230
MONTHS_FROM_DAYS = 93
"""A period longer than this is charted by month; up to it, by week."""


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its label, value (None: nothing to show) and drawn geometry."""

    label: str
    value: float | None
    y: int
    width: float
    low: float | None = None  # the interval's ends, in drawn x
    high: float | None = None


@dataclass(frozen=True)
class Point:
    label: str
    value: float | None
    x: float
    y: float | None


def bars(rows: Sequence[tuple[str, float | None, float | None, float | None]]) -> list[Bar]:
    """Bars on a 0–100 axis for (label, value, low, high) rows, one under the other."""
    span = WIDTH - LABEL_WIDTH - 60
    out = []
    for index, (label, value, low, high) in enumerate(rows):
        out.append(
            Bar(
                label=label,
                value=value,
                y=index * (BAR_HEIGHT + 8),
                width=0.0 if value is None else span * value / 100,
                low=None if low is None else LABEL_WIDTH + span * low / 100,
                high=None if high is None else LABEL_WIDTH + span * high / 100,
            )
        )
    return out


def line(values: Sequence[tuple[str, float | None]], height: int = 160) -> list[Point]:
    """A line over the 0–100 axis: one point per (label, value), evenly spaced."""
    count = max(len(values), 1)
    step = (WIDTH - 80) / max(count - 1, 1)
    return [
        Point(
            label=label,
            value=value,
            x=50 + index * step,
            y=None if value is None else 10 + (height - 20) * (1 - value / 100),
        )
        for index, (label, value) in enumerate(values)
    ]


def buckets(period: Period) -> tuple[str, list[Period]]:
    """The trend's periods: calendar weeks (Monday first) or months, cut to `period`."""
    unit = "month" if period.days > MONTHS_FROM_DAYS else "week"
    found: list[Period] = []
    start = period.start
    while start <= period.end:
        week_end = start + timedelta(days=6 - start.weekday())
        end = week_end if unit == "week" else _month_end(start)
        found.append(Period(start, min(end, period.end)))
        start = min(end, period.end) + timedelta(days=1)
    return unit, found


def _month_end(day: date) -> date:
    following = day.replace(day=28) + timedelta(days=4)
    return following - timedelta(days=following.day)
