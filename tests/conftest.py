"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_support import INSTALL_HINT, PostgresServer, find_bindir
from tests.zalo_emulator import ZaloEmulator


@pytest.fixture
def zalo() -> Iterator[ZaloEmulator]:
    emulator = ZaloEmulator().start()
    emulator.poll_cap = 0.2  # an idle long poll ends soon, so a clean stop is quick
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; skipped (failed under CI) without binaries."""
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    server = PostgresServer(bindir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    """The storage engine a behaviour test runs on: every such test runs on both."""
    return str(request.param)


@pytest.fixture
def database_target(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Path | str]:
    """Where the test's database lives: a SQLite file in tmp_path, or a fresh PostgreSQL
    database (already migrated, copied from the session's template) as a URL, dropped after."""
    if engine == "sqlite":
        yield tmp_path / "data" / "sipas.sqlite"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.fresh_database()
    yield url
    server.drop(url)


@pytest.fixture
def blank_target(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Like `database_target`, but nothing migrated yet (no tables)."""
    if engine == "sqlite":
        return tmp_path / "data" / "sipas.sqlite"
    return str(request.getfixturevalue("empty_postgres"))


@pytest.fixture
def empty_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database (no tables), dropped after the test."""
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.fresh_database(migrated=False)
    yield url
    server.drop(url)
