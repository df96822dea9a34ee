"""Monthly rollups of the per-day aggregates, and how a period splits into months and days.

``monthly_responses``, ``monthly_counts`` and ``monthly_pairs`` hold the sums of the daily rows
of each calendar month (``month`` = ``day[:7]``, 'YYYY-MM'). `add_to_monthly` keeps them in the
transaction that writes the daily rows, so a monthly row exists exactly when the month has a
daily row for the same key, and its values are the sums of those daily rows. A query then reads
the whole months of its period from the monthly tables and only the edge days from the daily
ones (`split_period`): a quarter costs three rows per key instead of about ninety.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import aiosqlite

from survey.period import Period


@dataclass(frozen=True)
class _Table:
    """A daily aggregate table and its monthly rollup: key columns after the day, then sums."""

    name: str  # without the daily_/monthly_ prefix
    keys: tuple[str, ...]
    sums: tuple[str, ...]

    def upsert(self) -> str:
        columns = ", ".join(("agency", "questionnaire", "month", *self.keys, *self.sums))
        marks = ", ".join("?" * (3 + len(self.keys) + len(self.sums)))
        table = f"monthly_{self.name}"
        target = ", ".join(("agency", "questionnaire", "month", *self.keys))
        updates = ", ".join(
            f"{column} = {table}.{column} + excluded.{column}" for column in self.sums
        )
        return (
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
            f"ON CONFLICT ({target}) DO UPDATE SET {updates}"
        )

    def rollup(self) -> str:
        """INSERT … SELECT of the monthly rows from the daily table (into empty monthly rows)."""
        keys = ", ".join(("agency", "questionnaire", "substr(day, 1, 7)", *self.keys))
        columns = ", ".join(("agency", "questionnaire", "month", *self.keys, *self.sums))
        sums = ", ".join(f"SUM({column})" for column in self.sums)
        return (
            f"INSERT INTO monthly_{self.name} ({columns}) "
            f"SELECT {keys}, {sums} FROM daily_{self.name} GROUP BY {keys}"
        )


_RESPONSES = _Table("responses", (), ("responses", "comments"))
_COUNTS = _Table("counts", ("criterion", "value"), ("count",))
_PAIRS = _Table("pairs", ("c1", "c2"), ("ss", "sv", "vs", "vv"))
TABLES = (_RESPONSES, _COUNTS, _PAIRS)

MONTHLY_TABLES = tuple(f"monthly_{table.name}" for table in TABLES)
ROLLUP_STATEMENTS = tuple(table.rollup() for table in TABLES)
"""Fill empty monthly tables from the daily ones (what migration 4 did; the bench builder)."""


async def add_to_monthly(
    connection: aiosqlite.Connection,
    totals: Sequence[tuple[Any, ...]],
    counts: Sequence[tuple[Any, ...]],
    pairs: Sequence[tuple[Any, ...]],
) -> None:
    """Add the rows just added to the daily tables to the monthly tables, in the same transaction.

    The arguments are the very rows `storage.aggregates.add_to_aggregates` upserts into
    ``daily_responses``, ``daily_counts`` and ``daily_pairs``: ``(agency, questionnaire, day,
    *keys, *signed sums)``. Rows of the same month are summed first, so a bulk import writes
    each monthly row once.
    """
    for table, rows in zip(TABLES, (totals, counts, pairs), strict=True):
        if rows:
            await connection.executemany(table.upsert(), _by_month(rows, len(table.keys)))


def _by_month(rows: Iterable[tuple[Any, ...]], keys: int) -> list[tuple[Any, ...]]:
    """Daily rows summed per (agency, questionnaire, month, *keys), in first-seen order."""
    summed: dict[tuple[Any, ...], list[int]] = {}
    for row in rows:
        agency, questionnaire, day = row[0], row[1], row[2]
        key = (agency, questionnaire, str(day)[:7], *row[3 : 3 + keys])
        values = row[3 + keys :]
        found = summed.get(key)
        if found is None:
            summed[key] = list(values)
        else:
            for i, value in enumerate(values):
                found[i] += value
    return [(*key, *values) for key, values in summed.items()]


@dataclass(frozen=True)
class Split:
    """A period as whole calendar months plus the days at its edges, disjoint and in order.

    ``months`` spans the whole months (from the first day of the first to the last day of the
    last), or is None when the period holds no whole month; ``days`` are the inclusive day
    ranges outside them: none, the head, the tail, or both (the whole period when ``months`` is
    None).
    """

    months: Period | None
    days: tuple[Period, ...]


def month_key(day: date) -> str:
    """The month a day is rolled up into, as stored: 'YYYY-MM'."""
    return day.isoformat()[:7]


def split_period(period: Period) -> Split:
    """Split ``period`` into the whole months it contains and the edge days around them."""
    start, end = period.start, period.end
    head = start.day != 1
    tail = end != _last_day(end)
    # Months counted from year 0, so "the month after" needs no date arithmetic (nor can it
    # overflow in December 9999).
    first = start.year * 12 + start.month - 1 + head
    last = end.year * 12 + end.month - 1 - tail
    if first > last:
        return Split(months=None, days=(period,))
    months = Period(_first_day(first), _last_day(_first_day(last)))
    days: list[Period] = []
    if head:
        days.append(Period(start, _last_day(start)))
    if tail:
        days.append(Period(end.replace(day=1), end))
    return Split(months=months, days=tuple(days))


def _first_day(months: int) -> date:
    return date(months // 12, months % 12 + 1, 1)


def _last_day(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])
