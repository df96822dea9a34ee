"""One long-lived aiosqlite connection: pragmas, serialised write transactions, small readers."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import aiosqlite

Params = Sequence[Any]


class StorageError(Exception):
    """The database cannot do what was asked (locked, read-only, full, corrupt)."""


class Database:
    """A connection whose writes run one transaction at a time, committed before returning."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(
        cls, path: Path | str, synchronous: Literal["FULL", "NORMAL"] = "FULL"
    ) -> Database:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as error:
            raise StorageError(f"cannot open database {path}: {error}") from error
        try:
            # WAL lets readers (exports, backups) run beside the writer; FULL syncs each commit.
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute(f"PRAGMA synchronous={synchronous}")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=5000")
            await connection.execute("PRAGMA quick_check")
        except sqlite3.DatabaseError as error:
            await connection.close()
            raise StorageError(f"database {path} is unusable: {error}") from error
        return cls(connection)

    async def close(self) -> None:
        await self._connection.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction; committed (durably) when the block ends, rolled back on error."""
        async with self._write_lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                await self._connection.rollback()
                raise
            await self._connection.commit()

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._connection.execute(sql, params) as cursor:
            cursor.row_factory = sqlite3.Row
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        async with self._connection.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    async def execute_script(self, script: str) -> None:
        await self._connection.executescript(script)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        await self._connection.executemany(sql, rows)
