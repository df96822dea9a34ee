"""`import-responses`: paper forms from CSV/XLSX are stored all together, or not at all."""

from __future__ import annotations

import csv
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import psycopg
import pytest

from bot.config import Settings
from bot.files.importing import import_responses
from bot.files.sheets import SheetError, read_sheet
from bot.questionnaires import load_catalogue
from storage.database import Database
from storage.imports import store_paper_responses
from storage.migrations import migrate
from storage.responses import ResponseStore
from survey.paper import PaperFormError, PaperResponse, parse_paper_forms
from survey.tally import tally
from tests.postgres_support import connect_sync
from tests.settings_support import make_settings

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CATALOGUE = load_catalogue()
SIPAS = CATALOGUE["sipas-2023"]
COUNTER = CATALOGUE["counter-5"]
CRITERIA = list(SIPAS.criterion_ids)
HEADER = ["submitted_at", "agency", *CRITERIA, "sex", "age_group", "comment"]
QUESTIONNAIRES = {"ubnd_xa_a": SIPAS, "so_tu_phap": COUNTER}


@pytest.fixture
def settings(tmp_path: Path, database_target: Path | str) -> Settings:
    return make_settings(tmp_path, target=database_target)


def sipas_row(submitted: str, seed: int, *extras: str) -> list[str]:
    values = [str((seed + i) % 5 + 1) for i in range(len(CRITERIA))]
    values[seed % len(CRITERIA)] = "NA" if seed % 2 else ""
    return [submitted, "ubnd_xa_a", *values, *extras]


def counter_row(submitted: str, values: list[str], comment: str = "") -> list[str]:
    cells = dict(zip(COUNTER.criterion_ids, values, strict=True))
    return [submitted, "so_tu_phap", *(cells.get(c, "") for c in CRITERIA), "", "", comment]


GOOD_ROWS = [
    sipas_row("2026-10-05", 0, "Nữ", "25_34", "Nhanh gọn"),
    sipas_row("2026-10-05 14:30", 1, "male", "", ""),
    sipas_row("2026-10-06T09:15:00", 2, "", "Trên 60 tuổi", ""),
    sipas_row("2026-10-31 23:59", 3),
    counter_row("2026-10-05", ["5", "4", "NA", "3", "2"], "Cần thêm ghế chờ"),
    counter_row("2026-10-07 08:00", ["4", "4", "4", "4", "4"]),
]
EXPECTED = len(GOOD_ROWS)


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def table_count(settings: Settings, table: str) -> int:
    with connect_sync(settings.storage) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def stored_nothing(settings: Settings) -> bool:
    if settings.storage.url is None and not settings.storage.path.exists():
        return True
    tables = ("responses", "answers", "extras", "daily_responses", "daily_counts", "daily_pairs")
    return all(table_count(settings, table) == 0 for table in tables)


def expected_answers(rows: list[list[str]]) -> dict[tuple[str, str], list[dict[str, int | None]]]:
    """(agency, day) → the answers each row should store, read straight from the cells."""
    grouped: dict[tuple[str, str], list[dict[str, int | None]]] = defaultdict(list)
    for row in rows:
        agency = row[1]
        criteria = QUESTIONNAIRES[agency].criterion_ids
        cells = dict(zip(HEADER, row, strict=False))
        grouped[(agency, row[0][:10])].append(
            {c: int(cells[c]) if cells[c] not in ("", "NA") else None for c in criteria}
        )
    return grouped


def assert_aggregates_match(settings: Settings, rows: list[list[str]]) -> None:
    with connect_sync(settings.storage) as db:
        for (agency, day), answers in expected_answers(rows).items():
            expected = tally(answers)
            counts = {
                (criterion, value): count
                for criterion, value, count in db.execute(
                    "SELECT criterion, value, count FROM daily_counts "
                    "WHERE agency = ? AND day = ?",
                    (agency, day),
                )
            }
            assert counts == {
                (criterion, value): count
                for criterion, by_value in expected.counts.items()
                for value, count in by_value.items()
            }
            pairs = {
                (c1, c2): (ss, sv, vs, vv)
                for c1, c2, ss, sv, vs, vv in db.execute(
                    "SELECT c1, c2, ss, sv, vs, vv FROM daily_pairs WHERE agency = ? AND day = ?",
                    (agency, day),
                )
            }
            assert pairs == {
                key: (m.ss, m.sv, m.vs, m.vv) for key, m in expected.pairs.items() if not m.is_zero
            }
            responses = db.execute(
                "SELECT responses FROM daily_responses WHERE agency = ? AND day = ?",
                (agency, day),
            ).fetchone()[0]
            assert responses == expected.responses


async def test_good_csv_imports_every_response_with_its_aggregates(settings, tmp_path):
    path = write_csv(tmp_path / "forms.csv", GOOD_ROWS)

    code, message = await import_responses(settings, path, NOW)

    assert (code, message.splitlines()[0]) == (0, f"imported {EXPECTED} responses from {path}")
    assert table_count(settings, "responses") == EXPECTED
    assert table_count(settings, "answers") == 4 * len(CRITERIA) + 2 * len(COUNTER.criterion_ids)
    assert_aggregates_match(settings, GOOD_ROWS)
    with connect_sync(settings.storage) as db:
        heads = db.execute(
            "SELECT respondent, channel, status, completed_at, day FROM responses ORDER BY id"
        ).fetchall()
        extras = dict(
            db.execute(
                "SELECT field, value FROM extras WHERE response_id = "
                "(SELECT MIN(id) FROM responses)"
            ).fetchall()
        )
        comments = db.execute("SELECT SUM(comments) FROM daily_responses").fetchone()[0]
    assert heads[0] == (None, "paper", "completed", "2026-10-05T00:00:00+07:00", "2026-10-05")
    assert heads[3][3:] == ("2026-10-31T23:59:00+07:00", "2026-10-31")
    assert extras == {"sex": "female", "age_group": "25_34", "comment": "Nhanh gọn"}
    assert comments == 2


async def test_good_xlsx_with_typed_dates_and_numbers_imports(settings, tmp_path):
    path = tmp_path / "forms.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for row in GOOD_ROWS:
        submitted = datetime.fromisoformat(row[0])
        # Excel stores typed dates as datetimes and typed scores as numbers.
        cells = [submitted, row[1], *(int(v) if v.isdigit() else v or None for v in row[2:])]
        sheet.append(cells)
    sheet.append([None] * len(HEADER))  # a blank line at the end is ignored
    workbook.save(path)

    code, message = await import_responses(settings, path, NOW)

    assert (code, message.splitlines()[0]) == (0, f"imported {EXPECTED} responses from {path}")
    assert_aggregates_match(settings, GOOD_ROWS)


async def test_semicolon_csv_with_bom_is_read(settings, tmp_path):
    path = tmp_path / "excel.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file, delimiter=";")
        writer.writerow(HEADER)
        writer.writerows(GOOD_ROWS[:2])

    header, rows = read_sheet(path)

    assert header == HEADER
    assert [line for line, _ in rows] == [2, 3]
    assert (await import_responses(settings, path, NOW))[0] == 0


BAD_FILES = {
    "unknown agency": (
        [GOOD_ROWS[0], [*GOOD_ROWS[1][:1], "ubnd_xa_z", *GOOD_ROWS[1][2:]]],
        ["line 3, column agency: unknown agency code 'ubnd_xa_z'"],
    ),
    "value 7": (
        [GOOD_ROWS[0], [*GOOD_ROWS[1][:3], "7", *GOOD_ROWS[1][4:]]],
        [f"line 3, column {CRITERIA[1]}: '7' is not an answer"],
    ),
    "text in a criterion": (
        [[*GOOD_ROWS[0][:2], "tốt", *GOOD_ROWS[0][3:]]],
        [f"line 2, column {CRITERIA[0]}: 'tốt' is not an answer"],
    ),
    "bad date": (
        [GOOD_ROWS[0], ["Oct 5, 2026", *GOOD_ROWS[1][1:]], ["2026-02-30", *GOOD_ROWS[2][1:]]],
        ["line 3, column submitted_at: 'Oct 5, 2026' is not a date", "line 4, column submitted"],
    ),
    "date in the future": (
        [["2027-01-01", *GOOD_ROWS[0][1:]]],
        ["line 2, column submitted_at: 2027-01-01 is in the future"],
    ),
    "criterion the agency's form lacks": (
        [[*GOOD_ROWS[4][:3], "5", *GOOD_ROWS[4][4:]]],
        [f"line 2, column {CRITERIA[1]}: questionnaire counter-5 of agency so_tu_phap has no"],
    ),
    "unknown sex": (
        [[*GOOD_ROWS[0][:-3], "x", *GOOD_ROWS[0][-2:]]],
        ["line 2, column sex: 'x' is not one of the choices"],
    ),
    "several bad rows at once": (
        [
            GOOD_ROWS[0],
            [*GOOD_ROWS[1][:1], "", *GOOD_ROWS[1][2:]],
            GOOD_ROWS[2],
            ["2026-13-01", "nowhere", "9", *GOOD_ROWS[3][3:]],
            GOOD_ROWS[4],
        ],
        [
            "line 3, column agency: empty",
            "line 5, column agency: unknown agency code 'nowhere'",
            f"line 5, column {CRITERIA[0]}: '9' is not an answer",
            "line 5, column submitted_at",
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
async def test_bad_rows_reject_the_whole_file_naming_every_line(settings, tmp_path, case):
    rows, expected = BAD_FILES[case]
    path = write_csv(tmp_path / "forms.csv", rows)

    code, message = await import_responses(settings, path, NOW)

    assert code == 1
    assert "nothing imported" in message
    for fragment in expected:
        assert fragment in message
    assert stored_nothing(settings)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ([h for h in HEADER if h != "submitted_at"], "line 1, column submitted_at: required"),
        ([h for h in HEADER if h != CRITERIA[2]], f"line 1, column {CRITERIA[2]}: column is"),
        ([*HEADER[:-1], "phone"], "line 1, column phone: unknown column"),
        ([*HEADER[:-1], "access_1"], "line 1, column access_1: the column appears more"),
    ],
    ids=["missing required", "missing criterion", "unknown column", "duplicate column"],
)
async def test_bad_header_rejects_the_file(settings, tmp_path, header, expected):
    rows = [[*row[: len(header)]] for row in GOOD_ROWS]
    path = write_csv(tmp_path / "forms.csv", rows, header=header)

    code, message = await import_responses(settings, path, NOW)

    assert code == 1
    assert expected in message
    assert stored_nothing(settings)


async def test_unreadable_files_are_refused_clearly(settings, tmp_path):
    ods = tmp_path / "forms.ods"
    ods.write_bytes(b"whatever")
    latin = tmp_path / "forms.csv"
    latin.write_bytes(",".join(HEADER).encode() + b"\n2026-10-05,ubnd_xa_a,\xe9\n")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")

    assert await import_responses(settings, ods, NOW) == (
        1,
        f"{ods}: expected a .csv or .xlsx file, not .ods",
    )
    assert "not UTF-8" in (await import_responses(settings, latin, NOW))[1]
    assert "not a readable .xlsx" in (await import_responses(settings, broken, NOW))[1]
    assert "the file is empty" in (await import_responses(settings, empty, NOW))[1]
    with pytest.raises(SheetError):
        read_sheet(ods)
    assert stored_nothing(settings)


def test_blank_rows_are_skipped_and_line_numbers_stay_those_of_the_sheet():
    blank: list[str | None] = [None, "  "]
    empty: list[str | None] = [""] * len(HEADER)
    rows: list[tuple[int, list[str | None]]] = [
        (2, list(GOOD_ROWS[0])),
        (3, empty),
        (4, blank),
        (5, list(GOOD_ROWS[1])),
    ]

    responses = parse_paper_forms(HEADER, rows, QUESTIONNAIRES)

    assert [r.line for r in responses] == [2, 5]
    with pytest.raises(PaperFormError) as caught:
        parse_paper_forms(HEADER, [(3, [""] * len(HEADER))], QUESTIONNAIRES)
    assert str(caught.value.problems[0]) == "line 1: the sheet has no responses below the header"


def test_options_match_ids_and_texts_in_either_language():
    row = [*GOOD_ROWS[0][:-3], " NAM ", "aged 18–24", ""]

    (response,) = parse_paper_forms(HEADER, [(2, row)], QUESTIONNAIRES)

    assert response.extras == {"sex": "male", "age_group": "18_24", "comment": None}
    assert response.position == 1 + len(CRITERIA) + len(SIPAS.optional)
    assert response.submitted_at == datetime(2026, 10, 5)


def test_a_value_in_an_unnamed_column_is_a_problem():
    with pytest.raises(PaperFormError) as caught:
        parse_paper_forms([*HEADER, ""], [(2, [*GOOD_ROWS[0], "x", "y"])], QUESTIONNAIRES)

    reasons = [str(problem) for problem in caught.value.problems]
    assert reasons == [
        f"line 2: value in column {len(HEADER) + 1}, which has no name in the header",
        "line 2: values to the right of the last named column",
    ]


async def test_a_storage_failure_stores_nothing(database_target):
    database = await Database.open(database_target)
    await migrate(database)
    await ResponseStore(database).sync_agencies([("ubnd_xa_a", "UBND xã A", "sipas-2023")])
    good = parse_paper_forms(HEADER, [(2, GOOD_ROWS[0])], QUESTIONNAIRES)
    # An agency the database does not know breaks the foreign key half-way through.
    orphan = PaperResponse(3, "gone", "counter-5", 7, datetime(2026, 10, 5), {}, {})

    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.ForeignKeyViolation)):
        await store_paper_responses(database, [*good, orphan], ZONE, NOW)

    assert await database.fetch_value("SELECT COUNT(*) FROM responses") == 0
    assert await database.fetch_value("SELECT COUNT(*) FROM daily_counts") == 0
    await database.close()
