"""Paper responses into the database: one transaction, aggregates included, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from storage.database import Database
from storage.responses import NA_CODE, add_to_aggregates
from survey.paper import PaperResponse

PAPER_CHANNEL = "paper"


async def store_paper_responses(
    database: Database,
    responses: Sequence[PaperResponse],
    zone: ZoneInfo,
    now: datetime,
    channel: str = PAPER_CHANNEL,
) -> int:
    """Store validated paper forms as completed responses; returns how many were stored.

    `submitted_at` is local time in `zone`; `now` (aware) guards against forms from the future,
    which would sit in aggregates of days no report has reached yet.

    Raises:
        ValueError: a form is dated after `now` (nothing is stored).
    """
    stamps = [response.submitted_at.replace(tzinfo=zone) for response in responses]
    for response, stamp in zip(responses, stamps, strict=True):
        if stamp > now:
            raise ValueError(f"line {response.line}: {stamp.isoformat()} is in the future")
    if not responses:
        return 0
    async with database.transaction() as connection:
        # The write lock and BEGIN IMMEDIATE are held, so nobody else can take these ids; explicit
        # ids let the answers go in with executemany instead of one insert per response.
        async with connection.execute("SELECT COALESCE(MAX(id), 0) FROM responses") as cursor:
            row = await cursor.fetchone()
        first = (row[0] if row else 0) + 1
        ids = range(first, first + len(responses))
        await connection.executemany(
            "INSERT INTO responses (id, respondent, agency, questionnaire, channel, status, "
            "position, started_at, updated_at, completed_at, day) "
            "VALUES (?, NULL, ?, ?, ?, 'completed', ?, ?, ?, ?, ?)",
            [
                (
                    response_id,
                    response.agency,
                    response.questionnaire,
                    channel,
                    response.position,
                    *([stamp.isoformat()] * 3),
                    stamp.date().isoformat(),
                )
                for response_id, response, stamp in zip(ids, responses, stamps, strict=True)
            ],
        )
        await connection.executemany(
            "INSERT INTO answers (response_id, criterion, value) VALUES (?, ?, ?)",
            [
                (response_id, criterion, NA_CODE if value is None else value)
                for response_id, response in zip(ids, responses, strict=True)
                for criterion, value in response.answers.items()
            ],
        )
        await connection.executemany(
            "INSERT INTO extras (response_id, field, value) VALUES (?, ?, ?)",
            [
                (response_id, field, value)
                for response_id, response in zip(ids, responses, strict=True)
                for field, value in response.extras.items()
            ],
        )
        await add_to_aggregates(connection, ids, +1)
    return len(responses)
