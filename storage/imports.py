"""Paper responses into the database: one transaction, aggregates included, all or nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite

from storage.aggregates import NA_CODE, add_to_aggregates
from storage.database import Database, reserve_ids
from survey.paper import PaperResponse, fingerprint

PAPER_CHANNEL = "paper"
_CHUNK = 500  # fingerprints per query: well under SQLite's limit of bound parameters


class AlreadyImported(ValueError):
    """Rows of the file are stored already; `lines` names them. Nothing was stored."""

    def __init__(self, lines: Sequence[int]) -> None:
        self.lines = list(lines)
        shown = ", ".join(map(str, self.lines[:20])) + (", …" if len(self.lines) > 20 else "")
        super().__init__(
            f"{len(self.lines)} row(s) were imported before (line(s) {shown}); "
            "use --skip-duplicates to import only the new ones"
        )


@dataclass(frozen=True)
class ImportResult:
    """What an import stored, and the lines it left out as imported before."""

    stored: int
    skipped_lines: list[int]


async def already_imported(database: Database, fingerprints: Iterable[str]) -> set[str]:
    """Which of `fingerprints` belong to responses stored already."""
    return await _stored(database.fetch_all, sorted(set(fingerprints)))


async def _stored(
    fetch_all: Callable[[str, Sequence[str]], Awaitable[Iterable[Sequence[Any]]]],
    fingerprints: Sequence[str],
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(fingerprints), _CHUNK):
        chunk = fingerprints[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        query = f"SELECT fingerprint FROM paper_fingerprints WHERE fingerprint IN ({marks})"
        found.update(row[0] for row in await fetch_all(query, chunk))
    return found


async def import_paper_responses(
    database: Database,
    responses: Sequence[PaperResponse],
    zone: ZoneInfo,
    now: datetime,
    skip_duplicates: bool = False,
) -> ImportResult:
    """Store the rows not imported before, in one transaction; all or nothing.

    Raises:
        AlreadyImported: some rows are stored already and `skip_duplicates` is off.
        ValueError: a form is dated after `now`.
    """
    prints = [fingerprint(response) for response in responses]
    _refuse_future(responses, zone, now)
    async with database.transaction() as connection:
        # Checked inside the write transaction: two imports of one file cannot both pass.
        stored = await _stored(connection.execute_fetchall, sorted(set(prints)))
        new = [(r, p) for r, p in zip(responses, prints, strict=True) if p not in stored]
        if stored and not skip_duplicates:
            raise AlreadyImported(
                [r.line for r, p in zip(responses, prints, strict=True) if p in stored]
            )
        if new:
            await _insert(
                connection, [r for r, _ in new], [p for _, p in new], zone, PAPER_CHANNEL
            )
    skipped = [r.line for r, p in zip(responses, prints, strict=True) if p in stored]
    return ImportResult(stored=len(new), skipped_lines=skipped)


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
    _refuse_future(responses, zone, now)
    if not responses:
        return 0
    prints = [fingerprint(response) for response in responses]
    async with database.transaction() as connection:
        await _insert(connection, responses, prints, zone, channel)
    return len(responses)


def _refuse_future(responses: Sequence[PaperResponse], zone: ZoneInfo, now: datetime) -> None:
    for response in responses:
        stamp = response.submitted_at.replace(tzinfo=zone)
        if stamp > now:
            raise ValueError(f"line {response.line}: {stamp.isoformat()} is in the future")


async def _insert(
    connection: aiosqlite.Connection,
    responses: Sequence[PaperResponse],
    prints: Sequence[str],
    zone: ZoneInfo,
    channel: str,
) -> None:
    """The rows, their answers, extras, fingerprints and aggregates (inside a transaction)."""
    stamps = [response.submitted_at.replace(tzinfo=zone) for response in responses]
    # Explicit ids let the answers go in with executemany instead of one insert per response.
    ids = await reserve_ids(connection, "responses", len(responses))
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
    await connection.executemany(
        "INSERT INTO paper_fingerprints (response_id, fingerprint) VALUES (?, ?)",
        list(zip(ids, prints, strict=True)),
    )
    await add_to_aggregates(connection, ids, +1)
