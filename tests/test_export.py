"""`export`: a period's responses (pseudonymous) and the index tables, as CSV or XLSX."""

from __future__ import annotations

import csv
import hashlib
import hmac
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.config import Settings
from bot.files.sheets import (
    FIXED_COLUMNS,
    INDEX_SHEET,
    RESPONSES_SHEET,
    IndexTable,
    write_export,
)
from bot.questionnaires import load_catalogue
from storage.database import Database
from storage.exports import export_rows
from storage.imports import store_paper_responses
from storage.migrations import migrate
from storage.responses import ResponseStore
from survey.paper import PaperResponse
from survey.period import Period
from tests.settings_support import make_settings


async def export(
    settings: Settings,
    period: Period,
    fmt: str,
    out: Path,
    agencies: list[str] | None,
    tables: list[IndexTable],
) -> Path:
    """The export file as the CLI writes it, with hand-made index tables."""
    database = await Database.open(settings.storage.location)
    try:
        await migrate(database)
        data = await export_rows(database, period, agencies)
    finally:
        await database.close()
    catalogue = load_catalogue()
    return write_export(data, catalogue, "csv" if fmt == "csv" else "xlsx", out, tables)


ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 1, tzinfo=UTC)
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
CATALOGUE = load_catalogue()
SIPAS = CATALOGUE["sipas-2023"].criterion_ids
COUNTER = CATALOGUE["counter-5"].criterion_ids
CITIZEN_ID = "4242424242"
RESPONDENT = hmac.new(b"s" * 16, f"telegram:{CITIZEN_ID}".encode(), hashlib.sha256).hexdigest()
TABLE = IndexTable(
    title="SIPAS 2026-10",
    header=["agency", "n", "sipas"],
    rows=[["ubnd_xa_a", 3, 82.66], ["so_tu_phap", 2, None]],
)


def paper(agency: str, submitted: datetime, value: int | None, comment: str | None = None):
    questionnaire = "sipas-2023" if agency == "ubnd_xa_a" else "counter-5"
    criteria = SIPAS if agency == "ubnd_xa_a" else COUNTER
    answers: dict[str, int | None] = dict.fromkeys(criteria, value)
    answers[criteria[0]] = None  # one "not applicable" per response
    extras = {"comment": comment}
    return PaperResponse(2, agency, questionnaire, 1, submitted, answers, extras)


IN_OCTOBER = [
    paper("ubnd_xa_a", datetime(2026, 10, 1, 0, 0), 5, '=HYPERLINK("http://x")'),
    paper("ubnd_xa_a", datetime(2026, 10, 15, 9, 30), 4),
    paper("so_tu_phap", datetime(2026, 10, 31, 23, 59), 2, "Chờ lâu quá"),
]
OUTSIDE = [
    paper("ubnd_xa_a", datetime(2026, 9, 30, 23, 59), 1),
    paper("so_tu_phap", datetime(2026, 11, 1, 0, 0), 3),
]


@pytest.fixture
async def settings(tmp_path: Path, database_target: Path | str) -> Settings:
    settings = make_settings(tmp_path, target=database_target)
    database = await Database.open(settings.storage.location)
    await migrate(database)
    await ResponseStore(database).sync_agencies(
        [("ubnd_xa_a", "UBND xã A", "sipas-2023"), ("so_tu_phap", "Sở Tư pháp", "counter-5")]
    )
    await store_paper_responses(database, [*IN_OCTOBER, *OUTSIDE], ZONE, NOW)
    async with database.transaction() as connection:
        [(response_id,)] = await connection.execute_fetchall(
            "INSERT INTO responses (respondent, agency, questionnaire, channel, status, position, "
            "started_at, updated_at, completed_at, day) VALUES (?, 'so_tu_phap', 'counter-5', "
            "'telegram', 'completed', 7, ?, ?, ?, '2026-10-20') RETURNING id",
            (RESPONDENT, *["2026-10-20T10:00:00+07:00"] * 3),
        )
        await connection.executemany(
            "INSERT INTO answers (response_id, criterion, value) VALUES (?, ?, 5)",
            [(response_id, c) for c in COUNTER],
        )
    await database.close()
    return settings


async def test_export_rows_selects_the_period_and_agencies(settings):
    database = await Database.open(settings.storage.location)
    try:
        everything = await export_rows(database, OCTOBER, None)
        one = await export_rows(database, OCTOBER, ["so_tu_phap"])
        none = await export_rows(database, OCTOBER, [])
    finally:
        await database.close()

    assert sorted(row.day for row in everything.rows) == [
        "2026-10-01",
        "2026-10-15",
        "2026-10-20",
        "2026-10-31",
    ]
    assert {row.agency for row in one.rows} == {"so_tu_phap"}
    assert len(one.rows) == 2
    assert none.rows == []
    telegram = next(row for row in everything.rows if row.channel == "telegram")
    assert telegram.respondent == RESPONDENT[:12]
    assert {row.respondent for row in everything.rows if row.channel == "paper"} == {""}
    first = next(row for row in everything.rows if row.day == "2026-10-01")
    assert first.completed_at == "2026-10-01T00:00:00+07:00"
    assert first.answers[SIPAS[0]] is None
    assert first.answers[SIPAS[1]] == 5


async def test_csv_export_has_one_row_per_response_and_the_index_section(settings, tmp_path):
    out = await export(settings, OCTOBER, "csv", tmp_path / "out" / "x.csv", None, [TABLE])

    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads Vietnamese correctly
    lines = list(csv.reader(out.read_text("utf-8-sig").splitlines()))
    blank = lines.index([])
    header, responses, index = lines[0], lines[1:blank], lines[blank + 1 :]
    assert header[: len(FIXED_COLUMNS)] == list(FIXED_COLUMNS)
    assert header[len(FIXED_COLUMNS) : len(FIXED_COLUMNS) + len(SIPAS)] == list(SIPAS)
    assert header[-1] == "comment"
    assert len(responses) == 4
    by_day = {row[header.index("day")]: dict(zip(header, row, strict=True)) for row in responses}
    assert set(by_day) == {"2026-10-01", "2026-10-15", "2026-10-20", "2026-10-31"}
    assert by_day["2026-10-01"][SIPAS[0]] == "NA"
    assert by_day["2026-10-01"][SIPAS[1]] == "5"
    assert by_day["2026-10-31"]["access_2"] == ""  # counter-5 has no access_2
    assert by_day["2026-10-31"]["comment"] == "Chờ lâu quá"
    assert by_day["2026-10-01"]["comment"].startswith("'=")  # never run as a formula
    assert by_day["2026-10-20"]["respondent"] == RESPONDENT[:12]
    assert index[0] == ["SIPAS 2026-10"]
    assert index[1:] == [
        ["agency", "n", "sipas"],
        ["ubnd_xa_a", "3", "82.66"],
        ["so_tu_phap", "2", ""],
    ]
    assert CITIZEN_ID not in raw.decode("utf-8-sig")
    assert RESPONDENT not in raw.decode("utf-8-sig")


async def test_xlsx_export_has_both_sheets(settings, tmp_path):
    out = await export(settings, OCTOBER, "xlsx", tmp_path / "x.xlsx", None, [TABLE, TABLE])

    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == [RESPONSES_SHEET, INDEX_SHEET]
    sheet = workbook[RESPONSES_SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    assert len(rows) == 5
    assert header.count("access_1") == 1
    assert set(SIPAS) <= set(header)
    values = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert {v["day"] for v in values} == {"2026-10-01", "2026-10-15", "2026-10-20", "2026-10-31"}
    first = next(v for v in values if v["day"] == "2026-10-01")
    assert first[SIPAS[0]] == "NA"
    assert first[SIPAS[1]] == 5
    assert first["comment"] == '=HYPERLINK("http://x")'
    comment_cell = sheet.cell(row=rows.index(tuple(first.values())) + 1, column=len(header))
    assert comment_cell.data_type == "s"  # text, not a formula
    respondents = {str(v["respondent"] or "") for v in values}
    assert respondents == {"", RESPONDENT[:12]}
    index = list(workbook[INDEX_SHEET].iter_rows(values_only=True))
    assert index[0][0] == "SIPAS 2026-10"
    assert list(index[2]) == ["ubnd_xa_a", 3, 82.66]
    assert index[4] == (None, None, None)  # a blank row between tables
    assert index[5][0] == "SIPAS 2026-10"


async def test_an_empty_period_still_writes_the_header_and_index(settings, tmp_path):
    period = Period(date(2025, 1, 1), date(2025, 1, 31))

    out = await export(settings, period, "xlsx", tmp_path / "empty.xlsx", None, [TABLE])

    workbook = openpyxl.load_workbook(out)
    rows = list(workbook[RESPONSES_SHEET].iter_rows(values_only=True))
    assert list(rows[0]) == list(FIXED_COLUMNS)
    assert len(rows) == 1
    assert workbook[INDEX_SHEET]["A1"].value == "SIPAS 2026-10"


async def test_xlsx_export_succeeds_with_control_characters_stored_before_cleaning(
    settings, tmp_path, engine
):
    if engine == "postgresql":
        pytest.skip("PostgreSQL text cannot hold NUL: only a SQLite database has such rows")
    # Rows stored before comments were cleaned: XML cannot hold \x0b, \x1b, \x00 or a
    # C1 control, and openpyxl refused the whole file (a "system error" for every export).
    raw = "Chờ\x0b lâu\x1b[31m quá\x00 \x85=1"
    database = await Database.open(settings.storage.location)
    try:
        async with database.transaction() as connection:
            await connection.execute(
                "UPDATE extras SET value = ? WHERE field = 'comment' AND value = 'Chờ lâu quá'",
                (raw,),
            )
    finally:
        await database.close()

    out = await export(settings, OCTOBER, "xlsx", tmp_path / "x.xlsx", None, [TABLE])

    sheet = openpyxl.load_workbook(out)[RESPONSES_SHEET]
    comments = [row[-1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "Chờ lâu[31m quá =1" in comments  # the "=" no longer first: still only text
