"""What is kept and for how long: completed responses past retention, unfinished ones left
idle, and records that only guard against redelivery or resubmission for a while."""

from __future__ import annotations

from datetime import date, datetime

from storage.database import Database

_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit


async def purge_responses(database: Database, before_day: date) -> int:
    """Retention: delete responses completed before `before_day`; returns how many.

    The per-day aggregates stay (counts, no persons), so past indices remain reportable.
    """
    async with database.transaction() as connection:
        cursor = await connection.execute(
            "DELETE FROM responses WHERE status = 'completed' AND day < ?",
            (before_day.isoformat(),),
        )
    return cursor.rowcount


async def expire_unfinished(database: Database, idle_since: datetime) -> int:
    """Delete unfinished responses (in progress or cancelled) untouched since `idle_since`,
    with their answers; returns how many.

    Only completed responses are in the aggregates, so no count changes; a citizen who
    answered anything since `idle_since` still finds their response to resume.
    """
    # julianday: stamps may carry different UTC offsets, which text order would confuse.
    idle = "status IN ('in_progress', 'cancelled') AND julianday(updated_at) < julianday(?)"
    since = idle_since.isoformat()
    # Found with a read (no index fits; a scan must not hold the write lock answers need),
    # then deleted by id in small transactions, checked again: one answered since stays.
    rows = await database.fetch_all(f"SELECT id FROM responses WHERE {idle}", (since,))
    ids = [row["id"] for row in rows]
    expired = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        async with database.transaction() as connection:
            cursor = await connection.execute(
                f"DELETE FROM responses WHERE id IN ({marks}) AND {idle}", (*chunk, since)
            )
            expired += cursor.rowcount
    return expired


async def forget_processed(database: Database, before: datetime) -> None:
    """Drop update ids and resubmit locks too old to matter (a redelivery comes within
    minutes; a lock ends with its window)."""
    async with database.transaction() as connection:
        await connection.execute(
            "DELETE FROM processed_updates WHERE processed_at < ?", (before.isoformat(),)
        )
        await connection.execute(
            "DELETE FROM resubmit_locks WHERE until < ?", (before.isoformat(),)
        )
