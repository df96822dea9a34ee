"""The Zalo OA's rotating OAuth tokens, the refresher's lease, and OA users' reply windows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from storage.database import Database

SLOT = "oa"


@dataclass(frozen=True)
class OaTokens:
    """The stored tokens (never in a repr: a log line must not carry them)."""

    access_token: str | None = field(repr=False)
    expires_at: datetime | None
    refresh_token: str = field(repr=False)
    version: int
    lease_owner: str | None
    lease_until: datetime | None
    refused: bool

    def usable(self, now: datetime) -> bool:
        """Whether the access token is there and not yet expired."""
        return bool(self.access_token) and self.expires_at is not None and now < self.expires_at

    def leased(self, now: datetime) -> bool:
        """Whether some refresher holds the row (a lease past its time holds nothing)."""
        return self.lease_until is not None and now < self.lease_until


def _stamp(moment: datetime) -> str:
    """UTC ISO text: one format, so the lease's times compare as text in SQL."""
    return moment.astimezone(UTC).isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def seed_hash(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


class OaTokenStore:
    """Every write is one committed transaction; the refresh is guarded by a lease row."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def seed(self, refresh_token: str | None, now: datetime) -> bool:
        """Start from the config's refresh token when the database has none, or when the config
        holds a different one (an admin consented again); whether the row was (re)seeded."""
        if not refresh_token:
            return False
        digest = seed_hash(refresh_token)
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO oa_tokens (slot, refresh_token, seed_hash, version, updated_at) "
                "VALUES (?, ?, ?, 1, ?) ON CONFLICT (slot) DO UPDATE SET "
                "refresh_token = excluded.refresh_token, seed_hash = excluded.seed_hash, "
                "access_token = NULL, expires_at = NULL, refused_at = NULL, "
                "lease_owner = NULL, lease_until = NULL, version = oa_tokens.version + 1, "
                "updated_at = excluded.updated_at WHERE oa_tokens.seed_hash <> excluded.seed_hash",
                (SLOT, refresh_token, digest, _stamp(now)),
            )
            return bool(cursor.rowcount)

    async def current(self) -> OaTokens | None:
        row = await self._db.fetch_one(
            "SELECT access_token, expires_at, refresh_token, version, lease_owner, lease_until, "
            "refused_at FROM oa_tokens WHERE slot = ?",
            (SLOT,),
        )
        if row is None:
            return None
        return OaTokens(
            access_token=row["access_token"],
            expires_at=_moment(row["expires_at"]),
            refresh_token=str(row["refresh_token"]),
            version=int(row["version"]),
            lease_owner=row["lease_owner"],
            lease_until=_moment(row["lease_until"]),
            refused=row["refused_at"] is not None,
        )

    async def claim(self, version: int, owner: str, now: datetime, until: datetime) -> bool:
        """Take the refresher's lease if the row is still at `version` and nobody holds it:
        a compare-and-set, so of several instances exactly one wins."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE oa_tokens SET lease_owner = ?, lease_until = ?, version = version + 1 "
                "WHERE slot = ? AND version = ? AND (lease_until IS NULL OR lease_until <= ?)",
                (owner, _stamp(until), SLOT, version, _stamp(now)),
            )
            return cursor.rowcount == 1

    async def save(
        self, access_token: str, expires_at: datetime, refresh_token: str, now: datetime
    ) -> bool:
        """Store a refresh's result and release the lease, committed before returning (the old
        refresh token is spent: this row is now the only way back in). Written even if the
        lease ran out meanwhile: a fresh pair from Zalo is never thrown away."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE oa_tokens SET access_token = ?, expires_at = ?, refresh_token = ?, "
                "refused_at = NULL, lease_owner = NULL, lease_until = NULL, "
                "version = version + 1, updated_at = ? WHERE slot = ?",
                (access_token, _stamp(expires_at), refresh_token, _stamp(now), SLOT),
            )
            return cursor.rowcount == 1

    async def refuse(self, owner: str, refused_token: str, now: datetime) -> bool:
        """Zalo refused `refused_token`: release the lease, mark the row; whether this is news
        (so the operator is told once, not at every message). A token another refresher has
        replaced meanwhile marks nothing."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "SELECT refused_at FROM oa_tokens WHERE slot = ? AND refresh_token = ?",
                (SLOT, refused_token),
            )
            row = await cursor.fetchone()
            if row is None:
                await connection.execute(
                    "UPDATE oa_tokens SET lease_owner = NULL, lease_until = NULL "
                    "WHERE slot = ? AND lease_owner = ?",
                    (SLOT, owner),
                )
                return False
            await connection.execute(
                "UPDATE oa_tokens SET refused_at = COALESCE(refused_at, ?), lease_owner = NULL, "
                "lease_until = NULL, version = version + 1, updated_at = ? WHERE slot = ?",
                (_stamp(now), _stamp(now), SLOT),
            )
            return row[0] is None

    async def release(self, owner: str) -> None:
        """Give the lease back after a refresh that failed for a passing reason."""
        async with self._db.transaction() as connection:
            await connection.execute(
                "UPDATE oa_tokens SET lease_owner = NULL, lease_until = NULL, "
                "version = version + 1 WHERE slot = ? AND lease_owner = ?",
                (SLOT, owner),
            )

    async def record_inbound(self, respondent: str, at: datetime) -> None:
        """This OA user just wrote: their free reply window opens again."""
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT INTO oa_inbound (respondent, last_at) VALUES (?, ?) "
                "ON CONFLICT (respondent) DO UPDATE SET last_at = excluded.last_at",
                (respondent, _stamp(at)),
            )

    async def last_inbound(self, respondent: str) -> datetime | None:
        value = await self._db.fetch_value(
            "SELECT last_at FROM oa_inbound WHERE respondent = ?", (respondent,)
        )
        return _moment(value)

    async def record_undeliverable(self, user_id: str, period_start: str, now: datetime) -> bool:
        """A week's digest this OA official could not get free; whether it is newly recorded."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO oa_undeliverable (user_id, period_start, recorded_at) "
                "VALUES (?, ?, ?) ON CONFLICT (user_id, period_start) DO NOTHING",
                (user_id, period_start, _stamp(now)),
            )
            return cursor.rowcount == 1

    async def undeliverable(self, period_start: str) -> int:
        """How many OA officials could not get this week's digest free."""
        value = await self._db.fetch_value(
            "SELECT COUNT(*) FROM oa_undeliverable WHERE period_start = ?", (period_start,)
        )
        return int(value or 0)
