"""The numbered menu last shown to each respondent on a text-only channel."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from storage.database import Database


class MenuStore:
    """Keeps what each typed number means, per respondent, across restarts and instances."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def show(self, respondent: str, menu: Sequence[tuple[int, str]], now: datetime) -> None:
        """Replace the respondent's menu (an empty one clears it)."""
        async with self._db.transaction() as connection:
            if not menu:
                await connection.execute("DELETE FROM menus WHERE respondent = ?", (respondent,))
                return
            await connection.execute(
                "INSERT INTO menus (respondent, choices, shown_at) VALUES (?, ?, ?) "
                "ON CONFLICT (respondent) DO UPDATE SET choices = excluded.choices, "
                "shown_at = excluded.shown_at",
                (respondent, json.dumps([list(item) for item in menu]), now.isoformat()),
            )

    async def menu(self, respondent: str) -> dict[int, str]:
        """Number → payload of the last screen with choices; empty when there is none."""
        value = await self._db.fetch_value(
            "SELECT choices FROM menus WHERE respondent = ?", (respondent,)
        )
        if value is None:
            return {}
        return {int(number): str(payload) for number, payload in json.loads(value)}
