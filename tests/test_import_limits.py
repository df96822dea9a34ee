"""`import-responses` reads a sheet with bounded memory, whatever size the sheet claims."""

from __future__ import annotations

import re
import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

import bot.files.sheets
from bot.config import Settings, load_settings
from bot.files.importing import import_responses
from bot.files.sheets import MAX_ROWS, read_sheet
from tests.cli_support import run_cli
from tests.test_import_formats import SIPAS, write_config

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
HEADER = ["submitted_at", "agency", *SIPAS.criterion_ids]
ROW = ["2026-10-05", "ubnd_xa_a", *[4] * len(SIPAS.criterion_ids)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(write_config(tmp_path), environ={})


def rewrite_sheet(path: Path, edit: str, extra_rows: str = "") -> Path:
    """`path` with its first sheet's <dimension> set to `edit` and `extra_rows` appended."""
    patched = path.with_name("huge-" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = re.sub(
                    r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{edit}"/>', data.decode()
                )
                data = xml.replace("</sheetData>", extra_rows + "</sheetData>").encode()
            target.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
    return patched


def small_workbook(path: Path, rows: int = 2) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for _ in range(rows):
        sheet.append(ROW)
    workbook.save(path)
    return path


def cell_at(row: int, column: str = "A", text: str = "x") -> str:
    return f'<row r="{row}"><c r="{column}{row}" t="inlineStr"><is><t>{text}</t></is></c></row>'


async def test_a_sheet_claiming_the_whole_grid_imports_only_what_it_holds(settings, tmp_path):
    path = rewrite_sheet(small_workbook(tmp_path / "forms.xlsx"), "A1:XFD1048576")
    assert path.stat().st_size < 20_000

    code, message = await import_responses(settings, path, NOW)

    assert code == 0, message
    assert message.splitlines()[0] == f"imported 2 responses from {path}"


def test_a_value_on_the_last_row_of_the_grid_is_refused_within_bounded_memory(tmp_path):
    config = write_config(tmp_path)
    path = rewrite_sheet(
        small_workbook(tmp_path / "forms.xlsx"), "A1:XFD1048576", cell_at(1_048_576, "XFD")
    )
    assert path.stat().st_size < 20_000

    # Reading every padded row took 2.7 GB (and 40 s) before: 1 GB of address space is plenty.
    result = run_cli(
        "import-responses", "--config", str(config), str(path), cwd=tmp_path, memory=2**30
    )

    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"{path}: more than 200,000 rows below the header (a value on line 1,048,576); "
        "split the file and import the parts one after the other"
    )
    settings = load_settings(config, environ={})
    assert not settings.storage.path.exists() or _responses(settings) == 0


def test_rows_are_as_wide_as_the_header_and_blank_rows_are_not_kept(tmp_path):
    far = '<row r="9"><c r="A9" t="inlineStr"><is><t>2026-10-05</t></is></c>'
    far += '<c r="XFD9" t="inlineStr"><is><t>far away</t></is></c></row>'
    path = rewrite_sheet(small_workbook(tmp_path / "forms.xlsx"), "A1:XFD200", far)

    header, rows = read_sheet(path)

    assert header == HEADER
    assert [line for line, _ in rows] == [2, 3, 9]
    assert {len(cells) for _, cells in rows[:2]} == {len(HEADER)}
    # The far value is kept (once) so the row is refused for a value right of the header.
    assert rows[2][1][0] == "2026-10-05"
    assert rows[2][1][-1] == "far away"
    assert len(rows[2][1]) == len(HEADER) + 1


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_the_row_cap_applies_to_csv_and_xlsx(settings, tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(bot.files.sheets, "MAX_ROWS", 3)
    path = tmp_path / f"forms{suffix}"
    if suffix == ".csv":
        lines = [",".join(HEADER), *[",".join(map(str, ROW))] * 4]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        small_workbook(path, rows=4)

    code, message = await import_responses(settings, path, NOW)

    assert code == 1
    assert "more than 3 rows below the header (a value on line 5)" in message
    assert MAX_ROWS == 200_000


def _responses(settings: Settings) -> int:
    with sqlite3.connect(settings.storage.path) as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
