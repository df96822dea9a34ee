"""Where `export`, `qr` and `digest --dry-run` may write, as an operator runs them: never over
the database or the config, over an existing file only with --force, and a wrong --out is one
line on stderr, not a traceback. And the Zalo chart folder, which is public, may not hold the
database or the config. Subprocesses on a config and a SQLite file in tmp_path."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import openpyxl
import pytest

from tests.test_transfer_cli import Setup, make_setup, run_cli

KEEP = b"an operator's file, not to be lost"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    """A config and a migrated database holding one table the export must not replace."""
    setup = make_setup(tmp_path_factory.mktemp("outputs"))
    assert run_cli(setup, "migrate").returncode == 0
    return setup


def refused(result: subprocess.CompletedProcess[str], reason: str) -> None:
    """Exit 2 with exactly one line on stderr, naming the reason."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert reason in result.stderr


def tables(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        return [name for (name,) in db.execute("SELECT name FROM sqlite_master")]


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "forced"])
def test_export_never_writes_over_the_database_or_the_config(
    setup: Setup, force: list[str]
) -> None:
    before = setup.database.read_bytes()
    config = setup.config.read_bytes()
    for target in ("data/sipas.sqlite", str(setup.database), "config.toml"):
        result = run_cli(setup, "export", "--format", "csv", "--out", target, *force)
        refused(result, "is the bot's database or config; choose another file")
    assert setup.database.read_bytes() == before
    assert "responses" in tables(setup.database)
    assert setup.config.read_bytes() == config


def test_export_overwrites_an_existing_file_only_with_force(setup: Setup, tmp_path: Path) -> None:
    out = tmp_path / "export.xlsx"
    out.write_bytes(KEEP)
    refused(run_cli(setup, "export", "--out", str(out)), "exists; add --force to overwrite it")
    assert out.read_bytes() == KEEP
    result = run_cli(setup, "export", "--out", str(out), "--force")
    assert result.returncode == 0, result.stderr
    assert openpyxl.load_workbook(out).sheetnames == ["Phiếu trả lời", "Chỉ số"]


def test_export_to_a_folder_is_one_line(setup: Setup, tmp_path: Path) -> None:
    refused(run_cli(setup, "export", "--out", str(tmp_path)), "is a folder; --out takes a file")
    assert list(tmp_path.iterdir()) == []


def test_qr_overwrites_an_existing_poster_only_with_force(setup: Setup, tmp_path: Path) -> None:
    out = tmp_path / "poster.png"
    out.write_bytes(KEEP)
    args = ["qr", "--agency", "ubnd_xa_a", "--bot-username", "sipas_bot", "--out", str(out)]
    refused(run_cli(setup, *args), "exists; add --force to overwrite it")
    assert out.read_bytes() == KEEP
    assert run_cli(setup, *args, "--force").returncode == 0
    assert out.read_bytes().startswith(b"\x89PNG")


def test_qr_to_a_folder_is_one_line(setup: Setup, tmp_path: Path) -> None:
    folder = tmp_path / "posters.png"
    folder.mkdir()
    args = ["qr", "--agency", "ubnd_xa_a", "--bot-username", "sipas_bot", "--out", str(folder)]
    refused(run_cli(setup, *args), "is a folder; --out takes a file name")


def test_digest_preview_into_an_existing_file_is_one_line(setup: Setup, tmp_path: Path) -> None:
    out = tmp_path / "preview"
    out.write_bytes(KEEP)
    result = run_cli(setup, "digest", "--dry-run", "--out", str(out), "--force")
    refused(result, "is a file; --out takes a folder to write into")
    assert out.read_bytes() == KEEP


@pytest.mark.parametrize("folder", ["data", "."], ids=["database-folder", "config-folder"])
def test_digest_preview_never_writes_beside_the_database_or_config(
    setup: Setup, folder: str
) -> None:
    result = run_cli(setup, "digest", "--dry-run", "--out", folder, "--force")
    refused(result, "holds the bot's database or config; choose a folder of its own")


def test_digest_preview_into_a_full_folder_needs_force(setup: Setup, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_bytes(KEEP)
    args = ["digest", "--dry-run", "--out", str(tmp_path)]
    refused(run_cli(setup, *args), "is not empty; add --force to write into it anyway")
    result = run_cli(setup, *args, "--force")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "notes.txt").read_bytes() == KEEP


@pytest.mark.parametrize("media_dir", ["data", "."], ids=["database-folder", "config-folder"])
@pytest.mark.parametrize("command", ["check-config", "run"])
def test_a_public_chart_folder_holding_the_database_or_config_is_refused(
    tmp_path: Path, media_dir: str, command: str
) -> None:
    setup = make_setup(tmp_path)
    zalo = (
        '[zalo]\ntoken = "1234:not-a-real-token"\nbase_url = "http://127.0.0.1:9"\n'
        f'public_media_url = "https://sipas.example/media"\nmedia_dir = "{media_dir}"\n\n'
    )
    setup.config.write_text(zalo + setup.config.read_text("utf-8"), "utf-8")
    result = run_cli(setup, command)
    refused(result, "zalo.media_dir: ")
    assert "holds the database or the config" in result.stderr
    assert not setup.database.exists()  # refused before anything started
