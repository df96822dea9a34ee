"""Tests for storage.tallies: stored daily aggregates add up to the tally of the raw answers."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.questionnaires import load_catalogue
from storage.database import Database
from storage.migrations import migrate
from storage.responses import Completion, ResponseStore
from storage.tallies import TallyStore
from survey.flow import AGREE, NOT_APPLICABLE, SKIP, Action, Moved, Pick, Typed, advance, steps
from survey.models import Questionnaire
from survey.period import Period
from survey.tally import EMPTY, tally

CATALOGUE = load_catalogue()
COUNTER = CATALOGUE["counter-5"]
SIPAS = CATALOGUE["sipas-2023"]
AGENCIES = (
    ("xa_a", "UBND xã A", COUNTER.id),
    ("xa_b", "UBND xã B", COUNTER.id),
    ("so_tp", "Sở Tư pháp", SIPAS.id),
)
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))

Answers = Mapping[str, int | None]


async def complete_response(
    store: ResponseStore,
    questionnaire: Questionnaire,
    *,
    respondent: str,
    agency: str,
    day: date,
    answers: Answers,
    comment: str | None = None,
) -> None:
    """Take one citizen through the whole flow, storing each step as the bot does."""
    now = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)
    progress = await store.start_response(respondent, "test", agency, questionnaire.id, now)
    for step in steps(questionnaire):
        action: Action
        if step.kind == "consent":
            action = Pick(AGREE)
        elif step.kind == "scale":
            value = answers[step.key]
            action = Pick(NOT_APPLICABLE if value is None else str(value))
        elif step.kind == "text" and comment is not None:
            action = Typed(comment)
        else:
            action = Pick(SKIP)
        moved = advance(questionnaire, progress, progress.position, action)
        assert isinstance(moved, Moved), (step, moved)
        completion = Completion(day, lock=respondent, lock_until=now) if moved.completed else None
        stored = await store.record(progress, moved, now, completion=completion)
        assert stored is not None
        progress = stored
    assert progress.status == "completed"


def random_answers(rng: random.Random, questionnaire: Questionnaire) -> dict[str, int | None]:
    values: list[int | None] = [None, 1, 2, 3, 4, 4, 5, 5]
    return {criterion: rng.choice(values) for criterion in questionnaire.criterion_ids}


async def open_database(path: Path | str) -> Database:
    database = await Database.open(path)
    await migrate(database)
    await ResponseStore(database).sync_agencies(AGENCIES)
    return database


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


class Written:
    """The raw answers written so far, to compare the stored tallies against."""

    def __init__(self, store: ResponseStore) -> None:
        self.store = store
        self.rows: list[tuple[str, str, date, Answers]] = []

    async def add(
        self,
        agency: str,
        day: date,
        answers: Answers,
        *,
        questionnaire: Questionnaire = COUNTER,
        comment: str | None = None,
    ) -> str:
        respondent = f"r{len(self.rows)}"
        await complete_response(
            self.store,
            questionnaire,
            respondent=respondent,
            agency=agency,
            day=day,
            answers=answers,
            comment=comment,
        )
        self.rows.append((respondent, agency, day, answers))
        return respondent

    def answers(self, period: Period, agencies: Sequence[str] | None = None) -> list[Answers]:
        return [
            answers
            for _, agency, day, answers in self.rows
            if period.start <= day <= period.end and (agencies is None or agency in agencies)
        ]


async def _random_month(store: ResponseStore, seed: int = 7) -> Written:
    rng = random.Random(seed)
    written = Written(store)
    for i in range(40):
        agency = ("xa_a", "xa_b")[i % 2]
        day = date(2026, 9, 25) + timedelta(days=rng.randrange(45))
        await written.add(agency, day, random_answers(rng, COUNTER))
    return written


async def test_tallies_over_a_period_equal_the_tally_of_the_raw_answers(
    store: ResponseStore, tallies: TallyStore
) -> None:
    written = await _random_month(store)
    expected = tally(written.answers(OCTOBER))
    assert expected.responses > 10
    assert await tallies.tallies(COUNTER.id, OCTOBER) == expected
    for agency in ("xa_a", "xa_b"):
        got = await tallies.tallies(COUNTER.id, OCTOBER, [agency])
        assert got == tally(written.answers(OCTOBER, [agency]))


async def test_period_boundaries_are_inclusive(store: ResponseStore, tallies: TallyStore) -> None:
    written = Written(store)
    days = [date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1)]
    for day, value in zip(days, (1, 2, 4, 5), strict=True):
        await written.add("xa_a", day, dict.fromkeys(COUNTER.criterion_ids, value))
    got = await tallies.tallies(COUNTER.id, OCTOBER)
    assert got.responses == 2
    assert got.counts["access_1"] == {2: 1, 4: 1}
    assert got == tally(written.answers(OCTOBER))
    one_day = await tallies.tallies(COUNTER.id, Period(date(2026, 10, 31), date(2026, 10, 31)))
    assert one_day.counts["access_1"] == {4: 1}


async def test_agency_filters_select_the_agencies_asked_for(
    store: ResponseStore, tallies: TallyStore
) -> None:
    written = await _random_month(store)
    both = await tallies.tallies(COUNTER.id, OCTOBER, ["xa_a", "xa_b", "xa_a"])
    assert both == await tallies.tallies(COUNTER.id, OCTOBER)
    assert both == tally(written.answers(OCTOBER))
    assert await tallies.tallies(COUNTER.id, OCTOBER, []) == EMPTY
    assert await tallies.tallies(COUNTER.id, OCTOBER, ["nobody"]) == EMPTY


async def test_only_responses_to_the_questionnaire_asked_for_count(
    store: ResponseStore, tallies: TallyStore
) -> None:
    rng = random.Random(3)
    written = Written(store)
    day = date(2026, 10, 10)
    await written.add("xa_a", day, random_answers(rng, COUNTER))
    sipas = [random_answers(rng, SIPAS) for _ in range(3)]
    for answers in sipas:
        await written.add("so_tp", day, answers, questionnaire=SIPAS)
    assert await tallies.tallies(SIPAS.id, OCTOBER) == tally(sipas)
    assert (await tallies.tallies(COUNTER.id, OCTOBER)).responses == 1
    assert await tallies.tallies(SIPAS.id, OCTOBER, ["xa_a"]) == EMPTY


async def test_weekly_matches_the_tallies_of_each_week(
    store: ResponseStore, tallies: TallyStore
) -> None:
    written = await _random_month(store)
    weeks = [
        Period(date(2026, 9, 28) + timedelta(weeks=i), date(2026, 10, 4) + timedelta(weeks=i))
        for i in range(4)
    ]
    weeks.append(Period(date(2027, 1, 4), date(2027, 1, 10)))  # after a gap, and empty
    got = await tallies.per_period(COUNTER.id, weeks)
    assert got == [await tallies.tallies(COUNTER.id, week) for week in weeks]
    assert got == [tally(written.answers(week)) for week in weeks]
    assert got[-1] == EMPTY
    assert sum(week.responses for week in got) > 10
    # Any order: each result belongs to the period in the same position.
    assert await tallies.per_period(COUNTER.id, weeks[::-1]) == got[::-1]
    assert await tallies.per_period(COUNTER.id, []) == []


async def test_per_period_refuses_overlapping_periods(tallies: TallyStore) -> None:
    with pytest.raises(ValueError, match="overlap"):
        await tallies.per_period(
            COUNTER.id, [OCTOBER, Period(date(2026, 10, 31), date(2026, 11, 6))]
        )


async def test_per_agency_splits_the_tallies_by_agency(
    store: ResponseStore, tallies: TallyStore
) -> None:
    written = await _random_month(store)
    got = await tallies.per_agency(COUNTER.id, OCTOBER)
    assert got == {a: tally(written.answers(OCTOBER, [a])) for a in ("xa_a", "xa_b")}
    assert await tallies.per_agency(COUNTER.id, OCTOBER, ["xa_b"]) == {"xa_b": got["xa_b"]}


async def test_comments_count_the_responses_with_a_comment(
    store: ResponseStore, tallies: TallyStore
) -> None:
    written = Written(store)
    answers = dict.fromkeys(COUNTER.criterion_ids, 4)
    await written.add("xa_a", date(2026, 10, 2), answers, comment="Cần thêm ghế chờ.")
    await written.add("xa_a", date(2026, 10, 3), answers)
    await written.add("xa_b", date(2026, 10, 3), answers, comment="Rất tốt")
    await written.add("xa_b", date(2026, 11, 3), answers, comment="Tháng sau")
    assert await tallies.comments(COUNTER.id, OCTOBER) == 2
    assert await tallies.comments(COUNTER.id, OCTOBER, ["xa_a"]) == 1
    assert await tallies.comments(SIPAS.id, OCTOBER) == 0


async def test_forgotten_responses_disappear_from_the_tallies(
    store: ResponseStore, tallies: TallyStore
) -> None:
    written = await _random_month(store)
    forgotten = {respondent for respondent, *_ in written.rows[::3]}
    for respondent in forgotten:
        assert await store.forget(respondent) == 1
    written.rows = [row for row in written.rows if row[0] not in forgotten]
    assert await tallies.tallies(COUNTER.id, OCTOBER) == tally(written.answers(OCTOBER))
    for respondent, *_ in written.rows:
        await store.forget(respondent)
    assert await tallies.tallies(COUNTER.id, OCTOBER) == EMPTY
    assert await tallies.per_agency(COUNTER.id, OCTOBER) == {}


async def test_queries_search_the_primary_keys_even_for_all_agencies(tmp_path: Path) -> None:
    path = tmp_path / "sipas.sqlite"
    database = await open_database(path)
    await _random_month(ResponseStore(database))
    await database.close()
    connection = await aiosqlite.connect(str(path), isolation_level=None)
    statements: list[str] = []
    await connection.set_trace_callback(statements.append)
    traced = TallyStore(Database(connection))
    try:
        await traced.tallies(COUNTER.id, OCTOBER)
        await traced.tallies(COUNTER.id, OCTOBER, ["xa_a", "xa_b"])
        await traced.per_period(COUNTER.id, [OCTOBER.previous(), OCTOBER])
        await traced.per_agency(COUNTER.id, OCTOBER)
        await traced.comments(COUNTER.id, OCTOBER)
    finally:
        await connection.close()
    queries = [s for s in statements if "FROM daily_" in s]
    assert len(queries) == 3 + 3 + 3 + 3 + 1
    with sqlite3.connect(path) as plain:
        for sql in queries:
            plan = " | ".join(row[3] for row in plain.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert "USING PRIMARY KEY (agency=? AND questionnaire=? AND day>? AND day<?)" in plan
            assert "SCAN daily_" not in plan, plan
