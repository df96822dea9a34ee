"""Completed responses of a period, pseudonymous, for the `/export` file and the CLI export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from storage.aggregates import NA_CODE
from storage.database import Database
from survey.period import Period

RESPONDENT_KEY_LENGTH = 12
"""Hex characters of the respondent HMAC shown: links one citizen's rows, reveals no id."""

_CHUNK = 500  # ids per IN (...) query, well under SQLite's bound-variable limit


@dataclass
class ExportRow:
    """One completed response; `respondent` is a short pseudonymous key, empty for paper."""

    response_id: int
    respondent: str
    agency: str
    questionnaire: str
    channel: str
    completed_at: str
    day: str
    answers: dict[str, int | None] = field(default_factory=dict)
    extras: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportData:
    period: Period
    agencies: tuple[str, ...] | None
    rows: list[ExportRow]

    @property
    def questionnaires(self) -> list[str]:
        """The questionnaire ids present, in order of first appearance."""
        return list(dict.fromkeys(row.questionnaire for row in self.rows))


async def export_rows(
    database: Database, period: Period, agencies: Sequence[str] | None
) -> ExportData:
    """The completed responses whose local day is in `period`, of `agencies` (None = all)."""
    chosen = None if agencies is None else tuple(dict.fromkeys(agencies))
    if chosen is None:
        # Every response's agency is in `agencies` (foreign key), and naming them lets SQLite
        # walk the (agency, day) index per agency instead of scanning all responses.
        scope, params = "SELECT code FROM agencies", []
    else:
        # PostgreSQL has no empty IN list; (NULL) matches nothing on both engines.
        scope, params = ", ".join("?" * len(chosen)) or "NULL", list(chosen)
    heads = await database.fetch_all(
        "SELECT id, COALESCE(substr(respondent, 1, ?), '') AS respondent, agency, "
        "questionnaire, channel, completed_at, day FROM responses "
        f"WHERE status = 'completed' AND agency IN ({scope}) AND day BETWEEN ? AND ? "
        "ORDER BY agency, day, id",
        [RESPONDENT_KEY_LENGTH, *params, period.start.isoformat(), period.end.isoformat()],
    )
    rows = {
        head["id"]: ExportRow(
            response_id=head["id"],
            respondent=head["respondent"],
            agency=head["agency"],
            questionnaire=head["questionnaire"],
            channel=head["channel"],
            completed_at=head["completed_at"],
            day=head["day"],
        )
        for head in heads
    }
    ids = list(rows)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        for answer in await database.fetch_all(
            f"SELECT response_id, criterion, value FROM answers WHERE response_id IN ({marks})",
            chunk,
        ):
            value = answer["value"]
            rows[answer["response_id"]].answers[answer["criterion"]] = (
                None if value == NA_CODE else value
            )
        for extra in await database.fetch_all(
            f"SELECT response_id, field, value FROM extras WHERE response_id IN ({marks})",
            chunk,
        ):
            rows[extra["response_id"]].extras[extra["field"]] = extra["value"]
    return ExportData(period, chosen, list(rows.values()))
