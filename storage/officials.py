"""Officials registered by invite, invite codes, digest subscriptions and deliveries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from storage.database import Database
from survey.access import Official, Role


@dataclass(frozen=True)
class Subscriber:
    channel: str
    user_id: str
    language: str

    @property
    def key(self) -> tuple[str, str]:
        return self.channel, self.user_id


@dataclass(frozen=True)
class Attempt:
    """Who tries an invite code (a keyed pseudonym) and how many wrong codes since when stop it."""

    who: str
    since: datetime
    limit: int


# Why a code was not accepted: wrong (unknown, used or expired) or not even checked.
Refusal = Literal["wrong", "throttled"]


class OfficialStore:
    """The official side's rows. Invite codes are stored only as keyed hashes."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def registered(self, channel: str, user_id: str) -> Official | None:
        row = await self._db.fetch_one(
            "SELECT role, agencies FROM officials WHERE channel = ? AND user_id = ?",
            (channel, user_id),
        )
        if row is None:
            return None
        return Official(channel, user_id, row["role"], tuple(json.loads(row["agencies"])))

    async def create_invite(
        self,
        code_hash: str,
        role: Role,
        agencies: tuple[str, ...],
        created_by: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT INTO invites (code_hash, role, agencies, created_by, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    code_hash,
                    role,
                    json.dumps(list(agencies)),
                    created_by,
                    now.isoformat(),
                    expires_at.isoformat(),
                ),
            )

    async def redeem_invite(
        self, code_hash: str, channel: str, user_id: str, now: datetime, attempt: Attempt
    ) -> Official | Refusal:
        """Use an invite once: register the official, or say why not.

        The count of `attempt.who`'s recent wrong codes is read and raised in the same
        transaction as the check, so parallel guesses (or instances) cannot exceed the limit.
        """
        since = _utc(attempt.since)
        async with self._db.transaction() as connection:
            async with connection.execute(
                "SELECT count(*) FROM register_failures WHERE who = ? AND failed_at > ?",
                (attempt.who, since),
            ) as cursor:
                failures = await cursor.fetchone()
            if failures is not None and failures[0] >= attempt.limit:
                return "throttled"
            async with connection.execute(
                "SELECT role, agencies, created_by, expires_at FROM invites "
                "WHERE code_hash = ? AND used_at IS NULL",
                (code_hash,),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None or datetime.fromisoformat(row[3]) <= now:
                await connection.execute(
                    "DELETE FROM register_failures WHERE failed_at <= ?", (since,)
                )
                await connection.execute(
                    "INSERT INTO register_failures (who, failed_at) VALUES (?, ?)",
                    (attempt.who, _utc(now)),
                )
                return "wrong"
            role, agencies, created_by, _ = row
            await connection.execute(
                "UPDATE invites SET used_at = ?, used_by = ? WHERE code_hash = ?",
                (now.isoformat(), f"{channel}:{user_id}", code_hash),
            )
            await connection.execute(
                "INSERT INTO officials (channel, user_id, role, agencies, registered_at, "
                "invited_by) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, user_id) DO UPDATE "
                "SET role = excluded.role, agencies = excluded.agencies",
                (channel, user_id, role, agencies, now.isoformat(), created_by),
            )
        return Official(channel, user_id, role, tuple(json.loads(agencies)))

    async def subscribe(self, channel: str, user_id: str, language: str, now: datetime) -> bool:
        """Subscribe to the weekly digest; False if already subscribed."""
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO subscriptions (channel, user_id, language, subscribed_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (channel, user_id, language, now.isoformat()),
            )
            return cursor.rowcount == 1

    async def unsubscribe(self, channel: str, user_id: str) -> bool:
        async with self._db.transaction() as connection:
            cursor = await connection.execute(
                "DELETE FROM subscriptions WHERE channel = ? AND user_id = ?", (channel, user_id)
            )
            return cursor.rowcount == 1

    async def subscribers(self) -> list[Subscriber]:
        rows = await self._db.fetch_all(
            "SELECT channel, user_id, language FROM subscriptions ORDER BY subscribed_at"
        )
        return [Subscriber(r["channel"], r["user_id"], r["language"]) for r in rows]

    async def delivered(self, channel: str, user_id: str, period_start: str) -> bool:
        value = await self._db.fetch_value(
            "SELECT 1 FROM digest_deliveries WHERE channel = ? AND user_id = ? "
            "AND period_start = ?",
            (channel, user_id, period_start),
        )
        return value is not None

    async def parts_delivered(self, channel: str, user_id: str, period_start: str) -> int:
        """How many messages of this digest were delivered before a failure stopped it."""
        value = await self._db.fetch_value(
            "SELECT parts FROM digest_parts WHERE channel = ? AND user_id = ? "
            "AND period_start = ?",
            (channel, user_id, period_start),
        )
        return int(value or 0)

    async def record_parts(
        self, channel: str, user_id: str, period_start: str, parts: int
    ) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "INSERT INTO digest_parts (channel, user_id, period_start, parts) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (channel, user_id, period_start) "
                "DO UPDATE SET parts = excluded.parts",
                (channel, user_id, period_start, parts),
            )

    async def record_delivery(
        self, channel: str, user_id: str, period_start: str, now: datetime
    ) -> None:
        async with self._db.transaction() as connection:
            await connection.execute(
                "DELETE FROM digest_parts WHERE channel = ? AND user_id = ? AND period_start = ?",
                (channel, user_id, period_start),
            )
            await connection.execute(
                "INSERT INTO digest_deliveries (channel, user_id, period_start, "
                "delivered_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (channel, user_id, period_start, now.isoformat()),
            )


def _utc(moment: datetime) -> str:
    """One zone for stored times, so that they compare as text."""
    return moment.astimezone(UTC).isoformat()
