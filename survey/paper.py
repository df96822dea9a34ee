"""Paper forms typed into a sheet: validate every row, all or nothing, into `PaperResponse`s."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from survey.comments import clean_comment
from survey.flow import steps
from survey.models import OptionalStep, Questionnaire
from survey.paper_cells import DATE_FORMS, parse_answer, parse_submitted_at, scale_labels, text_key
from survey.paper_header import (
    AGENCY,
    EXTRA_COLUMNS,
    REQUIRED_COLUMNS,
    SUBMITTED_AT,
    FormColumns,
    Header,
)
from survey.paper_rows import (
    PaperFormError,
    PaperResponse,
    PaperSheet,
    RowProblem,
    fingerprint,
    identical_rows,
    rows_per_agency_and_month,
)

__all__ = [
    "AGENCY",
    "EXTRA_COLUMNS",
    "REQUIRED_COLUMNS",
    "SUBMITTED_AT",
    "PaperFormError",
    "PaperResponse",
    "PaperSheet",
    "RowProblem",
    "fingerprint",
    "parse_paper_forms",
    "parse_submitted_at",
    "read_paper_sheet",
    "rows_per_agency_and_month",
]

Cell = str | None
Row = tuple[int, Sequence[Cell]]


def _blank(cell: Cell) -> bool:
    return cell is None or not cell.strip()


@dataclass(frozen=True)
class _Form:
    """A questionnaire with what every row needs precomputed (its properties rebuild tuples)."""

    questionnaire: Questionnaire
    criteria: tuple[str, ...]
    position: int
    labels: Mapping[str, int]
    optional: Mapping[str, OptionalStep]
    choices: Mapping[str, Mapping[str, str]]  # step id → option id, text (vi, en) → option id

    @classmethod
    def of(cls, questionnaire: Questionnaire) -> _Form:
        return cls(
            questionnaire,
            questionnaire.criterion_ids,
            len(steps(questionnaire)),
            scale_labels(questionnaire),
            {step.id: step for step in questionnaire.optional},
            {
                step.id: {
                    text_key(text): option.id
                    for option in step.options
                    for text in (option.id, option.text.vi, option.text.en)
                }
                for step in questionnaire.optional
            },
        )


def parse_paper_forms(
    header: Sequence[Cell],
    rows: Iterable[Row],
    questionnaires: Mapping[str, Questionnaire],
    latest: datetime | None = None,
    zone: tzinfo = UTC,
) -> list[PaperResponse]:
    """The responses of `read_paper_sheet`; raises `PaperFormError` as it does."""
    return read_paper_sheet(header, rows, questionnaires, latest, zone).responses


def read_paper_sheet(
    header: Sequence[Cell],
    rows: Iterable[Row],
    questionnaires: Mapping[str, Questionnaire],
    latest: datetime | None = None,
    zone: tzinfo = UTC,
) -> PaperSheet:
    """Validate a typed-in sheet; `questionnaires` maps each agency code to its form.

    Times are read as local times of `zone` (those with an offset are converted to it);
    `latest` (naive local time) rejects forms dated after it, e.g. a mistyped year.

    Raises:
        PaperFormError: listing every problem of the header and of every row.
    """
    by_id = {q.id: _Form.of(q) for q in questionnaires.values()}
    forms = {code: by_id[q.id] for code, q in questionnaires.items()}
    head = Header(header, [form.questionnaire for form in by_id.values()])
    problems = [RowProblem(1, title, reason) for title, reason in head.problems]
    any_labels = {key: value for form in by_id.values() for key, value in form.labels.items()}
    responses: list[PaperResponse] = []
    first_line: dict[str, int] = {}  # questionnaire id → first line that uses it
    agency_at = head.fields.get(AGENCY)
    for line, cells in rows:
        if all(_blank(cell) for cell in cells):
            continue
        agency = _cell(cells, agency_at).strip()
        form = forms.get(agency)
        if form is not None:
            if form.questionnaire.id not in first_line:
                first_line[form.questionnaire.id] = line
                problems.extend(_form_problems(head, form, line))
        elif agency_at is not None:
            problems.append(RowProblem(line, AGENCY, _unknown_agency(agency, questionnaires)))
        response = _parse_row(head, line, cells, form, latest, zone, problems, any_labels)
        if response is not None:
            responses.append(response)
    if not responses and not problems:
        problems.append(RowProblem(1, None, "the sheet has no responses below the header"))
    if problems:
        where = {title: index for index, title in enumerate(head.titles)}
        where.update((name, index) for name, index in head.fields.items())
        problems.sort(key=lambda p: (p.line, where.get(p.column or "", -1)))
        raise PaperFormError(problems)
    used = [by_id[q].questionnaire for q in first_line]
    return PaperSheet(responses, head.mapping(used), identical_rows(responses))


def _cell(cells: Sequence[Cell], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index] or ""


def _form_problems(head: Header, form: _Form, line: int) -> list[RowProblem]:
    """The header problems of a questionnaire first used on `line`: the wrong template."""
    columns = head.columns_of(form.questionnaire)
    problems = [RowProblem(1, title, reason) for title, reason in columns.problems]
    for criterion in form.criteria:
        if criterion not in columns.criteria:
            reason = (
                f"column is missing; questionnaire {form.questionnaire.id} (first used on line "
                f"{line}) asks it (leave its cells empty for not applicable)"
            )
            problems.append(RowProblem(1, criterion, reason))
    return problems


def _parse_row(
    head: Header,
    line: int,
    cells: Sequence[Cell],
    form: _Form | None,
    latest: datetime | None,
    zone: tzinfo,
    problems: list[RowProblem],
    any_labels: Mapping[str, int],
) -> PaperResponse | None:
    """The row's response, or None after adding its problems to `problems`."""
    found = len(problems)
    for index in head.unnamed:
        if index < len(cells) and not _blank(cells[index]):
            reason = f"value in column {index + 1}, which has no name in the header"
            problems.append(RowProblem(line, None, reason))
    if any(not _blank(cell) for cell in cells[head.width :]):
        problems.append(RowProblem(line, None, "values to the right of the last named column"))
    submitted = _submitted(head, line, cells, latest, zone, problems)
    agency = _cell(cells, head.fields.get(AGENCY)).strip()
    if form is None:  # refused for its agency; its answers are still checked, to list all at once
        for column in head.statements:
            try:
                parse_answer(_cell(cells, column.index), any_labels)
            except ValueError as error:
                problems.append(RowProblem(line, column.title, str(error)))
        return None
    columns = head.columns_of(form.questionnaire)
    answers = _answers(columns, line, cells, form, agency, problems)
    extras = _extras(head, line, cells, form, agency, problems)
    if len(problems) > found or submitted is None:
        return None
    if all(value is None for value in answers.values()):
        reason = (
            "no statement is answered (all empty or NA); a form without a rating is not counted"
        )
        problems.append(RowProblem(line, None, reason))
        return None
    return PaperResponse(
        line=line,
        agency=agency,
        questionnaire=form.questionnaire.id,
        position=form.position,
        submitted_at=submitted,
        answers=answers,
        extras=extras,
    )


def _answers(
    columns: FormColumns,
    line: int,
    cells: Sequence[Cell],
    form: _Form,
    agency: str,
    problems: list[RowProblem],
) -> dict[str, int | None]:
    for column in columns.foreign:
        if not _blank(_cell(cells, column.index)):
            reason = (
                f"questionnaire {form.questionnaire.id} of agency {agency} has no {column.title}"
            )
            problems.append(RowProblem(line, column.title, f"{reason}; leave it empty"))
    answers: dict[str, int | None] = {}
    width = len(cells)
    for criterion in form.criteria:
        index = columns.criteria.get(criterion)
        if index is None:
            continue  # a header problem already
        try:
            text = (cells[index] or "") if index < width else ""
            answers[criterion] = parse_answer(text, form.labels)
        except ValueError as error:
            problems.append(RowProblem(line, criterion, str(error)))
    return answers


def _submitted(
    head: Header,
    line: int,
    cells: Sequence[Cell],
    latest: datetime | None,
    zone: tzinfo,
    problems: list[RowProblem],
) -> datetime | None:
    if SUBMITTED_AT not in head.fields:
        return None
    text = _cell(cells, head.fields[SUBMITTED_AT])
    if not text.strip():
        problems.append(RowProblem(line, SUBMITTED_AT, f"empty; write {DATE_FORMS}"))
        return None
    try:
        submitted = parse_submitted_at(text, zone)
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
    head: Header,
    line: int,
    cells: Sequence[Cell],
    form: _Form,
    agency: str,
    problems: list[RowProblem],
) -> dict[str, str | None]:
    extras: dict[str, str | None] = {}
    for name in EXTRA_COLUMNS:
        if name not in head.fields:
            continue
        text = _cell(cells, head.fields[name])
        step = form.optional.get(name)
        if step is None:
            if text.strip():
                reason = f"questionnaire {form.questionnaire.id} of agency {agency} has no {name}"
                problems.append(RowProblem(line, name, f"{reason}; leave it empty"))
            continue
        if step.kind == "text" and text:
            text = clean_comment(text)  # XML cannot hold control characters: exports would fail
        if not text.strip():
            extras[name] = None  # skipped, as when a citizen presses "skip"
        elif step.kind == "choice":
            option = form.choices[name].get(text_key(text))
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
