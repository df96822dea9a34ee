"""Claims of scheduled work, so that one instance of many runs each job once per period."""

from __future__ import annotations

from datetime import datetime

from storage.database import Database


async def claim(database: Database, job: str, period: str, claimant: str, now: datetime) -> bool:
    """Claim `job` for `period` (e.g. 'digest', '2026-W41'); True for the one instance that
    got it, False for every other (the row is there already, or being inserted)."""
    async with database.transaction() as connection:
        cursor = await connection.execute(
            "INSERT INTO job_claims (job, period, claimed_by, claimed_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (job, period, claimant, now.isoformat()),
        )
        return bool(cursor.rowcount == 1)


async def claimed_by(database: Database, job: str, period: str) -> str | None:
    value = await database.fetch_value(
        "SELECT claimed_by FROM job_claims WHERE job = ? AND period = ?", (job, period)
    )
    return None if value is None else str(value)


async def forget_claims(database: Database, before: datetime) -> int:
    """Drop claims older than `before` (housekeeping); returns how many."""
    async with database.transaction() as connection:
        cursor = await connection.execute(
            "DELETE FROM job_claims WHERE claimed_at < ?", (before.isoformat(),)
        )
        return int(cursor.rowcount)
