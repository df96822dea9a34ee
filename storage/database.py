"""The database: one long-lived aiosqlite connection (the embedded default) or, given a
`postgresql://` URL, a PostgreSQL pool (storage.postgres) behind the same methods."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal

import aiosqlite

Params = Sequence[Any]


def _is_url(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class StorageError(Exception):
    """The database cannot do what was asked (locked, read-only, full, corrupt)."""


class Database:
    """A connection whose writes run one transaction at a time, committed before returning.

    This class is SQLite; `storage.postgres.PostgresDatabase` overrides every method for
    PostgreSQL, so the rest of the code types and calls one `Database`.
    """

    dialect: ClassVar[str] = "sqlite"
    location: str = ""  # what messages name: the file, or host:port/database

    def __init__(self, connection: aiosqlite.Connection) -> None:
        connection.row_factory = sqlite3.Row
        self._connection = connection
        self._write_lock = asyncio.Lock()
        self._queued = 0  # writers waiting for, or holding, the write lock
        self._batch: asyncio.Future[None] | None = None  # the open group's commit
        self._orphan: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, path: Path | str, synchronous: Literal["FULL", "NORMAL"] = "FULL"
    ) -> Database:
        """Open `path` (a SQLite file) or, for a `postgresql://` URL, connect to the server."""
        if _is_url(path):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(path))
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            pending = aiosqlite.connect(str(path), isolation_level=None)
            # aiosqlite's worker thread is not a daemon: one connection left open by a failed
            # start-up or test would keep the process from ever exiting. Nothing is lost by
            # this: an answer is only acknowledged after its commit.
            pending._thread.daemon = True
            connection = await pending
        except sqlite3.Error as error:
            raise StorageError(f"cannot open database {path}: {error}") from error
        try:
            # WAL lets readers (exports, backups) run beside the writer; FULL syncs each commit.
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute(f"PRAGMA synchronous={synchronous}")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=5000")
            async with connection.execute("PRAGMA quick_check") as cursor:
                verdict = [row[0] for row in await cursor.fetchall()]
            if verdict != ["ok"]:
                raise sqlite3.DatabaseError(f"integrity check failed: {'; '.join(verdict[:3])}")
        except sqlite3.DatabaseError as error:
            await connection.close()
            raise StorageError(f"database {path} is unusable: {error}") from error
        database = cls(connection)
        database.location = str(path)
        return database

    async def server_version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    async def close(self) -> None:
        await self._connection.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A unit of writes: atomic, and durably committed before the block returns.

        Group commit: units that queue up while another is running share one SQLite
        transaction (each inside its own savepoint, so a failing unit rolls back alone) and one
        commit, made by the last unit of the group. Every unit still returns only after that
        commit, so nothing is acknowledged before it is durable; under load, one fsync serves
        many citizens instead of one each.
        """
        self._queued += 1
        queued = True
        try:
            async with self._write_lock:
                if self._batch is None:
                    await self._connection.execute("BEGIN IMMEDIATE")
                    self._batch = asyncio.get_running_loop().create_future()
                batch = self._batch
                await self._connection.execute("SAVEPOINT unit")
                try:
                    yield self._connection
                except BaseException:
                    await self._connection.execute("ROLLBACK TO unit")
                    await self._connection.execute("RELEASE unit")
                    raise
                else:
                    await self._connection.execute("RELEASE unit")
                finally:
                    self._queued -= 1
                    queued = False
                    if self._queued == 0:  # nobody is waiting to join the group: commit it
                        await self._commit()
        finally:
            if queued:  # left the queue without running (cancelled while waiting)
                self._queued -= 1
                if self._queued == 0 and self._batch is not None:
                    # The group's other units wait for a commit nobody else will make.
                    self._orphan = asyncio.get_running_loop().create_task(self._commit_alone())
        await batch

    async def _commit(self) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return
        try:
            await self._connection.commit()
        except BaseException as error:
            await self._connection.rollback()
            failure = StorageError(f"commit failed: {error}")
            batch.set_exception(failure)
            batch.exception()  # retrieved here; every unit of the group raises it on `await`
            raise failure from error
        batch.set_result(None)

    async def _commit_alone(self) -> None:
        async with self._write_lock:
            if self._queued == 0:
                await self._commit()

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # One round trip to the connection's thread (execute + fetch + close would be three).
        return list(await self._connection.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute_script(self, script: str) -> None:
        await self._connection.executescript(script)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        await self._connection.executemany(sql, rows)


async def serialise(connection: aiosqlite.Connection, key: str) -> None:
    """Within a transaction: wait for, then hold until it ends, the lock of `key` (a person).

    SQLite has one writer at a time already. On PostgreSQL, instances write in parallel, so
    one person's units of work take a transaction-scoped advisory lock on their key.
    """
    if getattr(connection, "dialect", "sqlite") == "postgresql":
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (key,))


async def reserve_ids(connection: aiosqlite.Connection, table: str, count: int) -> list[int]:
    """Within a transaction: `count` new ids for `table` (its `id` column), for bulk inserts
    that give their ids explicitly."""
    if getattr(connection, "dialect", "sqlite") == "postgresql":
        rows = await connection.execute_fetchall(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, ?)",
            (count,),
        )
        return [int(row[0]) for row in rows]
    # The write lock and BEGIN IMMEDIATE are held, so nobody else can take these ids.
    async with connection.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}") as cursor:
        row = await cursor.fetchone()
    first = (row[0] if row else 0) + 1
    return list(range(first, first + count))
