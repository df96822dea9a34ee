"""The header row of a sheet: which column holds what, however a survey tool named it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from survey.models import Questionnaire
from survey.paper_cells import text_key

SUBMITTED_AT = "submitted_at"
AGENCY = "agency"
REQUIRED_COLUMNS = (SUBMITTED_AT, AGENCY)
EXTRA_COLUMNS = ("procedure", "sex", "age_group", "education", "comment")
"""Optional-step columns; the spec names sex, age_group and comment, the others cost nothing."""

# What survey tools and people write instead of the spec's column names (compared as text_key).
_ALIASES = {
    SUBMITTED_AT: ("timestamp", "dấu thời gian", "thời gian", "thời điểm", "submitted at"),
    AGENCY: ("cơ quan", "mã cơ quan", "agency code"),
    "procedure": ("lĩnh vực", "thủ tục", "field"),
    "sex": ("giới tính", "gender"),
    "age_group": ("độ tuổi", "nhóm tuổi", "tuổi", "age", "age group"),
    "education": ("trình độ học vấn", "học vấn"),
    "comment": ("ý kiến", "góp ý", "ý kiến khác", "ý kiến khác / góp ý", "comments"),
}
_NUMBERED = re.compile(
    r"(?:(?:câu|question|q)\s*(?P<word>[0-9]{1,3})\s*[.):/-]?|(?P<dot>[0-9]{1,3})\s*[.)]"
    r"|(?P<bare>[0-9]{1,3})$)\s*(?P<rest>.*)"
)
# Google Forms names the rows of a grid question "Question title [row text]".
_GRID_ROW = re.compile(r".*\[(?P<row>[^\]]+)\]")
_TRAILING = " .…:?*"
_SHORTEST_PREFIX = 12  # a truncated statement must keep this many characters to be recognised


def _statement_key(text: str) -> str:
    key = text_key(text).rstrip(_TRAILING)
    return key[:-3].rstrip(_TRAILING) if key.endswith("...") else key


@dataclass(frozen=True)
class Column:
    """A header cell that names a statement: by criterion id, number, text, or number and text."""

    index: int
    title: str
    criterion: str | None = None
    number: int | None = None
    text: str | None = None


@dataclass
class FormColumns:
    """Where one questionnaire's criteria are, and the header problems only it has."""

    criteria: dict[str, int] = field(default_factory=dict)  # criterion id → column index
    foreign: list[Column] = field(default_factory=list)  # statement columns it does not ask
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column title, reason)


def _meaning(column: Column, questionnaire: Questionnaire) -> tuple[str | None, str | None]:
    """(criterion id, None) the column names in `questionnaire`, or (None, why it is ambiguous)."""
    criteria = questionnaire.criteria
    if column.criterion is not None:
        return (
            column.criterion if column.criterion in questionnaire.criterion_ids else None
        ), None
    if column.text:
        found = [
            c.id
            for c in criteria
            if any(
                key == column.text
                or (len(column.text) >= _SHORTEST_PREFIX and key.startswith(column.text))
                for key in (_statement_key(c.text.vi), _statement_key(c.text.en))
            )
        ]
        if len(found) > 1:
            return None, f"the text fits several statements ({', '.join(found)}); write more of it"
        return (found[0] if found else None), None
    if column.number is not None and 1 <= column.number <= len(criteria):
        return criteria[column.number - 1].id, None
    return None, None


class Header:
    """Line 1 of the sheet: fixed and optional-step columns, statement columns, its problems."""

    def __init__(self, cells: Sequence[str | None], questionnaires: Iterable[Questionnaire]):
        known = {q.id: q for q in questionnaires}
        self.width = len(cells)
        self.titles = [(cell or "").strip() for cell in cells]
        self.fields: dict[str, int] = {}  # submitted_at, agency, optional step id → column index
        self.statements: list[Column] = []
        self.unnamed: list[int] = []
        self.problems: list[tuple[str | None, str]] = []
        self._forms: dict[str, FormColumns] = {}
        names = _field_names(known.values())
        criterion_ids = {c for q in known.values() for c in q.criterion_ids}
        seen: set[str] = set()
        for index, title in enumerate(self.titles):
            key = text_key(title)
            if not key:
                self.unnamed.append(index)
                continue
            if key in seen:
                self.problems.append((title, "the column appears more than once"))
                continue
            seen.add(key)
            name = names.get(_statement_key(title))
            if name is not None:
                if name in self.fields:
                    first = self.titles[self.fields[name]]
                    self.problems.append((title, f"means {name}, as column {first!r} does"))
                else:
                    self.fields[name] = index
                continue
            column = _statement_column(index, title, criterion_ids)
            if any(_meaning(column, q) != (None, None) for q in known.values()):
                self.statements.append(column)
            else:
                self.problems.append((title, "unknown column"))
        for name in REQUIRED_COLUMNS:
            if name not in self.fields:
                self.problems.append((name, "required column is missing"))

    def columns_of(self, questionnaire: Questionnaire) -> FormColumns:
        """Where `questionnaire`'s criteria are in this sheet (worked out once, then reused)."""
        found = self._forms.get(questionnaire.id)
        if found is not None:
            return found
        form = FormColumns()
        for column in self.statements:
            criterion, ambiguous = _meaning(column, questionnaire)
            if ambiguous is not None:
                form.problems.append((column.title, ambiguous))
            elif criterion is None:
                form.foreign.append(column)
            elif criterion in form.criteria:
                first = self.titles[form.criteria[criterion]]
                reason = f"means {criterion} of {questionnaire.id}, as column {first!r} does"
                form.problems.append((column.title, reason))
            else:
                form.criteria[criterion] = column.index
        self._forms[questionnaire.id] = form
        return form

    def mapping(self, questionnaires: Sequence[Questionnaire]) -> list[str]:
        """One line per named column: what it was read as (per questionnaire when they differ)."""
        lines = []
        for index, title in enumerate(self.titles):
            target = next((name for name, at in self.fields.items() if at == index), None)
            if target is None and any(c.index == index for c in self.statements):
                target = self._meaning_in(index, questionnaires)
            if target is not None:
                shown = title if len(title) <= 50 else title[:49] + "…"
                lines.append(f"column {index + 1} {shown!r} → {target}")
        return lines

    def _meaning_in(self, index: int, questionnaires: Sequence[Questionnaire]) -> str:
        meanings: dict[str, str] = {}
        absent = []
        for questionnaire in questionnaires:
            criteria = self.columns_of(questionnaire).criteria
            found = next((c for c, at in criteria.items() if at == index), None)
            if found is None:
                absent.append(questionnaire.id)
            else:
                meanings[questionnaire.id] = found
        if not meanings:
            return "(no statement of the questionnaires used)"
        if len(set(meanings.values())) == 1:
            shown = next(iter(meanings.values()))
        else:
            shown = ", ".join(f"{c} in {q}" for q, c in meanings.items())
        return shown + (f" (not in {', '.join(absent)})" if absent else "")


def _field_names(questionnaires: Iterable[Questionnaire]) -> dict[str, str]:
    """Header text (as `_statement_key`) → fixed column or optional step id."""
    names = {_statement_key(name): name for name in (*REQUIRED_COLUMNS, *EXTRA_COLUMNS)}
    for name, aliases in _ALIASES.items():
        names.update((_statement_key(alias), name) for alias in aliases)
    for questionnaire in questionnaires:
        for step in questionnaire.optional:
            names.update((_statement_key(t), step.id) for t in (step.prompt.vi, step.prompt.en))
    return names


def _statement_column(index: int, title: str, criterion_ids: set[str]) -> Column:
    key = text_key(title)
    if key in criterion_ids:
        return Column(index, title, criterion=key)
    grid = _GRID_ROW.fullmatch(key)
    if grid is not None:
        key = grid["row"].strip()
    numbered = _NUMBERED.fullmatch(key)
    if numbered is None:
        return Column(index, title, text=_statement_key(key))
    number = int(numbered["word"] or numbered["dot"] or numbered["bare"])
    rest = _statement_key(numbered["rest"])
    return Column(index, title, number=number, text=rest or None)
