"""Two bot instances on one database: one person's steps never interleave, a redelivered update
counts once, a scheduled job runs once per period, a migration is applied once.

Each "instance" is its own `Database` (its own SQLite connection, or its own PostgreSQL pool)
on the same database, driven concurrently; every test runs on both engines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from bot.questionnaires import load_catalogue
from storage.claims import claim, claimed_by, forget_claims, lease, release
from storage.database import Database
from storage.health import health, latest_version
from storage.migrations import MIGRATIONS, migrate
from storage.responses import ResponseStore, UpdateKey
from survey.flow import AGREE, Moved, Pick, Progress, advance
from tests.postgres_support import PostgresServer

SIPAS = load_catalogue()["sipas-2023"]
NOW = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
ALICE = "a" * 64


@pytest.fixture
async def instances(database_target: Path | str) -> AsyncIterator[tuple[Database, Database]]:
    first = await Database.open(database_target)
    await migrate(first)
    second = await Database.open(database_target)
    await ResponseStore(first).sync_agencies([("ubnd_xa_a", "UBND xã A", "sipas-2023")])
    yield first, second
    await first.close()
    await second.close()


async def _consented(store: ResponseStore) -> tuple[Progress, Moved]:
    begun = await store.start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
    moved = advance(SIPAS, begun, 0, Pick(AGREE))
    assert isinstance(moved, Moved)
    consented = await store.record(begun, moved, NOW)
    assert consented is not None
    answer = advance(SIPAS, consented, consented.position, Pick("4"))
    assert isinstance(answer, Moved)
    return consented, answer


async def test_one_step_pressed_on_two_instances_at_once_is_stored_once(
    instances: tuple[Database, Database],
) -> None:
    first, second = ResponseStore(instances[0]), ResponseStore(instances[1])
    progress, moved = await _consented(first)
    results = await asyncio.gather(
        *(
            store.record(progress, moved, NOW, update=UpdateKey("telegram", 100 + i))
            for i, store in enumerate([first, second] * 3)
        )
    )
    assert sum(result is not None for result in results) == 1
    assert await instances[1].fetch_value("SELECT COUNT(*) FROM answers") == 1
    stored = await second.open_response(ALICE)
    assert stored is not None
    assert stored.position == moved.position


async def test_a_redelivered_update_counts_once_across_instances(
    instances: tuple[Database, Database],
) -> None:
    first, second = ResponseStore(instances[0]), ResponseStore(instances[1])
    progress, moved = await _consented(first)
    key = UpdateKey("telegram", 2_000_000_001)  # beyond 32 bits' half: ids grow
    results = await asyncio.gather(
        first.record(progress, moved, NOW, update=key),
        second.record(progress, moved, NOW, update=key),
    )
    assert sum(result is not None for result in results) == 1
    assert await first.was_processed(key)
    assert await second.was_processed(key)
    assert not await second.was_processed(UpdateKey("telegram", 2_000_000_002))
    # A Zalo id that looks like a number stays distinct from the number (text ids prefixed).
    await second.mark_processed(UpdateKey("zalo", "12e3"), NOW)
    assert await first.was_processed(UpdateKey("zalo", "12e3"))
    assert not await first.was_processed(UpdateKey("zalo", "12000"))


async def test_one_person_starting_on_two_instances_at_once_has_one_open_response(
    instances: tuple[Database, Database],
) -> None:
    stores = [ResponseStore(instances[0]), ResponseStore(instances[1])]
    await asyncio.gather(
        *(
            stores[i % 2].start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
            for i in range(8)
        )
    )
    open_ones = await instances[0].fetch_value(
        "SELECT COUNT(*) FROM responses WHERE respondent = ? AND status = 'in_progress'",
        (ALICE,),
    )
    assert open_ones == 1
    assert await instances[0].fetch_value("SELECT COUNT(*) FROM responses") == 8


async def test_a_job_is_claimed_by_one_instance_per_period(
    instances: tuple[Database, Database],
) -> None:
    first, second = instances
    won = await asyncio.gather(
        *(
            claim(db, "housekeeping", "2026-10-05T06", name, NOW)
            for db, name in [(first, "one"), (second, "two")] * 3
        )
    )
    assert sorted(won) == [False] * 5 + [True]
    assert await claimed_by(second, "housekeeping", "2026-10-05T06") in ("one", "two")
    assert await claim(second, "housekeeping", "2026-10-05T12", "two", NOW)
    assert await forget_claims(first, NOW + timedelta(seconds=1)) == 2
    assert await claimed_by(first, "housekeeping", "2026-10-05T06") is None


async def test_a_lease_is_exclusive_until_released_or_expired(
    instances: tuple[Database, Database],
) -> None:
    first, second = instances
    length = timedelta(minutes=15)
    won = await asyncio.gather(
        lease(first, "digest:telegram:1", "2026-09-28", NOW, length, "one"),
        lease(second, "digest:telegram:1", "2026-09-28", NOW, length, "two"),
    )
    assert sorted(won) == [False, True]
    later = NOW + timedelta(minutes=5)
    assert not await lease(second, "digest:telegram:1", "2026-09-28", later, length, "two")
    await release(first, "digest:telegram:1", "2026-09-28")
    assert await lease(second, "digest:telegram:1", "2026-09-28", later, length, "two")
    # Its holder died: after the lease's length another instance takes it over.
    expired = later + length + timedelta(seconds=1)
    assert await lease(first, "digest:telegram:1", "2026-09-28", expired, length, "one")
    assert await claimed_by(second, "digest:telegram:1", "2026-09-28") == "one"


async def test_instances_starting_together_apply_each_migration_once(
    blank_target: Path | str,
) -> None:
    databases = [await Database.open(blank_target) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(migrate(db) for db in databases))
        recorded = await databases[0].fetch_all("SELECT version FROM schema_migrations")
        state = await health(databases[1])
    finally:
        for db in databases:
            await db.close()
    versions = sorted(m.version for batch in applied for m in batch)
    assert versions == sorted(m.version for m in MIGRATIONS)
    assert sorted(row[0] for row in recorded) == versions
    assert state.reachable
    assert state.migrations_current
    assert latest_version() == max(versions)


async def test_health_says_what_is_pending_and_when_the_database_is_gone(
    blank_target: Path | str,
) -> None:
    database = await Database.open(blank_target)
    try:
        before = await health(database)
        await migrate(database)
        after = await health(database)
    finally:
        await database.close()
    assert before.reachable
    assert not before.migrations_current
    assert before.pending == tuple(m.version for m in MIGRATIONS)
    assert after.ok
    gone = await health(database)  # closed: as if the server or the file went away
    assert not gone.reachable
    assert not gone.ok


async def test_a_lost_connection_fails_its_unit_whole_and_the_pool_reconnects(
    postgres_server: PostgresServer,
) -> None:
    """The server drops the bot's connections (a restart, a failover): the unit of work in
    flight fails and stores nothing; the next one runs on a new connection by itself."""
    url = postgres_server.fresh_database()
    database = await Database.open(url)
    store = ResponseStore(database)
    try:
        await store.sync_agencies([("ubnd_xa_a", "UBND xã A", "sipas-2023")])
        with pytest.raises(psycopg.OperationalError):
            await _unit_cut_off(database, url)
        _drop_connections(url)  # the idle ones too
        begun = await store.start_response(ALICE, "telegram", "ubnd_xa_a", "sipas-2023", NOW)
        assert begun.position == 0
        assert await database.fetch_value("SELECT COUNT(*) FROM respondents") == 0
    finally:
        await database.close()


async def _unit_cut_off(database: Database, url: str) -> None:
    async with database.transaction() as connection:
        await connection.execute(
            "INSERT INTO respondents (respondent, channel, language, created_at) "
            "VALUES ('half', 'telegram', 'vi', ?)",
            (NOW.isoformat(),),
        )
        _drop_connections(url)
        await connection.execute("SELECT 1")


def _drop_connections(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
