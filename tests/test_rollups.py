"""Tests for storage.rollups and the month + edge-day queries of storage.tallies.

Responses go in through the real path (`ResponseStore` → `add_to_aggregates`), which must keep
the monthly tables; every period is checked against `survey.tally.tally` of the raw answers.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from hypothesis import given
from hypothesis import strategies as st

import storage.migrations
from storage.database import Database
from storage.migrations import MIGRATIONS, migrate
from storage.responses import ResponseStore
from storage.rollups import MONTHLY_TABLES, Split, add_to_monthly, month_key, split_period
from storage.tallies import TallyStore
from survey.period import Period, weeks_back
from survey.tally import EMPTY, Tallies, tally
from tests.test_tallies import AGENCIES, COUNTER, SIPAS, Written, open_database, random_answers

FIRST, LAST = date(2026, 11, 20), date(2027, 2, 10)  # the days the data set covers

# The periods every query is checked over: whole months, partial months at either edge, single
# days, spans across the year end, periods inside one month, and periods without data.
PERIODS = {
    "whole month": Period(date(2026, 12, 1), date(2026, 12, 31)),
    "whole months across the year end": Period(date(2026, 12, 1), date(2027, 1, 31)),
    "quarter": Period(date(2026, 10, 1), date(2026, 12, 31)),
    "partial month at the start": Period(date(2026, 11, 25), date(2026, 12, 31)),
    "partial month at the end": Period(date(2026, 12, 1), date(2027, 1, 17)),
    "partial at both edges across the year end": Period(date(2026, 11, 27), date(2027, 2, 3)),
    "one whole month between two edges": Period(date(2026, 11, 30), date(2027, 1, 1)),
    "inside one month": Period(date(2026, 12, 10), date(2026, 12, 20)),
    "from the first to mid-month": Period(date(2027, 1, 1), date(2027, 1, 20)),
    "from mid-month to the last day": Period(date(2026, 12, 15), date(2026, 12, 31)),
    "single day at the year end": Period(date(2026, 12, 31), date(2026, 12, 31)),
    "single day at the new year": Period(date(2027, 1, 1), date(2027, 1, 1)),
    "two days across the year end": Period(date(2026, 12, 31), date(2027, 1, 1)),
    "single day mid-month": Period(date(2027, 1, 14), date(2027, 1, 14)),
    "90 days ending mid-month": Period(date(2027, 2, 9) - timedelta(days=89), date(2027, 2, 9)),
    "a year": Period(date(2027, 1, 1), date(2027, 12, 31)),
    "two years": Period(date(2026, 1, 1), date(2027, 12, 31)),
    "before any data": Period(date(2025, 1, 1), date(2025, 3, 31)),
}
WIRE = "wire add_to_monthly into add_to_aggregates"


class Data(Written):
    """The raw answers written, and which respondents left a comment."""

    def __init__(self, store: ResponseStore) -> None:
        super().__init__(store)
        self.commented: set[str] = set()
        self.questionnaires: dict[str, str] = {}

    async def add_random(self, rng: random.Random, agency: str, day: date) -> None:
        questionnaire = SIPAS if agency == "so_tp" else COUNTER
        comment = "Cần thêm ghế chờ." if rng.random() < 0.3 else None
        answers = random_answers(rng, questionnaire)
        respondent = await self.add(
            agency, day, answers, questionnaire=questionnaire, comment=comment
        )
        self.questionnaires[respondent] = questionnaire.id
        if comment is not None:
            self.commented.add(respondent)

    def of(self, questionnaire: str, period: Period, agencies: Sequence[str] | None = None) -> Any:
        return [
            row
            for row in self.rows
            if self.questionnaires[row[0]] == questionnaire
            and period.start <= row[2] <= period.end
            and (agencies is None or row[1] in agencies)
        ]

    def tally(
        self, questionnaire: str, period: Period, agencies: Sequence[str] | None = None
    ) -> Tallies:
        return tally(row[3] for row in self.of(questionnaire, period, agencies))

    def comments(
        self, questionnaire: str, period: Period, agencies: Sequence[str] | None = None
    ) -> int:
        return sum(row[0] in self.commented for row in self.of(questionnaire, period, agencies))

    def forget(self, respondents: set[str]) -> None:
        self.rows = [row for row in self.rows if row[0] not in respondents]


@pytest.fixture
async def database(database_target: Path | str) -> AsyncIterator[Database]:
    database = await open_database(database_target)
    yield database
    await database.close()


@pytest.fixture
def store(database: Database) -> ResponseStore:
    return ResponseStore(database)


@pytest.fixture
def tallies(database: Database) -> TallyStore:
    return TallyStore(database)


async def _write(store: ResponseStore, responses: int = 70, seed: int = 11) -> Data:
    """Responses over FIRST..LAST, some on purpose at the year end and at month edges."""
    rng = random.Random(seed)
    data = Data(store)
    edges = [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1)]
    for i in range(responses):
        agency = ("xa_a", "xa_b", "xa_a", "so_tp")[i % 4]
        day = edges[i] if i < len(edges) else FIRST + timedelta(rng.randrange(83))
        await data.add_random(rng, agency, day)
    return data


async def _require_monthly(database: Database) -> None:
    daily = await database.fetch_value("SELECT COUNT(*) FROM daily_responses")
    monthly = await database.fetch_value("SELECT COUNT(*) FROM monthly_responses")
    if daily and not monthly:
        pytest.fail(f"{WIRE}: completed responses reached the daily tables but not the monthly")


# The monthly tables as they must be: the daily rows summed per month, a row per month with
# a daily row (zero sums included, as upserts leave them).
ROLLUPS = {
    "monthly_responses": (
        "SELECT agency, questionnaire, substr(day, 1, 7), SUM(responses), SUM(comments) "
        "FROM daily_responses GROUP BY 1, 2, 3"
    ),
    "monthly_counts": (
        "SELECT agency, questionnaire, substr(day, 1, 7), criterion, value, SUM(count) "
        "FROM daily_counts GROUP BY 1, 2, 3, 4, 5"
    ),
    "monthly_pairs": (
        "SELECT agency, questionnaire, substr(day, 1, 7), c1, c2, SUM(ss), SUM(sv), SUM(vs), "
        "SUM(vv) FROM daily_pairs GROUP BY 1, 2, 3, 4, 5"
    ),
}


async def _assert_monthly_is_the_rollup_of_daily(database: Database) -> None:
    for table, rollup in ROLLUPS.items():
        stored = sorted(tuple(row) for row in await database.fetch_all(f"SELECT * FROM {table}"))
        expected = sorted(tuple(row) for row in await database.fetch_all(rollup))
        assert stored == expected, table


async def _assert_every_query_matches(tallies: TallyStore, data: Data) -> None:
    """tallies, comments, per_agency and weekly over every period equal the raw tally."""
    for name, period in PERIODS.items():
        assert await tallies.tallies(COUNTER.id, period) == data.tally(COUNTER.id, period), name
        for scope in (["xa_a"], ["xa_b", "nobody"], []):
            got = await tallies.tallies(COUNTER.id, period, scope)
            assert got == data.tally(COUNTER.id, period, scope), (name, scope)
        assert await tallies.tallies(SIPAS.id, period) == data.tally(SIPAS.id, period), name
        for questionnaire in (COUNTER.id, SIPAS.id):
            got_comments = await tallies.comments(questionnaire, period)
            assert got_comments == data.comments(questionnaire, period), (name, questionnaire)
        assert await tallies.comments(COUNTER.id, period, ["xa_b"]) == data.comments(
            COUNTER.id, period, ["xa_b"]
        ), name
        expected = {
            agency: data.tally(COUNTER.id, period, [agency])
            for agency in ("xa_a", "xa_b")
            if data.of(COUNTER.id, period, [agency])
        }
        assert await tallies.per_agency(COUNTER.id, period) == expected, name
        assert await tallies.per_agency(COUNTER.id, period, ["xa_b", "so_tp"]) == {
            agency: found for agency, found in expected.items() if agency == "xa_b"
        }, name
        pair = [period, period.previous()]
        got_weekly = await tallies.per_period(COUNTER.id, pair)
        assert got_weekly == [data.tally(COUNTER.id, p) for p in pair], name


async def test_every_query_over_months_and_edge_days_equals_the_raw_tally(
    store: ResponseStore, database: Database, tallies: TallyStore
) -> None:
    data = await _write(store)
    await _require_monthly(database)
    await _assert_monthly_is_the_rollup_of_daily(database)
    assert data.tally(COUNTER.id, PERIODS["whole month"]).responses > 10
    await _assert_every_query_matches(tallies, data)


async def test_weekly_puts_each_row_in_its_period_across_months(
    store: ResponseStore, database: Database, tallies: TallyStore
) -> None:
    data = await _write(store)
    await _require_monthly(database)
    sunday = date(2027, 2, 7)
    cases: dict[str, list[Period]] = {
        "twelve weeks across the year end": weeks_back(Period(sunday - timedelta(6), sunday), 12),
        "months and quarters": [
            PERIODS["whole month"],
            Period(date(2027, 1, 1), date(2027, 3, 31)),
            Period(date(2026, 10, 1), date(2026, 11, 30)),
        ],
        "scattered, with gaps": [
            Period(date(2026, 11, 21), date(2026, 11, 21)),
            PERIODS["partial at both edges across the year end"],
            Period(date(2027, 2, 5), date(2027, 2, 5)),
            Period(date(2024, 1, 1), date(2024, 12, 31)),
        ],
        # more scattered periods than one query has SELECTs for: read in one span per table
        "eighty single days a month apart": [
            *(Period(day, day) for day in (FIRST - timedelta(31 * i) for i in range(79, -1, -1))),
            Period(date(2026, 12, 20), LAST),
        ],
    }
    for name, weeks in cases.items():
        got = await tallies.per_period(COUNTER.id, weeks)
        assert got == [data.tally(COUNTER.id, week) for week in weeks], name
        assert got == [await tallies.tallies(COUNTER.id, week) for week in weeks], name
        assert await tallies.per_period(COUNTER.id, weeks[::-1]) == got[::-1], name
        assert await tallies.per_period(COUNTER.id, weeks, ["xa_b"]) == [
            data.tally(COUNTER.id, week, ["xa_b"]) for week in weeks
        ], name
    assert sum(
        t.responses for t in await tallies.per_period(COUNTER.id, cases["months and quarters"])
    )


async def test_forgetting_keeps_monthly_and_daily_consistent(
    store: ResponseStore, database: Database, tallies: TallyStore
) -> None:
    data = await _write(store, responses=48, seed=5)
    await _require_monthly(database)
    forgotten = {row[0] for row in data.rows[::3]}
    for respondent in forgotten:
        assert await store.forget(respondent) == 1
    data.forget(forgotten)
    await _assert_monthly_is_the_rollup_of_daily(database)
    await _assert_every_query_matches(tallies, data)
    for respondent, *_ in data.rows:
        await store.forget(respondent)
    data.forget({row[0] for row in data.rows})
    await _assert_monthly_is_the_rollup_of_daily(database)
    for table, columns in (
        ("monthly_responses", ("responses", "comments")),
        ("monthly_counts", ("count",)),
        ("monthly_pairs", ("ss", "sv", "vs", "vv")),
    ):
        nonzero = " OR ".join(f"{column} != 0" for column in columns)
        assert await database.fetch_value(f"SELECT COUNT(*) FROM {table} WHERE {nonzero}") == 0
    for period in PERIODS.values():
        assert await tallies.tallies(COUNTER.id, period) == EMPTY
        assert await tallies.per_agency(COUNTER.id, period) == {}
        assert await tallies.comments(COUNTER.id, period) == 0


async def test_whole_months_come_from_the_monthly_rows_and_edge_days_from_the_daily(
    store: ResponseStore, database: Database, tallies: TallyStore
) -> None:
    data = await _write(store)
    await _require_monthly(database)
    both_edges = PERIODS["partial at both edges across the year end"]  # Nov 27 .. Feb 3
    before = await tallies.tallies(COUNTER.id, both_edges)
    assert before == data.tally(COUNTER.id, both_edges)
    async with database.transaction() as connection:
        # Neither the monthly rows of the edge months nor the daily rows of the whole months
        # are read: removing them changes nothing.
        for table in MONTHLY_TABLES:
            await connection.execute(f"DELETE FROM {table} WHERE month IN ('2026-11', '2027-02')")
        for table in ("daily_responses", "daily_counts", "daily_pairs"):
            await connection.execute(
                f"DELETE FROM {table} WHERE day BETWEEN '2026-12-01' AND '2027-01-31'"
            )
    assert await tallies.tallies(COUNTER.id, both_edges) == before
    assert await tallies.comments(COUNTER.id, both_edges) == data.comments(COUNTER.id, both_edges)


async def test_migration_4_backfills_the_monthly_tables_from_the_daily_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = await Database.open(tmp_path / "old.sqlite")
    try:
        monkeypatch.setattr(storage.migrations, "MIGRATIONS", MIGRATIONS[:3])
        assert [m.version for m in await migrate(database)] == [1, 2, 3]
        monkeypatch.undo()
        await ResponseStore(database).sync_agencies(AGENCIES)
        rng = random.Random(4)
        raw: list[tuple[str, date, dict[str, int | None]]] = []
        daily: list[list[tuple[Any, ...]]] = [[], [], []]
        for offset in range(0, 120, 3):
            day = date(2026, 10, 15) + timedelta(offset)
            for agency in ("xa_a", "xa_b"):
                answers = [random_answers(rng, COUNTER) for _ in range(rng.randrange(1, 4))]
                raw += [(agency, day, a) for a in answers]
                part, key = tally(answers), (agency, COUNTER.id, day.isoformat())
                daily[0].append((*key, part.responses, rng.randrange(part.responses + 1)))
                for criterion, by_value in part.counts.items():
                    daily[1] += [(*key, criterion, v, n) for v, n in by_value.items()]
                for (c1, c2), m in part.pairs.items():
                    daily[2].append((*key, c1, c2, m.ss, m.sv, m.vs, m.vv))
        # A day whose only response was forgotten: rows that sum to zero.
        gone = ("xa_a", COUNTER.id, "2026-12-31")
        daily[0].append((*gone, 0, 0))
        daily[1].append((*gone, COUNTER.criterion_ids[0], 3, 0))
        async with database.transaction() as connection:
            for table, rows in zip(("responses", "counts", "pairs"), daily, strict=True):
                marks = ", ".join("?" * len(rows[0]))
                await connection.executemany(f"INSERT INTO daily_{table} VALUES ({marks})", rows)
        applied = await migrate(database)
        assert next(m.version for m in applied) == 4  # and any later migration
        await _assert_monthly_is_the_rollup_of_daily(database)
        months = await database.fetch_all(
            "SELECT month, SUM(responses) AS n FROM monthly_responses GROUP BY month"
        )
        expected_months: dict[str, int] = {}
        for _, day, _ in raw:
            expected_months[month_key(day)] = expected_months.get(month_key(day), 0) + 1
        assert {row["month"]: row["n"] for row in months} == expected_months
        assert len(expected_months) == 5  # October 2026 to February 2027
        tallies = TallyStore(database)
        for name, period in PERIODS.items():
            expected = tally(a for agency, day, a in raw if period.start <= day <= period.end)
            assert await tallies.tallies(COUNTER.id, period) == expected, name
            assert await tallies.per_agency(COUNTER.id, period) == {
                agency: tally(
                    a for ag, day, a in raw if ag == agency and period.start <= day <= period.end
                )
                for agency in ("xa_a", "xa_b")
                if any(ag == agency and period.start <= day <= period.end for ag, day, _ in raw)
            }, name
        assert await migrate(database) == []
        # After the migration, new responses keep both in step through the real path.
        data = Data(ResponseStore(database))
        await data.add_random(rng, "xa_b", date(2026, 12, 31))
        await _require_monthly(database)
        await _assert_monthly_is_the_rollup_of_daily(database)
    finally:
        await database.close()


async def test_add_to_monthly_sums_the_daily_rows_per_month(database: Database) -> None:
    totals = [
        ("xa_a", COUNTER.id, "2026-12-30", 2, 1),
        ("xa_a", COUNTER.id, "2026-12-31", 1, 0),
        ("xa_a", COUNTER.id, "2027-01-01", 3, 2),
        ("xa_b", COUNTER.id, "2026-12-31", 1, 1),
    ]
    counts = [
        ("xa_a", COUNTER.id, "2026-12-30", "access_1", 4, 2),
        ("xa_a", COUNTER.id, "2026-12-31", "access_1", 4, 1),
        ("xa_a", COUNTER.id, "2026-12-31", "access_1", 0, 1),
    ]
    pairs = [
        ("xa_a", COUNTER.id, "2026-12-30", "a", "b", 1, 2, 1, 2),
        ("xa_a", COUNTER.id, "2026-12-31", "a", "b", 0, 1, 0, 1),
    ]

    async def stored() -> list[tuple[Any, ...]]:
        return [
            tuple(row)
            for table in MONTHLY_TABLES
            for row in await database.fetch_all(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5")
        ]

    async with database.transaction() as connection:
        await add_to_monthly(connection, totals, counts, pairs)
        await add_to_monthly(connection, totals[:1], [], [])
    assert await stored() == [
        ("xa_a", COUNTER.id, "2026-12", 5, 2),
        ("xa_a", COUNTER.id, "2027-01", 3, 2),
        ("xa_b", COUNTER.id, "2026-12", 1, 1),
        ("xa_a", COUNTER.id, "2026-12", "access_1", 0, 1),
        ("xa_a", COUNTER.id, "2026-12", "access_1", 4, 3),
        ("xa_a", COUNTER.id, "2026-12", "a", "b", 1, 3, 1, 3),
    ]
    negated = [(*row[:3], *(-v for v in row[3:])) for row in totals]
    async with database.transaction() as connection:
        await add_to_monthly(connection, negated, [], [])
    assert (await stored())[:3] == [
        ("xa_a", COUNTER.id, "2026-12", 2, 1),
        ("xa_a", COUNTER.id, "2027-01", 0, 0),
        ("xa_b", COUNTER.id, "2026-12", 0, 0),
    ]


async def test_queries_search_the_primary_keys_of_monthly_and_daily_tables(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sipas.sqlite"
    database = await open_database(path)
    await _write(ResponseStore(database), responses=12)
    await database.close()
    connection = await aiosqlite.connect(str(path), isolation_level=None)
    statements: list[str] = []
    await connection.set_trace_callback(statements.append)
    traced = TallyStore(Database(connection))
    quarter = Period(date(2026, 10, 1), date(2026, 12, 31))
    both_edges = PERIODS["partial at both edges across the year end"]
    sunday = date(2027, 2, 7)
    try:
        calls = 0
        for period in (quarter, both_edges, PERIODS["single day at the new year"]):
            for scope in (None, ["xa_a", "xa_b"]):
                await traced.tallies(COUNTER.id, period, scope)
                await traced.per_agency(COUNTER.id, period, scope)
                await traced.comments(COUNTER.id, period, scope)
                calls += 3 + 3 + 1
        await traced.per_period(COUNTER.id, [quarter, quarter.previous()])
        await traced.per_period(COUNTER.id, weeks_back(Period(sunday - timedelta(6), sunday), 8))
        await traced.per_period(
            COUNTER.id, [both_edges, Period(date(2025, 1, 1), date(2025, 6, 9))]
        )
        calls += 3 + 3 + 3
    finally:
        await connection.close()
    queries = [s for s in statements if "FROM monthly_" in s]
    assert len(queries) == calls
    assert all("FROM daily_" in s for s in queries)
    with sqlite3.connect(path) as plain:
        for sql in queries:
            plan = " | ".join(row[3] for row in plain.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for kind, column in (("monthly", "month"), ("daily", "day")):
                search = f"USING PRIMARY KEY (agency=? AND questionnaire=? AND {column}>? AND "
                assert search in plan, (kind, plan)
                assert f"SCAN {kind}_" not in plan, plan


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-10-01", "2026-12-31", Split(Period(date(2026, 10, 1), date(2026, 12, 31)), ())),
        (
            "2024-12-31",
            "2025-03-31",
            Split(
                Period(date(2025, 1, 1), date(2025, 3, 31)),
                (Period(date(2024, 12, 31), date(2024, 12, 31)),),
            ),
        ),
        (
            "2024-01-31",
            "2024-03-01",
            Split(
                Period(date(2024, 2, 1), date(2024, 2, 29)),
                (
                    Period(date(2024, 1, 31), date(2024, 1, 31)),
                    Period(date(2024, 3, 1), date(2024, 3, 1)),
                ),
            ),
        ),
        ("2026-10-05", "2026-10-05", None),
        ("2026-10-01", "2026-10-30", None),
        ("2026-10-02", "2026-10-31", None),
        ("2026-12-31", "2027-01-01", None),
        ("2026-11-15", "2026-12-14", None),
        ("9999-12-01", "9999-12-31", Split(Period(date(9999, 12, 1), date(9999, 12, 31)), ())),
        ("0001-01-01", "0001-01-31", Split(Period(date(1, 1, 1), date(1, 1, 31)), ())),
    ],
)
def test_split_period_examples(start: str, end: str, expected: Split | None) -> None:
    period = Period(date.fromisoformat(start), date.fromisoformat(end))
    # None: no whole month, so the whole period is read from the daily rows.
    assert split_period(period) == (expected or Split(None, (period,)))


@given(
    start=st.dates(min_value=date(1999, 1, 1), max_value=date(2031, 12, 31)),
    length=st.integers(min_value=1, max_value=800),
)
def test_split_period_covers_each_day_once(start: date, length: int) -> None:
    period = Period(start, start + timedelta(days=length - 1))
    split = split_period(period)
    pieces = list(split.days)
    if split.months is None:
        assert split.days == (period,)
        assert not any(
            day.day == 1 and (day + timedelta(31)).replace(day=1) - timedelta(1) <= period.end
            for day in _days(period)
        ), "a whole month was left to the daily rows"
    else:
        months = split.months
        assert months.start.day == 1
        assert (months.end + timedelta(1)).day == 1
        assert month_key(months.start) <= month_key(months.end)
        pieces.append(months)
        for edge in split.days:  # each edge lies in one month, at the period's head or tail
            assert month_key(edge.start) == month_key(edge.end)
            assert edge.start == period.start or edge.end == period.end
    covered = [day for piece in pieces for day in _days(piece)]
    assert sorted(covered) == list(_days(period))


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(i) for i in range(period.days)]
