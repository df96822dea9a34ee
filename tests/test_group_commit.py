"""Group commit: concurrent writes share a commit, fail alone, and are durable on return."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.database import Database


@pytest.fixture
async def database(tmp_path: Path):
    db = await Database.open(tmp_path / "t.sqlite")
    async with db.transaction() as connection:
        await connection.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    yield db
    await db.close()


def rows_seen_by_another_process(path: Path) -> list[int]:
    with sqlite3.connect(path) as other:
        return [k for (k,) in other.execute("SELECT k FROM t ORDER BY k")]


async def test_a_write_is_committed_before_the_block_returns(database, tmp_path) -> None:
    async with database.transaction() as connection:
        await connection.execute("INSERT INTO t VALUES (1, 'a')")
    assert rows_seen_by_another_process(tmp_path / "t.sqlite") == [1]


async def test_concurrent_writes_share_commits_and_all_land(database, tmp_path) -> None:
    commits: list[str] = []
    await database._connection.set_trace_callback(
        lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None
    )

    async def write(key: int) -> None:
        async with database.transaction() as connection:
            await connection.execute("INSERT INTO t VALUES (?, 'x')", (key,))

    await asyncio.gather(*(write(key) for key in range(200)))
    assert rows_seen_by_another_process(tmp_path / "t.sqlite") == list(range(200))
    assert 1 <= len(commits) < 200


async def test_a_failing_write_rolls_back_alone(database, tmp_path) -> None:
    async def write(key: int) -> None:
        async with database.transaction() as connection:
            await connection.execute("INSERT INTO t VALUES (?, 'x')", (key,))
            if key == 5:
                await connection.execute("INSERT INTO t VALUES (?, 'again')", (key,))

    results = await asyncio.gather(*(write(key) for key in range(10)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1
    assert isinstance(failures[0], sqlite3.IntegrityError)
    assert rows_seen_by_another_process(tmp_path / "t.sqlite") == [0, 1, 2, 3, 4, 6, 7, 8, 9]


async def test_a_write_cancelled_in_the_queue_does_not_strand_its_group(
    database, tmp_path
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with database.transaction() as connection:
            await connection.execute("INSERT INTO t VALUES (1, 'a')")
            started.set()
            await release.wait()

    async def second() -> None:
        async with database.transaction() as connection:
            await connection.execute("INSERT INTO t VALUES (2, 'b')")

    a = asyncio.create_task(first())
    await started.wait()
    b = asyncio.create_task(second())
    await asyncio.sleep(0)  # the second write queues behind the first
    release.set()
    # Cancel the second write in the moment the first has finished its unit and handed over
    # the lock: the group's commit is then up to the write that is leaving.
    while database._write_lock.locked() or database._batch is None:
        await asyncio.sleep(0)
    b.cancel()
    await asyncio.wait_for(a, timeout=5)
    assert b.cancelled()
    assert database._orphan is not None  # the cancelled write's leaving committed the group
    assert rows_seen_by_another_process(tmp_path / "t.sqlite") == [1]
