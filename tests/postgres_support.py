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
import subprocess
import tempfile
from pathlib import Path

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

    def __init__(self, bindir: Path) -> None:
        self._bindir = bindir
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
        options = (
            f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
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
        self._admin(f"CREATE DATABASE {TEMPLATE}")
        asyncio.run(self._migrate(self.url(TEMPLATE)))
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
