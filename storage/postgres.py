"""PostgreSQL behind the same `Database` surface: a psycopg 3 pool, one transaction per unit.

The stores write one SQL text for both engines, with `?` placeholders, and use what an
aiosqlite connection offers inside a transaction (`execute` as an awaitable or an async context
manager, `executemany`, `execute_fetchall`, cursors with `rowcount`, `fetchone`, `fetchall`).
This module gives exactly that surface over psycopg: `?` becomes `%s` (a literal `%` doubles),
rows index by position and by name like `sqlite3.Row`, and errors surface as psycopg's own
(the caller's error path treats them like SQLite's). psycopg is imported only when a
`postgresql://` URL is configured, so the embedded SQLite default needs nothing of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import aiosqlite

from storage.database import Database, Params, StorageError

if TYPE_CHECKING:
    from psycopg import AsyncConnection, AsyncCursor
    from psycopg_pool import AsyncConnectionPool

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def describe_url(url: str) -> str:
    """host:port/database of a URL, never its password (for messages and logs)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{host}:{parts.port or 5432}{parts.path or '/'}"


@lru_cache(maxsize=1024)
def placeholders(sql: str) -> str:
    """`?` → `%s` outside quoted text; a literal `%` → `%%` (psycopg's escape)."""
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
            out.append("%%" if char == "%" else char)
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


class Row(tuple[Any, ...]):
    """A result row readable as a tuple and by column name, like `sqlite3.Row`."""

    _names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: AsyncCursor[Any]) -> Any:
    names = {column.name: index for index, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> Row:
        row = Row(values)
        row._names = names
        return row

    return make


class _Cursor:
    """What the stores read from an aiosqlite cursor: rowcount, fetchone, fetchall."""

    lastrowid = None  # PostgreSQL has none: the stores use RETURNING

    def __init__(self, cursor: AsyncCursor[Any]) -> None:
        self._cursor = cursor
        self.rowcount = cursor.rowcount

    async def fetchone(self) -> Row | None:
        return cast(Row | None, await self._cursor.fetchone())

    async def fetchall(self) -> list[Row]:
        return cast(list[Row], await self._cursor.fetchall())

    async def close(self) -> None:
        await self._cursor.close()


class _Pending:
    """`connection.execute(...)`: awaited, or used as `async with`, like aiosqlite's."""

    def __init__(self, unit: UnitOfWork, sql: str, params: Params) -> None:
        self._unit, self._sql, self._params = unit, sql, params
        self._cursor: _Cursor | None = None

    def __await__(self) -> Generator[Any, None, _Cursor]:
        return self._unit._execute(self._sql, self._params).__await__()

    async def __aenter__(self) -> _Cursor:
        self._cursor = await self._unit._execute(self._sql, self._params)
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class UnitOfWork:
    """One PostgreSQL transaction, offering the aiosqlite connection methods the stores use."""

    dialect = "postgresql"

    def __init__(self, connection: AsyncConnection[Any]) -> None:
        self._connection = connection

    async def _execute(self, sql: str, params: Params) -> _Cursor:
        cursor = self._connection.cursor(row_factory=_row_factory)
        await cursor.execute(placeholders(sql), tuple(params))
        return _Cursor(cursor)

    def execute(self, sql: str, params: Params = ()) -> _Pending:
        return _Pending(self, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = [tuple(row) for row in rows]
        if batch:
            async with self._connection.cursor() as cursor:
                await cursor.executemany(placeholders(sql), batch)

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """Bulk-load rows with COPY (many times faster than INSERTs; used by copy-data)."""
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        async with self._connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                await copy.write_row(row)

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        cursor = await self._execute(sql, params)
        try:
            return await cursor.fetchall()
        finally:
            await cursor.close()


class PostgresDatabase(Database):
    """A pool of connections; each `transaction()` is its own PostgreSQL transaction.

    No group commit here: the server commits concurrent transactions in parallel and syncs
    them together itself (its WAL writer), and instances on other machines share no lock.
    The pool replaces a broken connection on its next use, so losing the server fails the
    units of work in flight (each rolled back whole) and the bot carries on once it is back.
    """

    dialect = "postgresql"

    def __init__(self, pool: AsyncConnectionPool[Any], url: str) -> None:
        self._pool = pool
        self.location = describe_url(url)

    @classmethod
    async def connect(cls, url: str, *, size: int = 20, wait: float = 10.0) -> PostgresDatabase:
        try:
            from psycopg import AsyncConnection, OperationalError
            from psycopg_pool import AsyncConnectionPool, PoolTimeout
        except ImportError as error:  # pragma: no cover - installed with the bot
            raise StorageError(f"PostgreSQL support is not installed: {error}") from error
        try:  # one direct attempt first: its error names the reason (the pool's would not)
            probe = await AsyncConnection.connect(url, connect_timeout=max(1, int(wait)))
        except OperationalError as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
            raise StorageError(
                f"cannot connect to PostgreSQL at {describe_url(url)}: {reason}"
            ) from error
        await probe.close()
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=size,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection,
            timeout=wait,
            open=False,
            name="sipas",
        )
        try:
            await pool.open(wait=True, timeout=wait)
        except (PoolTimeout, OperationalError) as error:
            await pool.close()
            raise StorageError(
                f"cannot connect to PostgreSQL at {describe_url(url)}: {error}"
            ) from error
        return cls(pool, url)

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A unit of writes: one PostgreSQL transaction, committed before the block returns."""
        async with self._pool.connection() as connection, connection.transaction():
            # The stores are written against aiosqlite's connection; this unit has its surface.
            yield cast(aiosqlite.Connection, UnitOfWork(connection))

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Any]:
        async with self._pool.connection() as connection:
            cursor = connection.cursor(row_factory=_row_factory)
            await cursor.execute(placeholders(sql), tuple(params))
            return list(await cursor.fetchall())

    async def execute_script(self, script: str) -> None:
        async with self._pool.connection() as connection:
            await connection.execute(cast(Any, script))

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as connection:
            await connection.executemany(sql, rows)

    async def server_version(self) -> str:
        return f"PostgreSQL {await self.fetch_value('SHOW server_version')}"
