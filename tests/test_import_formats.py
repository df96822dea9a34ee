"""`import-responses` reads sheets as Google Forms, KoboToolbox and Excel write them."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.config import Settings, load_settings
from bot.digest.compose import preview_period
from bot.files.importing import import_responses
from bot.questionnaires import load_catalogue
from survey.paper import PaperFormError, parse_paper_forms
from survey.paper_cells import DATE_FORMS, parse_submitted_at
from tests.cli_support import run_cli

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
CATALOGUE = load_catalogue()
SIPAS = CATALOGUE["sipas-2023"]
COUNTER = CATALOGUE["counter-5"]
CRITERIA = SIPAS.criteria
QUESTIONNAIRES = {"ubnd_xa_a": SIPAS, "so_tu_phap": COUNTER}


def write_config(folder: Path) -> Path:
    config = folder / "config.toml"
    config.write_text(
        '[storage]\npath = "sipas.sqlite"\n\n'
        '[privacy]\nsecret = "a-test-secret-of-some-length"\n\n'
        '[[agencies]]\ncode = "ubnd_xa_a"\nname = "UBND xã A"\n\n'
        '[[agencies]]\ncode = "so_tu_phap"\nname = "Sở Tư pháp"\nquestionnaire = "counter-5"\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def settings(config: Path) -> Settings:
    return load_settings(config, environ={})


def stored(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.storage.path) as db:
        return db.execute(sql, params).fetchall()


def answers_of(settings: Settings) -> list[dict[str, int]]:
    """Each stored response's answers, in the order of its id (0 = not applicable)."""
    rows = stored(settings, "SELECT response_id, criterion, value FROM answers ORDER BY 1")
    by_id: dict[int, dict[str, int]] = {}
    for response_id, criterion, value in rows:
        by_id.setdefault(response_id, {})[criterion] = value
    return [by_id[key] for key in sorted(by_id)]


# -- Google Forms: statement texts as headers, dd/mm/yyyy timestamps, answers as labels --------


def google_header() -> list[str]:
    """How a form builder titles the columns: numbered, numbered with text, grid rows, text."""
    titles = []
    for number, criterion in enumerate(CRITERIA, 1):
        text = criterion.text.vi
        if number == 1:
            titles.append("Câu 1. " + text[:20] + "…")
        elif number == 2:
            titles.append("2.")
        elif number == 3:
            titles.append("Câu 3")
        elif number % 2:
            titles.append(f"Mức độ hài lòng của Ông/Bà [{text}]")
        else:
            titles.append(text.upper() if number == 4 else text)
    return ["Dấu thời gian", "Cơ quan", *titles, "Giới tính", "Độ tuổi", "Ý kiến khác"]


LABELS = ["Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"]


def google_answers(seed: int) -> tuple[list[str], dict[str, int]]:
    """The cells a citizen's answers become, and the values they must be stored as."""
    cells, values = [], {}
    for number, criterion in enumerate(CRITERIA, 1):
        value = (seed + number) % 5 + 1
        form = (seed + number) % 6
        if form == 0:
            cells.append("Không áp dụng")
            values[criterion.id] = 0
            continue
        cells.append(
            [
                LABELS[value - 1],
                f"{value} - {LABELS[value - 1]}",
                f"{value}.0",
                f" {LABELS[value - 1].upper()} ",
                ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied")[
                    value - 1
                ],
            ][form - 1]
        )
        values[criterion.id] = value
    return cells, values


def write_google_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(google_header())
        writer.writerows(rows)
    return path


async def test_a_google_forms_csv_is_read_by_statement_text_number_and_labels(settings, tmp_path):
    first, first_values = google_answers(0)
    second, second_values = google_answers(3)
    rows = [
        ["05/10/2026 14:30:00", "ubnd_xa_a", *first, "Nữ", "Trên 60 tuổi", "Chờ\x0b lâu\x1b\x00 "],
        ["6/10/2026 8:05", "ubnd_xa_a", *second, "", "", ""],
    ]
    path = write_google_csv(tmp_path / "google.csv", rows)

    code, message = await import_responses(settings, path, NOW)

    assert code == 0, message
    assert message.splitlines()[0] == f"imported 2 responses from {path}"
    assert answers_of(settings) == [first_values, second_values]
    times = stored(settings, "SELECT completed_at, day FROM responses ORDER BY id")
    assert times == [
        ("2026-10-05T14:30:00+07:00", "2026-10-05"),
        ("2026-10-06T08:05:00+07:00", "2026-10-06"),
    ]
    extras = dict(stored(settings, "SELECT field, value FROM extras WHERE response_id = 1"))
    # Control characters cannot be written to XLSX: an export of this comment would fail.
    assert extras == {"sex": "female", "age_group": "over_60", "comment": "Chờ lâu"}
    assert "column 3 'Câu 1. Cơ quan cung cấp thô…' → access_1" in message
    assert "column 4 '2.' → access_2" in message
    assert f"column 8 '{CRITERIA[5].text.vi[:49]}…' → {CRITERIA[5].id}" in message
    assert "column 5 'Câu 3' → access_3" in message
    assert "column 24 'Ý kiến khác' → comment" in message


def test_every_accepted_answer_form_reads_as_its_value():
    header = ["submitted_at", "agency", *SIPAS.criterion_ids]
    cells = ["4", "4 - Hài lòng", "Hài lòng", "4.0", "satisfied", "4 – Satisfied", "NA", "n/a"]
    cells += ["Không áp dụng", "", "  "] + ["5"] * (len(CRITERIA) - 11)
    (response,) = parse_paper_forms(
        header, [(2, ["2026-10-05", "ubnd_xa_a", *cells])], QUESTIONNAIRES
    )

    values = list(response.answers.values())
    assert values[:11] == [4, 4, 4, 4, 4, 4, None, None, None, None, None]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("4 - Rất hài lòng", "'4 - Rất hài lòng': the number and the label disagree"),
        ("6", "'6' is not an answer: write 1 to 5 or the scale's label, or leave empty / NA"),
        ("hài lòng lắm", "'hài lòng lắm' is not an answer"),
    ],
)
def test_a_wrong_answer_is_named_with_its_line_and_reason(cell, reason):
    header = ["submitted_at", "agency", *SIPAS.criterion_ids]
    row = ["2026-10-05", "ubnd_xa_a", cell, *["3"] * (len(CRITERIA) - 1)]

    with pytest.raises(PaperFormError) as caught:
        parse_paper_forms(header, [(7, row)], QUESTIONNAIRES)

    assert str(caught.value.problems[0]).startswith(f"line 7, column access_1: {reason}")


def test_a_row_without_any_answer_is_an_error_on_its_line():
    header = ["submitted_at", "agency", *SIPAS.criterion_ids, "sex"]
    good = ["2026-10-05", "ubnd_xa_a", *["4"] * len(CRITERIA), ""]
    empty = ["2026-10-05", "ubnd_xa_a", *[""] * (len(CRITERIA) - 2), "NA", "Không áp dụng", "Nữ"]

    with pytest.raises(PaperFormError) as caught:
        parse_paper_forms(header, [(2, good), (3, empty)], QUESTIONNAIRES)

    assert [str(p) for p in caught.value.problems] == [
        "line 3: no statement is answered (all empty or NA); "
        "a form without a rating is not counted"
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["Câu 99"], "line 1, column Câu 99: unknown column"),
        (["số điện thoại"], "line 1, column số điện thoại: unknown column"),
        (
            ["Câu 1"],
            "line 1, column Câu 1: means access_1 of sipas-2023, as column 'access_1' does",
        ),
        (["Sex", "Giới tính"], "line 1, column Giới tính: means sex, as column 'Sex' does"),
        (["Dấu thời gian"], "line 1, column Dấu thời gian: means submitted_at"),
    ],
)
def test_an_unknown_or_doubled_column_is_a_clear_error(extra, expected):
    header = ["submitted_at", "agency", *SIPAS.criterion_ids, *extra]
    row = ["2026-10-05", "ubnd_xa_a", *["4"] * len(CRITERIA), *[""] * len(extra)]

    with pytest.raises(PaperFormError) as caught:
        parse_paper_forms(header, [(2, row)], QUESTIONNAIRES)

    assert any(str(p).startswith(expected) for p in caught.value.problems), caught.value


def test_statement_numbers_follow_the_questionnaire_of_each_row():
    """`Câu 2` is access_2 on the 19-statement form and procedures_1 on the counter form."""
    header = ["submitted_at", "agency", *(f"Câu {n}" for n in range(1, len(CRITERIA) + 1))]
    sipas = ["2026-10-05", "ubnd_xa_a", *["4"] * len(CRITERIA)]
    counter = ["2026-10-05", "so_tu_phap", "1", "2", "3", "4", "5", *[""] * (len(CRITERIA) - 5)]

    first, second = parse_paper_forms(header, [(2, sipas), (3, counter)], QUESTIONNAIRES)

    assert list(first.answers) == list(SIPAS.criterion_ids)
    assert second.answers == dict(zip(COUNTER.criterion_ids, [1, 2, 3, 4, 5], strict=True))


# -- submitted_at ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "local"),
    [
        ("2026-10-05", datetime(2026, 10, 5)),
        ("2026-10-05 14:30", datetime(2026, 10, 5, 14, 30)),
        ("2026-10-05T14:30:15", datetime(2026, 10, 5, 14, 30, 15)),
        ("2026-10-05T14:30:15.250", datetime(2026, 10, 5, 14, 30, 15, 250000)),
        ("2026-10-05T07:30:00Z", datetime(2026, 10, 5, 14, 30)),
        ("2026-09-30T17:30:00+00:00", datetime(2026, 10, 1, 0, 30)),
        ("2026-10-05 09:30:00.123-05:00", datetime(2026, 10, 5, 21, 30, 0, 123000)),
        ("2026-10-05T14:30:00+07:00", datetime(2026, 10, 5, 14, 30)),
        ("05/10/2026", datetime(2026, 10, 5)),
        ("5/10/2026 8:05", datetime(2026, 10, 5, 8, 5)),
        ("05/10/2026 14:30:59", datetime(2026, 10, 5, 14, 30, 59)),
        ("46300", datetime(2026, 10, 5)),
        ("46300.604166667", datetime(2026, 10, 5, 14, 30)),
    ],
)
def test_every_accepted_time_form_becomes_local_time(cell, local):
    assert parse_submitted_at(cell, ZONE) == local


@pytest.mark.parametrize(
    ("cell", "zone", "reason"),
    [
        ("31/02/2026", ZONE, "'31/02/2026' is not a real date or time: day is out of range"),
        ("10/13/2026", ZONE, "(the day comes first: dd/mm/yyyy)"),
        ("05/10/26", ZONE, "'05/10/26': write the year with four digits"),
        ("2026-02-30", ZONE, "'2026-02-30' is not a real date or time"),
        ("Oct 5 2026", ZONE, "'Oct 5 2026' is not a date"),
        ("2026-W40-1", ZONE, "'2026-W40-1' is not a date"),
        ("2026-03-29 02:30", ZoneInfo("Europe/Paris"), "did not exist in Europe/Paris"),
        ("2026-10-25 02:30", ZoneInfo("Europe/Paris"), "is ambiguous in Europe/Paris"),
    ],
)
def test_an_impossible_or_ambiguous_time_is_refused_with_the_forms_accepted(cell, zone, reason):
    with pytest.raises(ValueError, match=re.escape(reason)) as caught:
        parse_submitted_at(cell, zone)

    if "Europe" not in reason:
        assert str(caught.value).endswith(f"write {DATE_FORMS}")


# -- KoboToolbox and Excel sheets; local days and weeks ----------------------------------------


def write_xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


# Sunday 4 October 2026 ends, Monday 5 October begins, at 17:00 UTC in Hanoi (UTC+7).
AROUND_MIDNIGHT = [
    "2026-10-04T16:59:59Z",  # Sunday 23:59:59 local: last week
    "2026-10-04T23:30:00+07:00",  # Sunday 23:30 local
    "2026-10-04T17:00:00Z",  # Monday 00:00 local: this week
    "2026-10-05T00:30:00+07:00",  # Monday 00:30 local
    "2026-10-04T18:00:00.000Z",  # Monday 01:00 local
]


async def test_kobo_times_with_offsets_land_in_the_right_local_day_and_week(config, tmp_path):
    header = ["submitted_at", "agency", *SIPAS.criterion_ids, "sex"]
    rows = [
        [stamp, "ubnd_xa_a", *(str((i + n) % 5 + 1) for n in range(len(CRITERIA))), "female"]
        for i, stamp in enumerate(AROUND_MIDNIGHT)
    ]
    path = write_xlsx(tmp_path / "kobo.xlsx", header, rows)

    result = run_cli("import-responses", "--config", str(config), str(path), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    settings = load_settings(config, environ={})
    days = stored(settings, "SELECT day FROM responses ORDER BY id")
    assert days == [("2026-10-04",)] * 2 + [("2026-10-05",)] * 3
    # The digest sent on Monday 12 October covers the week of the Monday rows only.
    digest_week = preview_period(settings, datetime(2026, 10, 12, 1, 0, tzinfo=UTC))
    last_week = preview_period(settings, datetime(2026, 10, 5, 1, 0, tzinfo=UTC))
    for period, expected in ((digest_week, 3), (last_week, 2)):
        report = run_cli(
            "report",
            "--config",
            str(config),
            "--agency",
            "ubnd_xa_a",
            "--from",
            period.start.isoformat(),
            "--to",
            period.end.isoformat(),
            "--json",
            cwd=tmp_path,
        )
        assert report.returncode == 0, report.stderr
        assert json.loads(report.stdout)["responses"] == expected, period


async def test_an_excel_sheet_with_real_date_cells_and_serial_numbers(settings, tmp_path):
    header = ["submitted_at", "agency", *SIPAS.criterion_ids]
    answers = [4] * len(CRITERIA)
    rows: list[list[Any]] = [
        [datetime(2026, 10, 5, 14, 30), "ubnd_xa_a", *answers],
        [datetime(2026, 10, 6), "ubnd_xa_a", *answers],
        [46301.75, "ubnd_xa_a", *answers],  # a date cell that lost its date format
    ]
    path = write_xlsx(tmp_path / "excel.xlsx", header, rows)

    code, message = await import_responses(settings, path, NOW)

    assert code == 0, message
    assert stored(settings, "SELECT completed_at FROM responses ORDER BY id") == [
        ("2026-10-05T14:30:00+07:00",),
        ("2026-10-06T00:00:00+07:00",),
        ("2026-10-06T18:00:00+07:00",),
    ]


async def test_imported_comments_lose_the_characters_xml_cannot_hold(settings, tmp_path):
    """Issue 12 item 7: one \\x0b in a stored comment made every XLSX export of it fail."""
    header = ["submitted_at", "agency", *SIPAS.criterion_ids, "comment"]
    answers = ["4"] * len(CRITERIA)
    comments = ["Cần\x0b thêm\x1b ghế\x00 chờ\r\nở tầng 1", "\u200b\x0b \x1b", "Tốt\ufffe"]
    with (tmp_path / "forms.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(["2026-10-05", "ubnd_xa_a", *answers, c] for c in comments)

    code, message = await import_responses(settings, tmp_path / "forms.csv", NOW)

    assert code == 0, message
    rows = stored(
        settings, "SELECT value FROM extras WHERE field = 'comment' ORDER BY response_id"
    )
    assert rows == [("Cần thêm ghế chờ\nở tầng 1",), (None,), ("Tốt",)]
    # A comment of invisible characters only is no comment: the daily count says so.
    assert stored(settings, "SELECT SUM(comments) FROM daily_responses") == [(2,)]
