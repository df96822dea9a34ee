"""What a sheet of paper forms becomes: responses, the problems of bad rows, fingerprints that
recognise a row imported before, and the import's summary."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass
class PaperSheet:
    """A validated sheet: its responses, how its columns were read, what looks odd but is kept."""

    responses: list[PaperResponse]
    mapping: list[str]
    warnings: list[str] = field(default_factory=list)


def fingerprint(response: PaperResponse) -> str:
    """What makes two imported rows the same form: agency, local time, answers and extras."""
    canonical = json.dumps(
        [
            response.agency,
            response.submitted_at.isoformat(),
            sorted(response.answers.items()),
            sorted(response.extras.items(), key=lambda item: item[0]),
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def identical_rows(responses: Sequence[PaperResponse]) -> list[str]:
    """Rows of one file that are the same form: kept, but worth a look."""
    lines: dict[str, list[int]] = defaultdict(list)
    for response in responses:
        lines[fingerprint(response)].append(response.line)
    return [
        f"lines {', '.join(map(str, same))} are identical (kept: two citizens may answer alike "
        "in the same minute when the time has no seconds)"
        for same in lines.values()
        if len(same) > 1
    ]


def rows_per_agency_and_month(responses: Iterable[PaperResponse]) -> dict[tuple[str, str], int]:
    """How many responses each agency gets in each month (`YYYY-MM`, local time)."""
    counts = Counter((r.agency, r.submitted_at.strftime("%Y-%m")) for r in responses)
    return dict(sorted(counts.items()))
