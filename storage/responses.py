"""Citizen responses: progress, answers, completion with its per-day aggregates, forgetting."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import aiosqlite

from storage.aggregates import NA_CODE, add_to_aggregates
from storage.database import Database, serialise
from survey.flow import (
    ExtraAnswer,
    Moved,
    Progress,
    ScaleAnswer,
    Status,
    held_field,
    is_held,
    moved_on,
)
from survey.models import Language

_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit


@dataclass(frozen=True)
class UpdateKey:
    """A channel's update id: processed at most once."""

    channel: str
    update_id: int | str  # Telegram's update_id; Zalo's message_id (text, no offset exists)


@dataclass(frozen=True)
class Completion:
    """What completing a response needs: the local day it counts for and the resubmit lock."""

    day: date
    lock: str
    lock_until: datetime


class _Stale(Exception):
    pass


class VisitTaken(Exception):
    """A visit token another respondent has already claimed (one response per visit)."""


class ResponseStore:
    """Reads and writes citizens' responses. Every write is committed before it returns."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def sync_agencies(self, agencies: Iterable[tuple[str, str, str]]) -> None:
        """Make the agencies table match the config (code, name, questionnaire)."""
        async with self._db.transaction() as connection:
            await connection.executemany(
                "INSERT INTO agencies (code, name, questionnaire) VALUES (?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                "questionnaire = excluded.questionnaire",
                list(agencies),
            )

    async def language(self, respondent: str) -> Language | None:
        value = await self._db.fetch_value(
            "SELECT language FROM respondents WHERE respondent = ?", (respondent,)
        )
        return value if value in ("vi", "en") else None

    async def set_language(
        self, respondent: str, channel: str, language: Language, now: datetime
    ) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT INTO respondents (respondent, channel, language, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (respondent) DO UPDATE SET language = ?",
                (respondent, channel, language, now.isoformat(), language),
            )

    async def open_response(self, respondent: str) -> Progress | None:
        """The respondent's unfinished response, if any."""
        return await self._progress("r.respondent = ? AND r.status = 'in_progress'", (respondent,))

    async def owned_progress(self, response_id: int, respondent: str) -> Progress | None:
        """A response's progress, only if it belongs to `respondent` (forged buttons get None)."""
        return await self._progress("r.id = ? AND r.respondent = ?", (response_id, respondent))

    async def _progress(self, where: str, params: tuple[object, ...]) -> Progress | None:
        """One response and its answers in one round trip (this is on every answer's path)."""
        rows = await self._db.fetch_all(
            "SELECT r.id, r.agency, r.questionnaire, r.position, r.status, "
            "x.kind, x.key, x.value FROM responses r LEFT JOIN ("
            # One column type for the UNION (PostgreSQL insists): scale values travel as text.
            " SELECT 'a' AS kind, response_id, criterion AS key, CAST(value AS TEXT) AS value"
            " FROM answers"
            " UNION ALL SELECT 'e', response_id, field, value FROM extras"
            f") x ON x.response_id = r.id WHERE {where} ORDER BY r.id DESC",
            params,
        )
        if not rows:
            return None
        row = rows[0]
        answers: dict[str, int | None] = {}
        extras: dict[str, str | None] = {}
        for found in rows:
            if found["id"] != row["id"]:
                break  # only one response can match; never mix two
            if found["kind"] == "a":
                value = int(found["value"])
                answers[found["key"]] = None if value == NA_CODE else value
            elif found["kind"] == "e":
                extras[found["key"]] = found["value"]
        status: Status = row["status"]
        return Progress(
            response_id=row["id"],
            agency=row["agency"],
            questionnaire=row["questionnaire"],
            position=row["position"],
            status=status,
            answers=answers,
            extras=extras,
        )

    async def start_response(
        self,
        respondent: str,
        channel: str,
        agency: str,
        questionnaire: str,
        now: datetime,
        visit: str | None = None,
    ) -> Progress:
        """Open a new response at the consent step, closing any unfinished one.

        With `visit`, the visit token's nonce is claimed in the same transaction; raises
        `VisitTaken` (nothing written) when another respondent claimed it first.
        """
        stamp = now.isoformat()
        async with self._db.transaction() as connection:
            await serialise(connection, respondent)
            if visit is not None and not await self._claim_visit(
                connection, visit, agency, respondent, stamp
            ):
                raise VisitTaken(visit)
            await connection.execute(
                "UPDATE responses SET status = 'cancelled', updated_at = ? "
                "WHERE respondent = ? AND status = 'in_progress'",
                (stamp, respondent),
            )
            async with connection.execute(
                "INSERT INTO responses (respondent, agency, questionnaire, channel, status, "
                "position, started_at, updated_at) VALUES (?, ?, ?, ?, 'in_progress', 0, ?, ?) "
                "RETURNING id",
                (respondent, agency, questionnaire, channel, stamp, stamp),
            ) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return Progress(int(row[0]), agency, questionnaire, position=0)

    @staticmethod
    async def _claim_visit(
        connection: aiosqlite.Connection, nonce: str, agency: str, respondent: str, stamp: str
    ) -> bool:
        """Spend a visit for `respondent`; False if it is already someone else's."""
        cursor = await connection.execute(
            "INSERT INTO visits (nonce, agency, respondent, used_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (nonce, agency, respondent, stamp),
        )
        if cursor.rowcount == 1:
            return True
        async with connection.execute(
            "SELECT respondent FROM visits WHERE nonce = ?", (nonce,)
        ) as found:
            row = await found.fetchone()
        return row is not None and row[0] == respondent  # its owner starting again

    async def discard(self, response_id: int) -> None:
        """Delete an unfinished response entirely (the citizen declined: nothing is kept)."""
        async with self._db.transaction() as connection:
            await connection.execute(
                "DELETE FROM responses WHERE id = ? AND status = 'in_progress'", (response_id,)
            )

    async def record(
        self,
        progress: Progress,
        moved: Moved,
        now: datetime,
        *,
        completion: Completion | None = None,
        update: UpdateKey | None = None,
    ) -> Progress | None:
        """Store one accepted step atomically; None if it was already taken (stale or replayed)."""
        try:
            async with self._db.transaction() as connection:
                await self._record(connection, progress, moved, now, completion, update)
        except _Stale:
            return None
        return moved_on(progress, moved)

    async def _record(
        self,
        connection: aiosqlite.Connection,
        progress: Progress,
        moved: Moved,
        now: datetime,
        completion: Completion | None,
        update: UpdateKey | None,
    ) -> None:
        if update is not None:
            # The update's id and its step commit together: a redelivery, to this or another
            # instance, finds the id (or waits for the transaction that is inserting it).
            cursor = await connection.execute(
                "INSERT INTO processed_updates (channel, update_id, processed_at) "
                "VALUES (?, CAST(? AS TEXT), ?) ON CONFLICT DO NOTHING",
                (update.channel, _stored_id(update), now.isoformat()),
            )
            if cursor.rowcount != 1:
                raise _Stale
        status = "completed" if completion else "in_progress"
        # Compare-and-set on the position. On PostgreSQL (READ COMMITTED) a second instance's
        # UPDATE of the same row waits for the first to commit, then re-reads the row and finds
        # the position moved on: it updates nothing and this step is stale, as on SQLite.
        cursor = await connection.execute(
            "UPDATE responses SET position = ?, status = ?, updated_at = ?, completed_at = ?, "
            "day = ? WHERE id = ? AND position = ? AND status = 'in_progress'",
            (
                moved.position,
                status,
                now.isoformat(),
                now.isoformat() if completion else None,
                completion.day.isoformat() if completion else None,
                progress.response_id,
                progress.position,
            ),
        )
        if cursor.rowcount != 1:
            raise _Stale
        record = moved.record
        if isinstance(record, ScaleAnswer):
            await connection.execute(
                "INSERT INTO answers (response_id, criterion, value) VALUES (?, ?, ?) "
                "ON CONFLICT (response_id, criterion) DO UPDATE SET value = excluded.value",
                (progress.response_id, record.criterion, _stored(record.value)),
            )
        elif isinstance(record, ExtraAnswer):
            # An answer replaces its held draft (a comment waiting for confirmation).
            held = record.field if is_held(record.field) else held_field(record.field)
            await connection.execute(
                "DELETE FROM extras WHERE response_id = ? AND field = ?",
                (progress.response_id, held),
            )
            if record.value is not None or not is_held(record.field):
                await connection.execute(
                    "INSERT INTO extras (response_id, field, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (response_id, field) DO UPDATE SET value = excluded.value",
                    (progress.response_id, record.field, record.value),
                )
        if completion is not None:
            await add_to_aggregates(connection, [progress.response_id], +1)
            await connection.execute(
                "INSERT INTO resubmit_locks (lock, agency, until) VALUES (?, ?, ?) "
                "ON CONFLICT (lock, agency) DO UPDATE SET until = excluded.until",
                (completion.lock, progress.agency, completion.lock_until.isoformat()),
            )

    async def was_processed(self, key: UpdateKey) -> bool:
        """Whether this update was handled already (a replay, or a redelivery)."""
        value = await self._db.fetch_value(
            "SELECT 1 FROM processed_updates WHERE channel = ? AND update_id = CAST(? AS TEXT)",
            (key.channel, _stored_id(key)),
        )
        return value is not None

    async def mark_processed(self, key: UpdateKey, now: datetime) -> None:
        """Remember a handled update that stored no step (a step records its own key)."""
        async with self._db.transaction() as connection:
            await record_processed(connection, key, now)

    async def visit_spent_by(self, nonce: str) -> str | None:
        """Who spent a visit token ('' once they were forgotten), or None if it is unspent."""
        row = await self._db.fetch_one(
            "SELECT COALESCE(respondent, '') AS who FROM visits WHERE nonce = ?", (nonce,)
        )
        return None if row is None else str(row["who"])

    async def locked_until(self, lock: str, agency: str, now: datetime) -> datetime | None:
        """When the respondent may answer for `agency` again, if that is still in the future."""
        value = await self._db.fetch_value(
            "SELECT until FROM resubmit_locks WHERE lock = ? AND agency = ?", (lock, agency)
        )
        if value is None:
            return None
        until = datetime.fromisoformat(value)
        return until if until > now else None

    async def forget(self, respondent: str) -> int:
        """Delete every response and preference of a respondent; returns the responses deleted.

        Completed responses are first taken out of the per-day aggregates. The resubmit lock
        stays (it holds no answers and expires), so forgetting does not reopen the window.
        """
        async with self._db.transaction() as connection:
            await serialise(connection, respondent)
            async with connection.execute(
                "SELECT id, status FROM responses WHERE respondent = ?", (respondent,)
            ) as cursor:
                rows = list(await cursor.fetchall())
            completed = [response_id for response_id, status in rows if status == "completed"]
            await add_to_aggregates(connection, completed, -1)
            await connection.execute("DELETE FROM responses WHERE respondent = ?", (respondent,))
            await connection.execute("DELETE FROM respondents WHERE respondent = ?", (respondent,))
            await connection.execute("DELETE FROM menus WHERE respondent = ?", (respondent,))
            # A spent visit stays spent, but no longer points at the person.
            await connection.execute(
                "UPDATE visits SET respondent = NULL WHERE respondent = ?", (respondent,)
            )
        return len(rows)


async def record_processed(
    connection: aiosqlite.Connection, key: UpdateKey, now: datetime
) -> None:
    """Within the caller's transaction: this update has been handled (again is no error)."""
    await connection.execute(
        "INSERT INTO processed_updates (channel, update_id, processed_at) "
        "VALUES (?, CAST(? AS TEXT), ?) ON CONFLICT DO NOTHING",
        (key.channel, _stored_id(key), now.isoformat()),
    )


def _stored_id(key: UpdateKey) -> int | str:
    """Text ids get a prefix: the column's INTEGER affinity would otherwise turn a Zalo id
    that looks like a number ("1234e5678…") into a number, and two of them into the same one.
    Bound as CAST(? AS TEXT): SQLite's INTEGER affinity still stores a number as a number (as
    before), and PostgreSQL's column is text."""
    return key.update_id if isinstance(key.update_id, int) else f"t:{key.update_id}"


def _stored(value: int | None) -> int:
    return NA_CODE if value is None else value
