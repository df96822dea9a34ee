"""`import-responses` twice: rows imported before are named, skipped on request; dry runs."""

from __future__ import annotations

import csv
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import storage.migrations
from bot.config import Settings, load_settings
from bot.files.importing import import_responses
from storage.database import Database
from storage.migrations import MIGRATIONS, Migration, migrate
from tests.cli_support import run_cli
from tests.test_import_formats import SIPAS, write_config

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
HEADER = ["submitted_at", "agency", *SIPAS.criterion_ids, "comment"]


def row(stamp: str, value: int, comment: str = "") -> list[str]:
    return [stamp, "ubnd_xa_a", *[str(value)] * len(SIPAS.criterion_ids), comment]


OCTOBER = [row("2026-10-05 09:00:00", 4), row("2026-10-05 09:01:00", 5, "Tốt")]
NOVEMBER = [row("2026-11-01 10:00:00", 3)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(write_config(tmp_path), environ={})


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def count(settings: Settings, table: str = "responses") -> int:
    if not settings.storage.path.exists():
        return 0
    with sqlite3.connect(settings.storage.path) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def test_the_same_file_imported_twice_is_refused_naming_its_lines(settings, tmp_path):
    path = write_csv(tmp_path / "forms.csv", OCTOBER)
    assert (await import_responses(settings, path, NOW))[0] == 0

    code, message = await import_responses(settings, path, NOW)

    assert code == 1
    assert message == (
        f"{path}: nothing imported, 2 row(s) were imported before (line(s) 2, 3); "
        "use --skip-duplicates to import only the new ones"
    )
    assert count(settings) == 2


async def test_a_file_with_old_and_new_rows_is_refused_unless_duplicates_are_skipped(
    settings, tmp_path
):
    await import_responses(settings, write_csv(tmp_path / "october.csv", OCTOBER), NOW)
    both = write_csv(tmp_path / "both.csv", [*NOVEMBER, *OCTOBER])

    refused = await import_responses(settings, both, NOW)
    code, message = await import_responses(settings, both, NOW, skip_duplicates=True)

    assert refused[0] == 1
    assert "line(s) 3, 4" in refused[1]
    assert code == 0
    assert message.splitlines()[:3] == [
        f"imported 1 responses from {both}; skipped 2 row(s) imported before",
        "responses per agency and month:",
        "  ubnd_xa_a  2026-11  1",
    ]
    assert count(settings) == 3
    assert count(settings, "paper_fingerprints") == 3


async def test_identical_rows_in_one_file_are_kept_with_a_warning(settings, tmp_path):
    path = write_csv(tmp_path / "forms.csv", [OCTOBER[0], NOVEMBER[0], OCTOBER[0]])

    code, message = await import_responses(settings, path, NOW)

    assert code == 0
    assert count(settings) == 3
    assert message.splitlines()[-2:] == [
        "warnings:",
        "  lines 2, 4 are identical (kept: two citizens may answer alike in the same minute "
        "when the time has no seconds)",
    ]


async def test_rows_differing_only_in_seconds_or_comment_are_not_duplicates(settings, tmp_path):
    await import_responses(settings, write_csv(tmp_path / "a.csv", OCTOBER), NOW)
    again = [row("2026-10-05 09:00:01", 4), row("2026-10-05 09:01:00", 5, "Tốt lắm")]

    code, message = await import_responses(settings, write_csv(tmp_path / "b.csv", again), NOW)

    assert code == 0, message
    assert count(settings) == 4


async def test_a_dry_run_prints_the_summary_of_the_real_import_and_stores_nothing(
    settings, tmp_path
):
    config = settings.source
    path = write_csv(tmp_path / "forms.csv", [*OCTOBER, *NOVEMBER, OCTOBER[1]])

    dry = run_cli(
        "import-responses", "--dry-run", "--config", str(config), str(path), cwd=tmp_path
    )
    stored_after_dry_run = count(settings)
    real = run_cli("import-responses", "--config", str(config), str(path), cwd=tmp_path)

    assert dry.returncode == 0, dry.stderr
    assert stored_after_dry_run == 0
    first, *summary = dry.stdout.splitlines()
    assert first == f"dry run, nothing stored: 4 responses would be imported from {path}"
    assert summary[:3] == [
        "responses per agency and month:",
        "  ubnd_xa_a  2026-10  3",
        "  ubnd_xa_a  2026-11  1",
    ]
    assert "  column 3 'access_1' → access_1" in summary
    assert summary[-1].startswith("  lines 3, 5 are identical")
    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines() == [f"imported 4 responses from {path}", *summary]
    assert count(settings) == 4


async def test_a_dry_run_names_rows_imported_before(settings, tmp_path):
    config = settings.source
    path = write_csv(tmp_path / "forms.csv", [*OCTOBER, *NOVEMBER])
    await import_responses(settings, write_csv(tmp_path / "old.csv", OCTOBER), NOW)

    refused = run_cli(
        "import-responses", "--dry-run", "--config", str(config), str(path), cwd=tmp_path
    )
    skipping = run_cli(
        "import-responses",
        "--dry-run",
        "--skip-duplicates",
        "--config",
        str(config),
        str(path),
        cwd=tmp_path,
    )

    assert refused.returncode == 1
    assert "nothing would be imported, 2 row(s) were imported before (line(s) 2, 3)" in (
        refused.stderr
    )
    assert skipping.returncode == 0, skipping.stderr
    assert skipping.stdout.splitlines()[:3] == [
        f"dry run, nothing stored: 1 responses would be imported from {path}; "
        "skipped 2 row(s) imported before",
        "responses per agency and month:",
        "  ubnd_xa_a  2026-11  1",
    ]
    assert count(settings) == 2


async def test_the_fingerprint_migration_tolerates_a_version_merged_below_it(
    tmp_path, monkeypatch
):
    """Version 8 ships before another branch's 7: a database that has 8 still gets 7 later."""
    without_7 = tuple(m for m in MIGRATIONS if m.version != 7)
    stand_in = Migration(7, "from another branch", "CREATE TABLE merged_later (a INTEGER)")
    seven = next((m for m in MIGRATIONS if m.version == 7), stand_in)
    database = await Database.open(tmp_path / "db.sqlite")
    try:
        monkeypatch.setattr(storage.migrations, "MIGRATIONS", without_7)
        first = [m.version for m in await migrate(database)]
        everything = sorted([*without_7, seven], key=lambda m: m.version)
        monkeypatch.setattr(storage.migrations, "MIGRATIONS", tuple(everything))
        second = [m.version for m in await migrate(database)]
        recorded = await database.fetch_all("SELECT version FROM schema_migrations")
    finally:
        await database.close()

    assert 8 in first  # later versions (9, …) are applied too
    assert 7 not in first
    assert second == [7]
    assert {row[0] for row in recorded} == {m.version for m in everything}
