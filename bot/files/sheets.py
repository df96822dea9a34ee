"""Files in and out: paper forms from CSV/XLSX (`import-responses`) and the `export` file."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.config import Settings
from storage.exports import ExportData, ExportRow
from survey.catalogue import Catalogue
from survey.comments import clean_cell
from survey.models import ELEMENT_IDS, Questionnaire, element_of
from survey.paper import EXTRA_COLUMNS, PaperSheet, read_paper_sheet

RESPONSES_SHEET = "Phiếu trả lời"
INDEX_SHEET = "Chỉ số"
NA_TEXT = "NA"
FIXED_COLUMNS = (
    "response_id",
    "respondent",
    "agency",
    "questionnaire",
    "channel",
    "completed_at",
    "day",
)
_BOLD = Font(bold=True)
# A cell a spreadsheet would run as a formula; citizens' comments are untrusted text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+([.,][0-9]+)?")

SheetRows = list[tuple[int, list[str | None]]]
MAX_ROWS = 200_000
"""Rows below the header an import reads; a bigger file is refused, so memory stays bounded."""
Value = str | float | int | None


class SheetError(Exception):
    """A file that cannot be read as a sheet at all (wrong type, not UTF-8, corrupt)."""


@dataclass(frozen=True)
class IndexTable:
    """One table of the index part of an export: a title, a header row and the rows."""

    title: str
    header: list[str]
    rows: list[list[Value]]


def read_sheet(path: Path) -> tuple[list[str], SheetRows]:
    """The header (line 1) and the numbered rows of a .csv or an .xlsx file (its first sheet).

    Raises:
        SheetError: another extension, an unreadable or corrupt file, or CSV not in UTF-8.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        lines = _read_csv(path)
    elif suffix == ".xlsx":
        lines = _read_xlsx(path)
    else:
        raise SheetError(f"{path}: expected a .csv or .xlsx file, not {suffix or 'no extension'}")
    if not lines:
        return [], []
    _, header = lines[0]
    return [cell or "" for cell in header], lines[1:]


def _read_csv(path: Path) -> SheetRows:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise SheetError(f"{path}: cannot be read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise SheetError(
            f"{path}: not UTF-8 text; in Excel use Save As → 'CSV UTF-8', or save as .xlsx"
        ) from None
    first = text.split("\n", 1)[0]
    # Excel in locales with a decimal comma (Vietnamese among them) saves CSV with ';'.
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    # A spreadsheet row is a CSV record (a quoted comment may span several text lines).
    rows: SheetRows = []
    try:
        for number, record in enumerate(reader, start=1):
            if number > MAX_ROWS + 1 and any(cell.strip() for cell in record):
                raise SheetError(
                    f"{path}: more than {MAX_ROWS:,} rows below the header (a value on line "
                    f"{number:,}); split the file and import the parts one after the other"
                )
            rows.append((number, list(record)))
    except csv.Error as error:
        message = f"{path}: line {reader.line_num}: not readable as CSV ({error})"
        raise SheetError(message) from None
    return rows


def _read_xlsx(path: Path) -> SheetRows:
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # zip, XML and openpyxl errors alike: the file is not usable
        raise SheetError(f"{path}: not a readable .xlsx file ({error})") from None
    try:
        sheet = workbook.worksheets[0]
        # A sheet may claim any size (A1:XFD1048576 in a few KB): openpyxl would pad every row
        # to it. Ignore the claim and stream the rows as they are written.
        sheet.reset_dimensions()
        return _bounded_rows(path, sheet.iter_rows(values_only=True))
    except SheetError:
        raise
    except Exception as error:  # openpyxl surfaces damaged XML as assorted parser errors
        raise SheetError(f"{path}: not a readable .xlsx file ({error})") from None
    finally:
        workbook.close()


def _bounded_rows(path: Path, values: Iterable[Sequence[Any]]) -> SheetRows:
    """The header and non-blank rows, as wide as the header, refused past `MAX_ROWS`.

    Cells beyond the header's last name are dropped, but one is kept if a row has any, so the
    row is still refused for values to the right of the last named column.
    """
    rows: SheetRows = []
    width = 0
    for number, cells in enumerate(values, 1):
        if number == 1:
            header = [_cell_text(value) for value in cells]
            width = max(
                (i + 1 for i, cell in enumerate(header) if cell and cell.strip()), default=0
            )
            rows.append((1, header[:width]))
            continue
        if all(value is None or value == "" for value in cells):
            continue  # also the blank rows a sheet claiming a huge size is padded with
        if number > MAX_ROWS + 1:
            raise SheetError(
                f"{path}: more than {MAX_ROWS:,} rows below the header (a value on line "
                f"{number:,}); split the file and import the parts one after the other"
            )
        row = [_cell_text(value) for value in cells[:width]]
        beyond = next((v for v in cells[width:] if v is not None and v != ""), None)
        if beyond is not None:
            row += [None] * (width - len(row)) + [_cell_text(beyond)]
        rows.append((number, row))
    return rows


def _cell_text(value: Any) -> str | None:
    """A cell as the text `survey.paper` reads: dates ISO, whole numbers without `.0`."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        # Excel keeps times as fractions of a day: 14:30 may come back as 14:29:59.999.
        moment: datetime = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
        if moment.time() == time(0):
            return moment.date().isoformat()
        return moment.isoformat(sep=" ", timespec="minutes" if not moment.second else "seconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def agency_questionnaires(settings: Settings, catalogue: Catalogue) -> dict[str, Questionnaire]:
    """Each configured agency's questionnaire."""
    return {a.code: catalogue[settings.questionnaire_of(a.code)] for a in settings.agencies}


def read_paper_forms(
    settings: Settings, catalogue: Catalogue, path: Path, now: datetime
) -> PaperSheet:
    """Every row of `path` validated, or an error listing every bad row (nothing is stored).

    Raises:
        SheetError: the file cannot be read as a sheet.
        PaperFormError: one or more rows are wrong; each is named with its line and reason.
    """
    header, rows = read_sheet(path)
    if not header:
        raise SheetError(f"{path}: the file is empty; line 1 must name the columns")
    latest = now.astimezone(settings.bot.zone).replace(tzinfo=None)
    questionnaires = agency_questionnaires(settings, catalogue)
    return read_paper_sheet(header, rows, questionnaires, latest=latest, zone=settings.bot.zone)


def response_columns(data: ExportData, catalogue: Catalogue) -> tuple[list[str], list[str]]:
    """The criterion columns (element order, then number) and the optional-step columns."""
    criteria: set[str] = set()
    extras: set[str] = set()
    for questionnaire in data.questionnaires:
        if questionnaire in catalogue:
            criteria.update(catalogue[questionnaire].criterion_ids)
    for row in data.rows:
        criteria.update(row.answers)
        extras.update(row.extras)
    return sorted(criteria, key=_criterion_order), sorted(extras, key=_extra_order)


def _criterion_order(criterion: str) -> tuple[int, int, str]:
    try:
        element = element_of(criterion)
        number = int(criterion.rsplit("_", 1)[1])
    except ValueError:
        return (len(ELEMENT_IDS), 0, criterion)
    if element not in ELEMENT_IDS:
        return (len(ELEMENT_IDS), 0, criterion)
    return (ELEMENT_IDS.index(element), number, criterion)


def _extra_order(field: str) -> tuple[int, str]:
    return (EXTRA_COLUMNS.index(field) if field in EXTRA_COLUMNS else len(EXTRA_COLUMNS), field)


def _response_values(row: ExportRow, criteria: list[str], extras: list[str]) -> list[Value]:
    answers: list[Value] = [
        (NA_TEXT if row.answers[c] is None else row.answers[c]) if c in row.answers else None
        for c in criteria
    ]
    head: list[Value] = [
        row.response_id,
        row.respondent,
        row.agency,
        row.questionnaire,
        row.channel,
        row.completed_at,
        row.day,
    ]
    return [*head, *answers, *(row.extras.get(field) for field in extras)]


def write_export(
    data: ExportData,
    catalogue: Catalogue,
    fmt: Literal["csv", "xlsx"],
    out: Path,
    index_tables: Sequence[IndexTable],
) -> Path:
    """Write the responses and the index tables to `out` as CSV or XLSX; returns `out`."""
    criteria, extras = response_columns(data, catalogue)
    header = [*FIXED_COLUMNS, *criteria, *extras]
    rows = [_response_values(row, criteria, extras) for row in data.rows]
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        _write_csv(out, header, rows, index_tables)
    else:
        _write_xlsx(out, header, rows, index_tables)
    return out


def _csv_safe(value: Value) -> Value:
    formula = isinstance(value, str) and value.startswith(_FORMULA_START)
    if formula and not _PLAIN_NUMBER.fullmatch(str(value)):
        return f"'{value}"  # shown as text, never evaluated
    return value


def _write_csv(
    out: Path, header: list[str], rows: list[list[Value]], tables: Sequence[IndexTable]
) -> None:
    # The BOM makes Excel read the file as UTF-8, so Vietnamese shows correctly.
    with out.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows([_csv_safe(v) for v in row] for row in rows)
        for table in tables:
            writer.writerow([])
            writer.writerow([_csv_safe(table.title)])
            writer.writerow([_csv_safe(v) for v in table.header])
            writer.writerows([_csv_safe(v) for v in row] for row in table.rows)


def _write_xlsx(
    out: Path, header: list[str], rows: list[list[Value]], tables: Sequence[IndexTable]
) -> None:
    # Write-only mode streams rows to disk: a year of responses stays within memory.
    workbook = openpyxl.Workbook(write_only=True)
    try:
        responses = workbook.create_sheet(RESPONSES_SHEET)
        responses.freeze_panes = "A2"
        _set_widths(responses, [header, *rows[:200]])
        responses.append(_cells(responses, header, bold=True))
        for row in rows:
            responses.append(_cells(responses, row))
        index = workbook.create_sheet(INDEX_SHEET)
        sample: list[Sequence[Value]] = []
        for table in tables:
            sample.extend([table.header, *table.rows[:200]])
        _set_widths(index, sample)
        for number, table in enumerate(tables):
            if number:
                index.append([])
            index.append(_cells(index, [table.title], bold=True))
            index.append(_cells(index, table.header, bold=True))
            for table_row in table.rows:
                index.append(_cells(index, table_row))
        workbook.save(out)
    except BaseException:
        _discard(workbook)
        raise


def _discard(workbook: Any) -> None:
    # A failed write leaves each sheet's row writer suspended inside an open XML element; if the
    # garbage collector closed it later, it would write to a closed file and CPython would report
    # that as an unraisable error at some random later moment. Close them now, quietly.
    for sheet in workbook.worksheets:
        rows = getattr(sheet, "_rows", None)
        if rows is not None:
            with contextlib.suppress(Exception):
                rows.close()


def _cells(sheet: Any, values: Iterable[Value], bold: bool = False) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        if isinstance(value, str):
            value = clean_cell(
                value
            )  # rows stored before comments were cleaned: XML can't hold all
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # openpyxl would store it as a formula
        if bold:
            cell.font = _BOLD
        cells.append(cell)
    return cells


def _set_widths(sheet: Any, sample: Sequence[Sequence[Value]]) -> None:
    widths: dict[int, int] = {}
    for row in sample:
        for column, value in enumerate(row, start=1):
            length = len(str(value)) if value is not None else 0
            widths[column] = max(widths.get(column, 8), min(length + 2, 50))
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = width
