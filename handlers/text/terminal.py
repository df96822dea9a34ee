"""The terminal chat: the operator's simulator, the same numbered-text chat as Zalo."""

from __future__ import annotations

import getpass
from datetime import datetime

from handlers.text.chat import Incoming, TextChat

CHANNEL = "terminal"
PROMPT = "> "


class TerminalChat:
    """Typed lines from the person at the keyboard, through the text chat, as one output."""

    def __init__(self, chat: TextChat, user: str | None = None) -> None:
        self._chat = chat
        self._user = user or getpass.getuser()  # pseudonymised like any respondent's id

    async def handle(self, line: str, now: datetime) -> str:
        """The output for one typed line."""
        text = line.strip()
        if not text:
            return ""
        messages = await self._chat.handle(Incoming(self._user, text), now)
        await self._chat.delivered(self._user, True)  # printed by the caller right away
        return "\n\n".join(messages)
