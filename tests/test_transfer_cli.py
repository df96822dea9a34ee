"""`python -m bot import-responses` and `python -m bot export` as a user runs them: subprocesses
on a config and a SQLite file in a temporary folder, with no SIPAS_* variables in the env."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from bot.questionnaires import load_catalogue
from tests import cli_support

CRITERIA = list(load_catalogue()["sipas-2023"].criterion_ids)
HEADER = ["submitted_at", "agency", *CRITERIA, "sex", "age_group", "comment"]
AGENCIES = {"ubnd_xa_a": "UBND xã A", "so_tu_phap": "Sở Tư pháp"}


def row(submitted: str, agency: str, value: str = "4", **changes: str) -> list[str]:
    cells = dict.fromkeys(CRITERIA, value)
    cells.update(changes)
    return [submitted, agency, *(cells[c] for c in CRITERIA), "Nữ", "25_34", "Nhanh gọn"]


GOOD_ROWS = [
    row("2026-10-02", "ubnd_xa_a", "5"),
    row("2026-10-03 09:30", "ubnd_xa_a", "4", access_1="NA", access_2=""),
    row("2026-10-04", "ubnd_xa_a", "2"),
    row("2026-10-05", "so_tu_phap", "5"),
    row("2026-10-31 23:59", "so_tu_phap", "3"),
]
N = len(GOOD_ROWS)


@dataclass(frozen=True)
class Setup:
    folder: Path
    config: Path

    @property
    def database(self) -> Path:
        return self.folder / "data" / "sipas.sqlite"

    def count(self) -> int:
        with sqlite3.connect(self.database) as db:
            return int(db.execute("SELECT count(*) FROM responses").fetchone()[0])


def make_setup(folder: Path) -> Setup:
    agencies = "".join(
        f'[[agencies]]\ncode = "{code}"\nname = "{name}"\n\n' for code, name in AGENCIES.items()
    )
    config = folder / "config.toml"
    config.write_text(
        '[storage]\npath = "data/sipas.sqlite"\n\n[survey]\nmin_responses = 3\n\n'
        '[privacy]\nsecret = "a-test-secret-of-some-length"\n\n' + agencies,
        encoding="utf-8",
    )
    return Setup(folder, config)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([HEADER, *rows])
    return path


def run_cli(setup: Setup, *args: str) -> subprocess.CompletedProcess[str]:
    return cli_support.run_cli(*args, "--config", str(setup.config), cwd=setup.folder)


@dataclass(frozen=True)
class Imported:
    setup: Setup
    source: Path
    result: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Imported:
    """One good import, shared by the tests that only read the database afterwards."""
    setup = make_setup(tmp_path_factory.mktemp("imported"))
    source = write_csv(setup.folder / "paper.csv", GOOD_ROWS)
    return Imported(setup, source, run_cli(setup, "import-responses", str(source)))


def test_a_good_csv_is_imported(imported: Imported) -> None:
    assert imported.result.returncode == 0, imported.result.stderr
    assert imported.result.stdout.startswith(f"imported {N} responses")
    assert imported.setup.count() == N


def test_a_bad_csv_names_every_bad_line_and_stores_nothing(tmp_path: Path) -> None:
    setup = make_setup(tmp_path)
    rows = [
        row("2026-10-02", "ubnd_xa_a"),
        row("2026-10-03", "ubnd_xa_a", access_3="7"),  # line 3
        row("2026-10-04", "so_tu_phap"),
        row("2026-10-05", "xa_khong_co"),  # line 5
    ]
    result = run_cli(setup, "import-responses", str(write_csv(tmp_path / "bad.csv", rows)))
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "line 3, column access_3: '7' is not an answer" in message
    assert "line 5, column agency: unknown agency code 'xa_khong_co'" in message
    assert "line 2" not in message
    assert "line 4" not in message
    assert "nothing imported" in message
    assert setup.count() == 0


@pytest.mark.parametrize(
    ("agency", "expected"),
    [(None, N), ("so_tu_phap", 2)],
    ids=["all", "one-agency"],
)
def test_export_writes_an_xlsx_with_both_sheets(
    imported: Imported, tmp_path: Path, agency: str | None, expected: int
) -> None:
    out = tmp_path / "export.xlsx"
    chosen = ["--agency", agency] if agency else []
    args = ["export", "--period", "2026-10", "--format", "xlsx", "--out", str(out), *chosen]
    result = run_cli(imported.setup, *args)
    assert result.returncode == 0, result.stderr
    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == ["Phiếu trả lời", "Chỉ số"]
    responses = list(workbook["Phiếu trả lời"].iter_rows(values_only=True))
    header, rows = list(responses[0]), responses[1:]
    assert len(rows) == expected
    assert {r[header.index("agency")] for r in rows} == ({agency} if agency else set(AGENCIES))


def test_export_of_an_unknown_agency_exits_2_and_writes_nothing(
    imported: Imported, tmp_path: Path
) -> None:
    out = tmp_path / "export.xlsx"
    result = run_cli(
        imported.setup, "export", "--period", "2026-10", "--out", str(out), "--agency", "nope"
    )
    assert result.returncode == 2
    assert "unknown agency 'nope'; known codes: ubnd_xa_a, so_tu_phap" in result.stderr
    assert not out.exists()


def test_report_after_the_import_counts_the_responses(imported: Imported) -> None:
    args = ["report", "--from", "2026-10-01", "--to", "2026-10-31", "--json"]
    result = run_cli(imported.setup, *args)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["agency"] is None
    assert data["responses"] == N
    assert data["suppressed"] is False
