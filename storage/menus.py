"""The numbered menu last shown to each respondent on a text-only channel."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.database import Database


@dataclass(frozen=True)
class Menu:
    """Number → payload of the last screen with choices, and whether it reached the person."""

    choices: dict[int, str]
    delivered: bool


class MenuStore:
    """Keeps what each typed number means, per respondent, across restarts and instances."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def show(self, respondent: str, menu: Sequence[tuple[int, str]], now: datetime) -> None:
        """Replace the respondent's menu (an empty one clears it), not yet delivered."""
        async with self._db.transaction() as connection:
            if not menu:
                await connection.execute("DELETE FROM menus WHERE respondent = ?", (respondent,))
                return
            await connection.execute(
                "INSERT INTO menus (respondent, choices, shown_at, delivered) VALUES (?, ?, ?, 0) "
                "ON CONFLICT (respondent) DO UPDATE SET choices = excluded.choices, "
                "shown_at = excluded.shown_at, delivered = 0",
                (respondent, json.dumps([list(item) for item in menu]), now.isoformat()),
            )

    async def delivered(self, respondent: str, accepted: bool) -> None:
        """Mark the menu as on its way to the person (just before sending), or not (the send
        failed): a number typed against a menu they never saw is not an answer."""
        async with self._db.transaction() as connection:
            await connection.execute(
                "UPDATE menus SET delivered = ? WHERE respondent = ?",
                (int(accepted), respondent),
            )

    async def menu(self, respondent: str) -> Menu | None:
        row = await self._db.fetch_one(
            "SELECT choices, delivered FROM menus WHERE respondent = ?", (respondent,)
        )
        if row is None:
            return None
        choices = {int(number): str(payload) for number, payload in json.loads(row["choices"])}
        return Menu(choices, bool(row["delivered"]))
