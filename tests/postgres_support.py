"""A throwaway PostgreSQL server for the tests: initdb + pg_ctl in a temporary directory.

Started once per session from the machine's binaries (on PATH or /usr/lib/postgresql/*/bin),
as the `postgres` system user when the tests run as root (initdb refuses root), listening on
127.0.0.1 at a free port and on a socket in its own directory. Durability is switched off
(fsync, synchronous_commit): these are throwaway databases. Each test gets a fresh database
copied from a migrated template (CREATE DATABASE … TEMPLATE), which takes milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import itertools
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.config import StorageSection


def storage_at(target: Path | str, tmp_path: Path) -> StorageSection:
    """The [storage] section for a `database_target`: a file, or a PostgreSQL URL."""
    if isinstance(target, Path):
        return StorageSection(path=target)
    return StorageSection(path=tmp_path / "unused.sqlite", url=target)  # type: ignore[arg-type]


INSTALL_HINT = "PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql"
TEMPLATE = "sipas_template"


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists() and Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One server process for the test session."""

    def __init__(self, bindir: Path, durable: bool = False) -> None:
        self._bindir = bindir
        self._durable = durable  # the bench syncs commits like a real server; tests need not
        self._root = Path(tempfile.mkdtemp(prefix="sipas-pg-"))
        self._as_postgres = os.geteuid() == 0
        self.port = _free_port()
        self._names = itertools.count(1)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run(
            [*prefix, *command],
            check=True,
            capture_output=True,
            cwd=self._root,
            timeout=120,
        )

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self._root, "postgres", "postgres")
        data = self._root / "data"
        self._run(
            str(self._bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        fast = "" if self._durable else "-c fsync=off -c synchronous_commit=off "
        options = (
            f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 {fast}"
            "-c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self._bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self._root / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        try:
            self._admin(f"CREATE DATABASE {TEMPLATE}")
            asyncio.run(self._migrate(self.url(TEMPLATE)))
        except BaseException:
            self.stop()  # never leave a server behind
            raise
        return self

    @staticmethod
    async def _migrate(url: str) -> None:
        from storage.database import Database
        from storage.migrations import migrate

        database = await Database.open(url)
        try:
            await migrate(database)
        finally:
            await database.close()

    def url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(sql.encode())

    def fresh_database(self, migrated: bool = True) -> str:
        """The URL of a new database: a copy of the migrated template, or empty."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        template = f" TEMPLATE {TEMPLATE}" if migrated else ""
        self._admin(f"CREATE DATABASE {name}{template}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a test's database (each copy of the template takes megabytes of disk)."""
        self._admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run(
                str(self._bindir / "pg_ctl"),
                "-D",
                str(self._root / "data"),
                "-m",
                "immediate",
                "stop",
            )
        shutil.rmtree(self._root, ignore_errors=True)


def query_rows(storage: StorageSection, sql: str) -> list[tuple[Any, ...]]:
    """Read the bot's database from the test, whichever engine it is on (sync, own connection)."""
    if storage.url is None:
        with contextlib.closing(sqlite3.connect(storage.path)) as db:
            return [tuple(row) for row in db.execute(sql).fetchall()]
    import psycopg

    with psycopg.connect(storage.url.get_secret_value(), autocommit=True) as connection:
        return [tuple(row) for row in connection.execute(sql.encode()).fetchall()]


def stored_bytes(storage: StorageSection) -> bytes:
    """Everything the database holds, as bytes to search: the SQLite file (and its WAL), or
    every row of every PostgreSQL table as text."""
    if storage.url is None:
        path = Path(storage.path)
        wal = Path(f"{path}-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    tables = query_rows(
        storage, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    rows = [repr(query_rows(storage, f"SELECT * FROM {name}")) for (name,) in tables]
    return "\n".join(rows).encode()


class _SyncPostgres:
    """A psycopg connection that takes the repo's `?` SQL, like sqlite3's `execute`."""

    def __init__(self, url: str) -> None:
        import psycopg

        self._connection = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        from storage.postgres import placeholders

        return self._connection.execute(placeholders(sql).encode(), tuple(params))


@contextlib.contextmanager
def connect_sync(storage: StorageSection) -> Iterator[Any]:
    """`sqlite3.connect(path)` for tests, on either engine: execute(sql, params).fetchall()."""
    if storage.url is None:
        with contextlib.closing(sqlite3.connect(storage.path)) as db:
            yield db
        return
    postgres = _SyncPostgres(storage.url.get_secret_value())
    try:
        yield postgres
    finally:
        postgres._connection.close()
