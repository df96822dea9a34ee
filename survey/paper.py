"""Paper forms typed into a sheet: validate every row, all or nothing, into `PaperResponse`s."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from survey.flow import steps
from survey.models import SCALE_VALUES, OptionalStep, Questionnaire

SUBMITTED_AT = "submitted_at"
AGENCY = "agency"
REQUIRED_COLUMNS = (SUBMITTED_AT, AGENCY)
EXTRA_COLUMNS = ("procedure", "sex", "age_group", "education", "comment")
"""Optional-step columns; the spec names sex, age_group and comment, the others cost nothing."""

_NOT_APPLICABLE = frozenset({"na", "n/a"})
# Whole numbers only; "4.0" is what some spreadsheets write for a cell typed as 4.
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
_DATE_FORMS = "YYYY-MM-DD or YYYY-MM-DD HH:MM"

Cell = str | None
Row = tuple[int, Sequence[Cell]]


@dataclass(frozen=True)
class RowProblem:
    """What is wrong where: `line` as the spreadsheet numbers it (header = 1)."""

    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


class PaperFormError(ValueError):
    """The sheet cannot be imported; `problems` lists every one found, in line order."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)  # stable: keeps column order
        lines = len({p.line for p in self.problems})
        summary = f"{len(self.problems)} problem(s) on {lines} line(s)"
        super().__init__("\n".join([summary, *map(str, self.problems)]))


@dataclass(frozen=True)
class PaperResponse:
    """One valid paper form; `submitted_at` is naive local time, `position` the completed step."""

    line: int
    agency: str
    questionnaire: str
    position: int
    submitted_at: datetime
    answers: dict[str, int | None]
    extras: dict[str, str | None]


def _key(text: str) -> str:
    """How a header or an option text is compared: NFC, trimmed, case-insensitive."""
    return unicodedata.normalize("NFC", text).strip().casefold()


def _blank(cell: Cell) -> bool:
    return cell is None or not cell.strip()


def parse_submitted_at(text: str) -> datetime:
    """A local date (midnight) or date and time as typed; raises ValueError with the reason."""
    value = text.strip()
    # fromisoformat also takes week dates and compact forms: insist on the readable ones.
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?", value):
        raise ValueError(f"{text!r} is not a date; write {_DATE_FORMS}")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date or time") from None


def _scale_value(text: str) -> int | None:
    value = text.strip()
    if not value or value.casefold() in _NOT_APPLICABLE:
        return None
    if _NUMBER.fullmatch(value) and int(float(value)) in SCALE_VALUES:
        return int(float(value))
    raise ValueError(f"{text!r} is not an answer: write 1 to 5, or leave empty / NA")


@dataclass(frozen=True)
class _Form:
    """A questionnaire with what every row needs precomputed (its properties rebuild tuples)."""

    questionnaire: Questionnaire
    criteria: tuple[str, ...]
    criterion_set: frozenset[str]
    position: int
    optional: Mapping[str, OptionalStep]
    choices: Mapping[str, Mapping[str, str]]  # step id → option id, text (vi, en) → option id

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> _Form:
        criteria = questionnaire.criterion_ids
        return cls(
            questionnaire,
            criteria,
            frozenset(criteria),
            len(steps(questionnaire)),
            {step.id: step for step in questionnaire.optional},
            {
                step.id: {
                    _key(text): option.id
                    for option in step.options
                    for text in (option.id, option.text.vi, option.text.en)
                }
                for step in questionnaire.optional
            },
        )


class _Header:
    """Where each known column is, and the problems of the header row itself."""

    def __init__(self, header: Sequence[Cell], criteria: frozenset[str]) -> None:
        self.columns: dict[str, int] = {}
        self.width = len(header)
        self.names = [_key(cell or "") for cell in header]
        self.unnamed: list[int] = []
        self.problems: list[RowProblem] = []
        for index, cell in enumerate(header):
            if _blank(cell):
                self.unnamed.append(index)
                continue
            assert cell is not None
            name = _key(cell)
            if name in self.columns:
                self.problems.append(RowProblem(1, name, "the column appears more than once"))
            elif name in REQUIRED_COLUMNS or name in EXTRA_COLUMNS or name in criteria:
                self.columns[name] = index
            else:
                self.problems.append(RowProblem(1, cell.strip(), "unknown column"))
        for name in REQUIRED_COLUMNS:
            if name not in self.columns:
                self.problems.append(RowProblem(1, name, "required column is missing"))

    def cell(self, cells: Sequence[Cell], name: str) -> Cell:
        index = self.columns.get(name)
        return cells[index] if index is not None and index < len(cells) else None


def parse_paper_forms(
    header: Sequence[Cell],
    rows: Sequence[Row],
    questionnaires: Mapping[str, Questionnaire],
    latest: datetime | None = None,
) -> list[PaperResponse]:
    """Validate a typed-in sheet; `questionnaires` maps each agency code to its form.

    `latest` (naive local time) rejects forms dated after it, e.g. a mistyped year.

    Raises:
        PaperFormError: listing every problem of the header and of every row.
    """
    by_id = {q.id: _Form.of(q) for q in questionnaires.values()}
    forms = {code: by_id[q.id] for code, q in questionnaires.items()}
    head = _Header(header, frozenset(c for form in by_id.values() for c in form.criteria))
    problems = list(head.problems)
    responses: list[PaperResponse] = []
    first_line: dict[str, int] = {}  # questionnaire id → first line that uses it
    for line, cells in rows:
        if all(_blank(cell) for cell in cells):
            continue
        agency = (head.cell(cells, AGENCY) or "").strip()
        form = forms.get(agency)
        if form is not None:
            first_line.setdefault(form.questionnaire.id, line)
        elif AGENCY in head.columns:
            problems.append(RowProblem(line, AGENCY, _unknown_agency(agency, questionnaires)))
        response = _parse_row(head, line, cells, form, latest, problems)
        if response is not None:
            responses.append(response)
    problems.extend(_missing_criteria(head, by_id, first_line))
    if not responses and not problems:
        problems.append(RowProblem(1, None, "the sheet has no responses below the header"))
    if problems:
        where = {name: index for index, name in enumerate(head.names)}
        problems.sort(key=lambda p: (p.line, where.get(_key(p.column or ""), -1)))
        raise PaperFormError(problems)
    return responses


def _parse_row(
    head: _Header,
    line: int,
    cells: Sequence[Cell],
    form: _Form | None,
    latest: datetime | None,
    problems: list[RowProblem],
) -> PaperResponse | None:
    """The row's response, or None after adding its problems to `problems`."""
    found = len(problems)
    for index in head.unnamed:
        if index < len(cells) and not _blank(cells[index]):
            reason = f"value in column {index + 1}, which has no name in the header"
            problems.append(RowProblem(line, None, reason))
    if any(not _blank(cell) for cell in cells[head.width :]):
        problems.append(RowProblem(line, None, "values to the right of the last named column"))
    submitted = _submitted(head, line, cells, latest, problems)
    agency = (head.cell(cells, AGENCY) or "").strip()
    answers: dict[str, int | None] = {}
    for name in head.columns:
        if name in REQUIRED_COLUMNS or name in EXTRA_COLUMNS:
            continue
        text = head.cell(cells, name)
        if form is not None and name not in form.criterion_set:
            if not _blank(text):
                reason = f"questionnaire {form.questionnaire.id} of agency {agency} has no {name}"
                problems.append(RowProblem(line, name, f"{reason}; leave it empty"))
            continue
        try:
            answers[name] = _scale_value(text or "")
        except ValueError as error:
            problems.append(RowProblem(line, name, str(error)))
    extras = _extras(head, line, cells, form, agency, problems)
    if len(problems) > found or form is None or submitted is None:
        return None
    return PaperResponse(
        line=line,
        agency=agency,
        questionnaire=form.questionnaire.id,
        position=form.position,
        submitted_at=submitted,
        answers={c: answers[c] for c in form.criteria if c in answers},
        extras=extras,
    )


def _submitted(
    head: _Header,
    line: int,
    cells: Sequence[Cell],
    latest: datetime | None,
    problems: list[RowProblem],
) -> datetime | None:
    if SUBMITTED_AT not in head.columns:
        return None
    text = head.cell(cells, SUBMITTED_AT)
    if _blank(text):
        problems.append(RowProblem(line, SUBMITTED_AT, f"empty; write {_DATE_FORMS}"))
        return None
    assert text is not None
    try:
        submitted = parse_submitted_at(text)
    except ValueError as error:
        problems.append(RowProblem(line, SUBMITTED_AT, str(error)))
        return None
    if latest is not None and submitted > latest:
        problems.append(RowProblem(line, SUBMITTED_AT, f"{text.strip()} is in the future"))
        return None
    return submitted


def _unknown_agency(agency: str, questionnaires: Mapping[str, Questionnaire]) -> str:
    if not agency:
        return "empty; write the agency code"
    # Codes are case-sensitive in QR links, so a near miss is pointed out, not accepted.
    near = [code for code in questionnaires if code.casefold() == agency.casefold()]
    hint = f" (did you mean {near[0]}?)" if near else ""
    return f"unknown agency code {agency!r}{hint}"


def _extras(
    head: _Header,
    line: int,
    cells: Sequence[Cell],
    form: _Form | None,
    agency: str,
    problems: list[RowProblem],
) -> dict[str, str | None]:
    extras: dict[str, str | None] = {}
    for name in EXTRA_COLUMNS:
        if name not in head.columns:
            continue
        text = head.cell(cells, name)
        if form is None:
            continue  # the row is refused for its agency already
        step = form.optional.get(name)
        if step is None:
            if not _blank(text):
                reason = f"questionnaire {form.questionnaire.id} of agency {agency} has no {name}"
                problems.append(RowProblem(line, name, f"{reason}; leave it empty"))
            continue
        if text is None or not text.strip():
            extras[name] = None  # skipped, as when a citizen presses "skip"
        elif step.kind == "choice":
            option = form.choices[name].get(_key(text))
            if option is None:
                choices = ", ".join(option.id for option in step.options)
                reason = f"{text!r} is not one of the choices ({choices}, or their texts)"
                problems.append(RowProblem(line, name, reason))
            extras[name] = option
        elif len(text.strip()) > step.max_length:
            problems.append(RowProblem(line, name, f"longer than {step.max_length} characters"))
        else:
            extras[name] = text.strip()
    return extras


def _missing_criteria(
    head: _Header, forms: Mapping[str, _Form], first_line: Mapping[str, int]
) -> list[RowProblem]:
    """A criterion of a questionnaire in use but absent from the header: the wrong template."""
    problems = []
    for questionnaire_id, line in first_line.items():
        for criterion in forms[questionnaire_id].criteria:
            if criterion not in head.columns:
                reason = (
                    f"column is missing; questionnaire {questionnaire_id} (first used on line "
                    f"{line}) asks it (leave its cells empty for not applicable)"
                )
                problems.append(RowProblem(1, criterion, reason))
    return problems
