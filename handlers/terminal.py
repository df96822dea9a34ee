"""The terminal chat: the citizen conversation as numbered lines (the operator's simulator)."""

from __future__ import annotations

import getpass
from datetime import datetime

from handlers.conversation import Citizen, Conversation, Reply, pseudonym
from survey import actions
from survey.screens import Choice, Screen

CHANNEL = "terminal"
PROMPT = "> "


def terminal_citizen(secret: str, user: str | None = None) -> Citizen:
    """The person at the keyboard, pseudonymised like any other respondent."""
    return Citizen(CHANNEL, pseudonym(secret, CHANNEL, user or getpass.getuser()))


def render(screen: Screen) -> str:
    """A screen as text with its choices numbered from 1, one per line."""
    lines = [screen.text]
    if screen.choices:
        lines.append("")
        lines.extend(f"  {number}) {choice.label}" for number, choice in _numbered(screen))
    return "\n".join(lines)


def _numbered(screen: Screen) -> list[tuple[int, Choice]]:
    return list(enumerate(screen.choices, start=1))


class TerminalChat:
    """Turns typed lines into conversation calls; remembers only the choices on screen."""

    def __init__(self, conversation: Conversation, citizen: Citizen) -> None:
        self._conversation = conversation
        self._citizen = citizen
        self._choices: tuple[Choice, ...] = ()

    async def handle(self, line: str, now: datetime) -> str:
        """The output for one typed line."""
        text = line.strip()
        if not text:
            return ""
        command, _, argument = text.partition(" ")
        reply = await self._dispatch(command.lower(), argument.strip() or None, text, now)
        return self._show(reply)

    async def _dispatch(
        self, command: str, argument: str | None, text: str, now: datetime
    ) -> Reply:
        conversation, citizen = self._conversation, self._citizen
        match command:
            case "/start":
                return await conversation.start(citizen, argument, now)
            case "/cancel":
                return await conversation.cancel(citizen)
            case "/help":
                return await conversation.help(citizen)
            case "/lang":
                return await conversation.choose_language(citizen, argument, now)
            case "/forget":
                return await conversation.forget(citizen)
        if text.isdecimal() and 1 <= int(text) <= len(self._choices):
            choice = self._choices[int(text) - 1]
            return await conversation.press(citizen, actions.encode(choice.action), now)
        return await conversation.type(citizen, text, now)

    def _show(self, reply: Reply) -> str:
        parts: list[str] = []
        if reply.notice:
            parts.append(f"({reply.notice})")
        if reply.edit:
            parts.append(f"✓ {reply.edit}")
        shown = ([reply.replace] if reply.replace else []) + list(reply.screens)
        for screen in shown:
            parts.append(render(screen))
            if screen.choices:
                self._choices = screen.choices
        if shown and not shown[-1].choices:
            self._choices = ()
        return "\n\n".join(parts)
