"""Claims of scheduled work, so that one instance of many runs each job once per period."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from storage.database import Database

DIGEST_LEASE = timedelta(minutes=15)
"""How long one instance may take to send one official's digest before another may try."""


def instance_name() -> str:
    """Who claims: this host and process (for the record and for logs)."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def claim(database: Database, job: str, period: str, claimant: str, now: datetime) -> bool:
    """Claim `job` for `period` (e.g. 'digest', '2026-W41'); True for the one instance that
    got it, False for every other (the row is there already, or being inserted)."""
    async with database.transaction() as connection:
        cursor = await connection.execute(
            "INSERT INTO job_claims (job, period, claimed_by, claimed_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (job, period, claimant, _utc(now)),
        )
        return bool(cursor.rowcount == 1)


async def lease(
    database: Database,
    job: str,
    period: str,
    now: datetime,
    length: timedelta,
    claimant: str | None = None,
) -> bool:
    """Like `claim`, but a claim older than `length` (its holder died or gave up) may be taken
    over; `release` hands it back at once. For work that must be retried until it is done."""
    async with database.transaction() as connection:
        cursor = await connection.execute(
            "INSERT INTO job_claims (job, period, claimed_by, claimed_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (job, period) DO UPDATE SET claimed_by = excluded.claimed_by, "
            "claimed_at = excluded.claimed_at WHERE job_claims.claimed_at < ?",
            (
                job,
                period,
                claimant or instance_name(),
                _utc(now),
                _utc(now - length),
            ),
        )
        return bool(cursor.rowcount == 1)


async def release(database: Database, job: str, period: str) -> None:
    async with database.transaction() as connection:
        await connection.execute(
            "DELETE FROM job_claims WHERE job = ? AND period = ?", (job, period)
        )


def _utc(moment: datetime) -> str:
    """One zone for stored times, so that they compare as text."""
    return moment.astimezone(UTC).isoformat()


async def claimed_by(database: Database, job: str, period: str) -> str | None:
    value = await database.fetch_value(
        "SELECT claimed_by FROM job_claims WHERE job = ? AND period = ?", (job, period)
    )
    return None if value is None else str(value)


async def forget_claims(database: Database, before: datetime) -> int:
    """Drop claims older than `before` (housekeeping); returns how many."""
    async with database.transaction() as connection:
        cursor = await connection.execute(
            "DELETE FROM job_claims WHERE claimed_at < ?", (_utc(before),)
        )
        return int(cursor.rowcount)
