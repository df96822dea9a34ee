"""copy-data: a pilot's SQLite database into an empty PostgreSQL database, checked, refusing a
filled one; the bot then carries on on PostgreSQL (new ids continue after the copied ones)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import AgencyEntry, Settings, StorageSection
from bot.files.copying import CopyRefused, copy_data
from bot.services import open_services
from storage.claims import claim
from storage.imports import store_paper_responses
from storage.menus import MenuStore
from storage.migrations import MIGRATIONS
from storage.oa_tokens import OaTokenStore
from storage.officials import Attempt
from storage.responses import UpdateKey
from survey.flow import AGREE, Moved, Pick, advance
from survey.paper import PaperResponse
from tests.postgres_support import query_rows

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
COUNTER = ("access_1", "procedures_1", "civil_servants_1", "results_1", "feedback_1")


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        storage=StorageSection(path=tmp_path / "pilot.sqlite"),
        agencies=(
            AgencyEntry(code="a", name="UBND xã A", questionnaire="counter-5"),
            AgencyEntry(code="b", name="Sở Tư pháp"),
        ),
    )


def _form(line: int, day: int, value: int) -> PaperResponse:
    answers: dict[str, int | None] = dict.fromkeys(COUNTER, value)
    answers["feedback_1"] = None
    extras: dict[str, str | None] = {"comment": f"phiếu {line}"} if line % 3 == 0 else {}
    return PaperResponse(line, "a", "counter-5", 7, datetime(2026, 10, day, 9), answers, extras)


async def _pilot(settings: Settings) -> None:
    """A pilot's database with a row in every table the bot writes."""
    services = await open_services(settings)
    try:
        forms = [_form(line, 1 + line % 28, 1 + line % 5) for line in range(2, 40)]
        await store_paper_responses(services.database, forms, settings.bot.zone, NOW)
        store = services.responses
        await store.set_language("r1", "telegram", "en", NOW)
        begun = await store.start_response("r1", "telegram", "b", "sipas-2023", NOW, visit="n1")
        sipas = services.conversation._catalogue["sipas-2023"]
        moved = advance(sipas, begun, 0, Pick(AGREE))
        assert isinstance(moved, Moved)
        progress = await store.record(begun, moved, NOW, update=UpdateKey("telegram", 7001))
        assert progress is not None
        await store.mark_processed(UpdateKey("zalo", "12e3"), NOW)
        await MenuStore(services.database).show("r2", [(1, "lang:vi")], NOW)
        await MenuStore(services.database).delivered("r2", True, 1_790_000_000.25)
        officials = services.officials
        await officials.create_invite("h1", "official", ("a",), "admin:1", NOW, NOW + timedelta(3))
        await officials.create_invite("h2", "admin", ("*",), "admin:1", NOW, NOW + timedelta(3))
        attempt = Attempt("who", NOW - timedelta(hours=1), 5)
        assert await officials.redeem_invite("h1", "telegram", "42", NOW, attempt) != "wrong"
        assert await officials.redeem_invite("nope", "telegram", "43", NOW, attempt) == "wrong"
        await officials.subscribe("telegram", "42", "vi", NOW)
        await officials.record_parts("telegram", "42", "2026-11-16", 1)
        await officials.record_delivery("telegram", "42", "2026-11-09", NOW)
        await claim(services.database, "housekeeping", "2026-11-27T00", "pilot", NOW)
        oa = OaTokenStore(services.database)
        assert await oa.seed("first-refresh-token", NOW)
        await oa.record_inbound("official-1", NOW)
        assert await oa.record_undeliverable("oa-user-1", "2026-11-16", NOW)
        async with services.database.transaction() as connection:  # as a completion leaves it
            await connection.execute(
                "INSERT INTO resubmit_locks (lock, agency, until) VALUES ('l1', 'b', ?)",
                ((NOW + timedelta(hours=24)).isoformat(),),
            )
    finally:
        await services.close()


def _contents(storage: StorageSection, table: str) -> list[tuple[str, ...]]:
    rows = query_rows(storage, f"SELECT * FROM {table}")
    return sorted(tuple(_text(value) for value in row) for row in rows)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


async def test_a_pilot_database_is_copied_whole_and_checked(
    tmp_path: Path, empty_postgres: str
) -> None:
    settings = _settings(tmp_path)
    await _pilot(settings)

    report = await copy_data(settings, empty_postgres)

    sqlite = settings.storage
    postgres = StorageSection(path=tmp_path / "unused", url=SecretStr(empty_postgres))
    assert report.reports_checked == 3  # all agencies, a, b
    assert report.rows["responses"] == 39
    for table, rows in report.rows.items():
        assert _contents(postgres, table) == _contents(sqlite, table), table
        assert len(_contents(postgres, table)) == rows
    empty = [table for table, rows in report.rows.items() if rows == 0]
    assert empty == [], f"the pilot should fill every table: {empty}"
    assert "copied " in report.summary()
    assert "identical" in report.summary()

    # The bot carries on on PostgreSQL: a new response gets the id after the copied ones.
    moved = settings.model_copy(update={"storage": postgres})
    services = await open_services(moved)
    try:
        started = await services.responses.start_response("r3", "telegram", "b", "sipas-2023", NOW)
    finally:
        await services.close()
    assert started.response_id == 40  # 38 paper forms, r1's response, then this one

    with pytest.raises(CopyRefused, match="is not empty \\(table agencies has rows\\)"):
        await copy_data(settings, empty_postgres)


async def test_copy_data_refuses_what_it_cannot_copy(tmp_path: Path, empty_postgres: str) -> None:
    settings = _settings(tmp_path)
    with pytest.raises(CopyRefused, match="no SQLite database at"):
        await copy_data(settings, empty_postgres)
    with pytest.raises(CopyRefused, match="postgresql://"):
        await copy_data(settings, str(tmp_path / "other.sqlite"))


def test_the_command_copies_then_refuses_a_filled_target_in_one_line(
    tmp_path: Path, empty_postgres: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[storage]\npath = "pilot.sqlite"\n[[agencies]]\ncode = "a"\nname = "A"\n',
        encoding="utf-8",
    )
    migrated = subprocess.run(
        [sys.executable, "-m", "bot", "migrate", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    command = [sys.executable, "-m", "bot", "copy-data", "--config", str(config)]
    first = subprocess.run(
        [*command, "--to", empty_postgres], capture_output=True, text=True, timeout=120
    )
    second = subprocess.run(
        [*command, "--to", empty_postgres], capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("copied ")
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1
    assert "is not empty" in second.stderr
    assert "Traceback" not in second.stderr


def test_an_unreachable_server_is_one_line_naming_host_and_reason(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[storage]\nurl = "postgresql://sipas:hunter2@127.0.0.1:9/sipas"\n'
        '[[agencies]]\ncode = "a"\nname = "A"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:9/sipas: ")
    assert "refused" in line.lower()
    assert "hunter2" not in result.stderr + result.stdout


def test_check_config_reports_the_server_and_its_migrations(
    tmp_path: Path, empty_postgres: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[agencies]]\ncode = "a"\nname = "A"\n', encoding="utf-8")
    environ = {**os.environ, "SIPAS_DATABASE_URL": empty_postgres}
    command = [sys.executable, "-m", "bot"]
    before = subprocess.run(
        [*command, "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )
    subprocess.run(
        [*command, "migrate", "--config", str(config)],
        check=True,
        timeout=60,
        env=environ,
        capture_output=True,
    )
    after = subprocess.run(
        [*command, "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert "database: PostgreSQL 127.0.0.1:" in before.stdout
    assert "database server: PostgreSQL 1" in before.stdout
    assert f"migrations: {', '.join(str(m.version) for m in MIGRATIONS)} pending" in before.stdout
    assert f"migrations: current (version {MIGRATIONS[-1].version})" in after.stdout
