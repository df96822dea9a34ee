"""The numbered menu last shown to each respondent on a text-only channel."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from storage.database import Database
from storage.responses import UpdateKey, record_processed
from survey.typed import ShownMenu


class MenuStore:
    """Keeps what each typed number means, per respondent, across restarts and instances."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def show(
        self,
        respondent: str,
        menu: Sequence[tuple[int, str]],
        now: datetime,
        processed: UpdateKey | None = None,
    ) -> None:
        """Replace the respondent's menu (an empty one clears it), not yet delivered; with
        `processed`, the message that led to it is recorded as handled in the same transaction."""
        async with self._db.transaction() as connection:
            if processed is not None:
                await record_processed(connection, processed, now)
            if not menu:
                await connection.execute("DELETE FROM menus WHERE respondent = ?", (respondent,))
                return
            await connection.execute(
                "INSERT INTO menus (respondent, choices, shown_at, delivered, sent_at) "
                "VALUES (?, ?, ?, 0, NULL) "
                "ON CONFLICT (respondent) DO UPDATE SET choices = excluded.choices, "
                "shown_at = excluded.shown_at, delivered = 0, sent_at = NULL",
                (respondent, json.dumps([list(item) for item in menu]), now.isoformat()),
            )

    async def delivered(
        self,
        respondent: str,
        accepted: bool,
        sent_at: float | None = None,
        shown_at: datetime | None = None,
    ) -> None:
        """Mark the menu as on its way to the person (just before sending), sent (with the
        channel's time of it), or not (the send failed). With `shown_at`, only the menu shown
        then: a late word on an earlier reply must not mark a newer list as seen."""
        only = "" if shown_at is None else " AND shown_at = ?"
        extra = () if shown_at is None else (shown_at.isoformat(),)
        async with self._db.transaction() as connection:
            await connection.execute(
                "UPDATE menus SET delivered = ?, sent_at = COALESCE(?, sent_at) "
                f"WHERE respondent = ?{only}",
                (int(accepted), sent_at, respondent, *extra),
            )

    async def menu(self, respondent: str) -> ShownMenu | None:
        row = await self._db.fetch_one(
            "SELECT choices, delivered, sent_at FROM menus WHERE respondent = ?", (respondent,)
        )
        if row is None:
            return None
        choices = {int(number): str(payload) for number, payload in json.loads(row["choices"])}
        return ShownMenu(choices, bool(row["delivered"]), row["sent_at"])
