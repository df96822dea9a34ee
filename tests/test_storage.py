"""Storage on a real SQLite file: migrations, guarded answers, aggregates, locks and forgetting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.questionnaires import load_catalogue
from storage.database import Database
from storage.migrations import MIGRATIONS, migrate
from storage.responses import Completion, ResponseStore, UpdateKey
from survey.flow import Moved, Pick, Progress, Typed, advance, steps
from survey.tally import PairMoments, Tallies, tally

SIPAS = load_catalogue()["sipas-2023"]
NOW = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
DAY = date(2026, 10, 5)
LAST = len(steps(SIPAS)) - 1
ALICE, BOB = "a" * 64, "b" * 64


@pytest.fixture
async def database(blank_target: Path | str) -> AsyncIterator[Database]:
    db = await Database.open(blank_target)
    await migrate(db, now=NOW)
    yield db
    await db.close()


@pytest.fixture
async def store(database: Database) -> ResponseStore:
    responses = ResponseStore(database)
    await responses.sync_agencies(
        [("ubnd_xa_a", "UBND xã A", "sipas-2023"), ("so_tu_phap", "Sở Tư pháp", "sipas-2023")]
    )
    return responses


def _completion(respondent: str, now: datetime = NOW) -> Completion:
    return Completion(day=DAY, lock=f"lock-{respondent}", lock_until=now + timedelta(hours=24))


async def _step(
    store: ResponseStore,
    progress: Progress,
    value: str,
    *,
    respondent: str = ALICE,
    update: UpdateKey | None = None,
) -> Progress | None:
    moved = advance(SIPAS, progress, progress.position, Pick(value))
    assert isinstance(moved, Moved), moved
    completion = _completion(respondent) if moved.completed else None
    return await store.record(progress, moved, NOW, completion=completion, update=update)


async def _complete(
    store: ResponseStore,
    respondent: str,
    answers: Mapping[str, int | None],
    agency: str = "ubnd_xa_a",
    comment: str | None = None,
) -> Progress:
    """Answer a whole sipas-2023 survey: consent, the statements, skip or comment the rest."""
    progress: Progress | None = await store.start_response(
        respondent, "telegram", agency, "sipas-2023", NOW
    )
    assert progress is not None
    for step in steps(SIPAS):
        assert progress is not None
        if step.kind == "consent":
            value = "yes"
        elif step.criterion is not None:
            answer = answers[step.criterion.id]
            value = "na" if answer is None else str(answer)
        else:
            value = "skip"
        if step.key == "comment" and comment is not None:
            moved = advance(SIPAS, progress, progress.position, Typed(comment))
            assert isinstance(moved, Moved)
            progress = await store.record(progress, moved, NOW, completion=_completion(respondent))
        else:
            progress = await _step(store, progress, value, respondent=respondent)
    assert progress is not None
    assert progress.status == "completed"
    return progress


def _answers(seed: int) -> dict[str, int | None]:
    """A deterministic, varied answer sheet with one "not applicable"."""
    sheet: dict[str, int | None] = {}
    for index, criterion in enumerate(SIPAS.criterion_ids):
        sheet[criterion] = None if index == seed % 19 else 1 + (index * 7 + seed) % 5
    return sheet


async def _stored_tallies(database: Database) -> Tallies:
    """The daily aggregates, read back with SQL and summed over days, as `Tallies`."""
    responses = await database.fetch_value(
        "SELECT COALESCE(SUM(responses), 0) FROM daily_responses"
    )
    counts: dict[str, dict[int, int]] = {}
    for row in await database.fetch_all(
        "SELECT criterion, value, SUM(count) AS n FROM daily_counts GROUP BY criterion, value"
    ):
        if row["n"]:
            counts.setdefault(row["criterion"], {})[row["value"]] = row["n"]
    pairs = {
        (row["c1"], row["c2"]): PairMoments(row["ss"], row["sv"], row["vs"], row["vv"])
        for row in await database.fetch_all(
            "SELECT c1, c2, SUM(ss) AS ss, SUM(sv) AS sv, SUM(vs) AS vs, SUM(vv) AS vv "
            "FROM daily_pairs GROUP BY c1, c2"
        )
        if (row["ss"], row["sv"], row["vs"], row["vv"]) != (0, 0, 0, 0)
    }
    return Tallies(responses=responses, counts=counts, pairs=pairs)


async def _count(database: Database, table: str) -> int:
    value = await database.fetch_value(f"SELECT COUNT(*) FROM {table}")
    assert isinstance(value, int)
    return value


async def test_a_new_sqlite_database_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "sipas.sqlite")
    try:
        assert await database.fetch_value("PRAGMA journal_mode") == "wal"
        assert await database.fetch_value("PRAGMA foreign_keys") == 1
    finally:
        await database.close()


async def test_migrations_are_recorded_and_applied_once(database: Database) -> None:
    rows = await database.fetch_all("SELECT version, name, applied_at FROM schema_migrations")
    assert [(r["version"], r["name"]) for r in rows] == [(m.version, m.name) for m in MIGRATIONS]
    assert rows[0]["applied_at"] == NOW.isoformat()
    assert await migrate(database, now=NOW + timedelta(days=1)) == []
    assert await _count(database, "schema_migrations") == len(MIGRATIONS)


async def test_migrating_a_reopened_file_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "sipas.sqlite"
    first = await Database.open(path)
    assert [m.version for m in await migrate(first, now=NOW)] == [m.version for m in MIGRATIONS]
    await first.close()
    second = await Database.open(path)
    try:
        assert await migrate(second, now=NOW) == []
    finally:
        await second.close()


async def test_a_response_starts_at_consent(store: ResponseStore, database: Database) -> None:
    progress = await store.start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
    assert progress.position == 0
    assert progress.status == "in_progress"
    assert await store.open_response(ALICE) == progress
    assert await store.open_response(BOB) is None


async def test_starting_again_closes_the_unfinished_response(store: ResponseStore) -> None:
    first = await store.start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
    second = await store.start_response(ALICE, "telegram", "so_tu_phap", "sipas-2023", NOW)
    assert second.response_id != first.response_id
    open_now = await store.open_response(ALICE)
    assert open_now is not None
    assert open_now.response_id == second.response_id
    old = await store.owned_progress(first.response_id, ALICE)
    assert old is not None
    assert old.status == "cancelled"


async def test_an_answer_is_stored_with_the_new_position(store: ResponseStore) -> None:
    progress = await store.start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
    consented = await _step(store, progress, "yes")
    assert consented is not None
    answered = await _step(store, consented, "4")
    assert answered is not None
    assert answered.position == 2
    assert dict(answered.answers) == {"access_1": 4}
    assert await store.open_response(ALICE) == answered


async def test_the_same_step_recorded_twice_counts_once(
    store: ResponseStore, database: Database
) -> None:
    progress = await store.start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
    consented = await _step(store, progress, "yes")
    assert consented is not None
    assert await _step(store, consented, "5") is not None
    assert await _step(store, consented, "1") is None  # the same button, pressed again
    current = await store.open_response(ALICE)
    assert current is not None
    assert current.position == 2
    assert dict(current.answers) == {"access_1": 5}


async def test_a_replayed_update_is_not_processed_again(store: ResponseStore) -> None:
    progress = await store.start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
    key = UpdateKey("telegram", 1001)
    consented = await _step(store, progress, "yes", update=key)
    assert consented is not None
    assert await _step(store, consented, "3", update=key) is None
    assert await _step(store, consented, "3", update=UpdateKey("zalo", 1001)) is not None


async def test_a_completed_response_takes_no_more_answers(store: ResponseStore) -> None:
    done = await _complete(store, ALICE, _answers(0))
    moved = Moved(LAST, None, completed=False)
    reopened = Progress(done.response_id, done.agency, done.questionnaire, position=LAST + 1)
    assert await store.record(reopened, moved, NOW) is None
    assert await store.open_response(ALICE) is None


async def test_completion_adds_exactly_the_tally_of_the_stored_answers(
    store: ResponseStore, database: Database
) -> None:
    sheets = {f"{n:064x}": _answers(n) for n in range(4)}
    for respondent, sheet in sheets.items():
        await _complete(
            store, respondent, sheet, comment="Nhanh." if respondent.endswith("1") else None
        )
    stored_answers: dict[int, dict[str, int | None]] = {}
    for row in await database.fetch_all("SELECT response_id, criterion, value FROM answers"):
        value = None if row["value"] == 0 else row["value"]
        stored_answers.setdefault(row["response_id"], {})[row["criterion"]] = value
    assert sorted(stored_answers.values(), key=repr) == sorted(sheets.values(), key=repr)
    assert await _stored_tallies(database) == tally(stored_answers.values())
    day_rows = await database.fetch_all(
        "SELECT agency, questionnaire, day, responses, comments FROM daily_responses"
    )
    assert [tuple(r) for r in day_rows] == [("ubnd_xa_a", "sipas-2023", "2026-10-05", 4, 1)]


async def test_completion_locks_the_agency_for_the_respondent(store: ResponseStore) -> None:
    await _complete(store, ALICE, _answers(1))
    lock = _completion(ALICE).lock
    assert await store.locked_until(lock, "ubnd_xa_a", NOW) == NOW + timedelta(hours=24)
    assert await store.locked_until(lock, "ubnd_xa_a", NOW + timedelta(hours=25)) is None
    assert await store.locked_until(lock, "so_tu_phap", NOW) is None
    assert await store.locked_until(_completion(BOB).lock, "ubnd_xa_a", NOW) is None


async def test_forgetting_removes_the_respondent_and_their_share_of_the_index(
    store: ResponseStore, database: Database
) -> None:
    await _complete(store, BOB, _answers(5))
    bob_only = await _stored_tallies(database)
    await store.set_language(ALICE, "telegram", "en", NOW)
    await _complete(store, ALICE, _answers(2), comment="Cần thêm ghế.")
    await store.start_response(ALICE, "telegram", "so_tu_phap", "sipas-2023", NOW)
    assert await store.forget(ALICE) == 2
    assert await database.fetch_value("SELECT DISTINCT respondent FROM responses") == BOB
    for table in ("answers", "extras"):
        orphans = await database.fetch_value(
            f"SELECT COUNT(*) FROM {table} t LEFT JOIN responses r ON r.id = t.response_id "
            "WHERE r.id IS NULL"
        )
        assert orphans == 0, table
    assert await _count(database, "answers") == len(SIPAS.criteria)
    assert await store.language(ALICE) is None
    assert (
        await database.fetch_value(
            "SELECT COUNT(*) FROM respondents WHERE respondent = ?", (ALICE,)
        )
        == 0
    )
    assert await _stored_tallies(database) == bob_only
    assert await database.fetch_value("SELECT SUM(comments) FROM daily_responses") == 0
    lock = _completion(ALICE).lock
    assert await store.locked_until(lock, "ubnd_xa_a", NOW) is not None


async def test_forgetting_the_only_respondent_brings_the_aggregates_to_zero(
    store: ResponseStore, database: Database
) -> None:
    await _complete(store, ALICE, _answers(3), comment="Tốt.")
    assert await store.forget(ALICE) == 1
    assert await _stored_tallies(database) == tally([])
    for table, column in [
        ("daily_responses", "responses"),
        ("daily_responses", "comments"),
        ("daily_counts", "count"),
        ("daily_pairs", "ss"),
        ("daily_pairs", "vv"),
    ]:
        assert (
            await database.fetch_value(f"SELECT COUNT(*) FROM {table} WHERE {column} != 0") == 0
        ), f"{table}.{column}"
    for table in ("responses", "answers", "extras", "respondents"):
        assert await _count(database, table) == 0, table
    assert await store.locked_until(_completion(ALICE).lock, "ubnd_xa_a", NOW) is not None


async def test_forgetting_someone_unknown_deletes_nothing(store: ResponseStore) -> None:
    await _complete(store, BOB, _answers(4))
    assert await store.forget(ALICE) == 0
    assert await store.owned_progress(1, BOB) is not None


async def test_a_response_is_only_shown_to_its_owner(store: ResponseStore) -> None:
    progress = await store.start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
    assert await store.owned_progress(progress.response_id, ALICE) == progress
    assert await store.owned_progress(progress.response_id, BOB) is None
    assert await store.owned_progress(progress.response_id + 100, ALICE) is None


async def test_declining_leaves_no_trace(store: ResponseStore, database: Database) -> None:
    progress = await store.start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
    await store.discard(progress.response_id)
    assert await _count(database, "responses") == 0
    assert await store.open_response(ALICE) is None


async def test_the_language_choice_is_remembered(store: ResponseStore) -> None:
    assert await store.language(ALICE) is None
    await store.set_language(ALICE, "telegram", "en", NOW)
    assert await store.language(ALICE) == "en"
    await store.set_language(ALICE, "telegram", "vi", NOW)
    assert await store.language(ALICE) == "vi"
