"""A text-only chat (Zalo, the terminal): typed lines in, messages out, numbered menus stored.

Commands arrive as plain text (`/start ubnd_xa_a`, `/score month`); a number picks from the
menu last shown to this person, read from the database (so a restart, or another instance,
understands the "3" the same way); anything else is typed text for the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.conversation import Citizen, Conversation, Reply, pseudonym
from handlers.officials import CANONICAL, OfficialDesk, Request
from storage.menus import MenuStore
from storage.responses import ResponseStore, UpdateKey
from survey.answers import read_number
from survey.channels import capabilities, split_text
from survey.models import Language
from survey.numbered import HELP, render_numbered
from survey.screens import Screen
from survey.texts import say


@dataclass(frozen=True)
class Incoming:
    """One message from a person: their channel id (used only to reply) and the text, if any."""

    user_id: str
    text: str | None
    message_id: str | None = None  # the channel's id for de-duplicating replays


class TextChat:
    """Serves one text-only channel: citizens' survey and officials' commands."""

    def __init__(
        self,
        channel: str,
        conversation: Conversation,
        desk: OfficialDesk,
        menus: MenuStore,
        responses: ResponseStore,
        secret: str,
    ) -> None:
        self._channel = channel
        self._conversation = conversation
        self._desk = desk
        self._menus = menus
        self._responses = responses
        self._secret = secret
        self._limit = capabilities(channel).text_limit
        self._echo = capabilities(channel).echo

    def citizen(self, user_id: str) -> Citizen:
        return Citizen(self._channel, pseudonym(self._secret, self._channel, user_id))

    async def handle(self, incoming: Incoming, now: datetime) -> list[str]:
        """The messages to send back; none for a replay of a message already handled."""
        key = UpdateKey(self._channel, incoming.message_id) if incoming.message_id else None
        if key is not None and await self._responses.was_processed(key):
            return []  # the contract: a replayed or duplicate update is ignored silently
        citizen = self.citizen(incoming.user_id)
        messages = await self._answer(citizen, incoming, now, key)
        if key is not None:
            await self._responses.mark_processed(key, now)
        return messages

    async def _answer(
        self, citizen: Citizen, incoming: Incoming, now: datetime, key: UpdateKey | None
    ) -> list[str]:
        conversation = self._conversation
        text = (incoming.text or "").strip()
        if not text:
            return await self._show(citizen, await conversation.unexpected(citizen), now)
        if text.startswith("/"):
            return await self._command(citizen, incoming.user_id, text, now)
        update_id = key.update_id if key else None
        number = read_number(text)
        if number is not None:
            menu = await self._menus.menu(citizen.respondent)
            chosen = menu.get(number)
            if chosen == HELP:
                return await self._show(citizen, await conversation.help(citizen), now)
            if chosen is not None:
                reply = await conversation.press(citizen, chosen, now, update_id)
                return await self._show(citizen, reply, now)
            if menu and await self._responses.open_response(citizen.respondent) is None:
                language = await conversation.language(citizen)
                return self._split(say(language, "hint_number", number=number))
        reply = await conversation.type(citizen, text, now, update_id)
        return await self._show(citizen, reply, now)

    async def _command(
        self, citizen: Citizen, user_id: str, text: str, now: datetime
    ) -> list[str]:
        word, *args = text.split()
        name = word.lstrip("/").lower()
        conversation = self._conversation
        match name:
            case "start":
                reply = await conversation.start(citizen, args[0] if args else None, now)
            case "cancel" | "huy":
                reply = await conversation.cancel(citizen)
            case "lang":
                wanted = args[0].lower() if args else None
                reply = await conversation.choose_language(citizen, wanted, now)
            case "forget":
                reply = await conversation.forget(citizen)
            case _ if name in CANONICAL:
                return await self._official(citizen, user_id, CANONICAL[name], args, now)
            case _:
                reply = await conversation.help(citizen)
        return await self._show(citizen, reply, now)

    async def _official(
        self, citizen: Citizen, user_id: str, command: str, args: list[str], now: datetime
    ) -> list[str]:
        language = await self._conversation.language(citizen)
        request = Request(command, tuple(args), self._channel, user_id, now, language)
        reply = await self._desk.handle(request)
        if reply.document is None:
            return self._split(reply.text)
        # No file sending on a text-only channel: point to where the export can be had.
        reply.document.unlink(missing_ok=True)
        period = next((a for a in args if a[:1].isdigit()), "month")
        return self._split(f"{reply.text}\n{say(language, 'export_elsewhere', period=period)}")

    async def _show(self, citizen: Citizen, reply: Reply, now: datetime) -> list[str]:
        """Render the reply; the menu of the last screen with choices becomes the person's."""
        language: Language = await self._conversation.language(citizen)
        shown: list[Screen] = list(reply.screens)
        if reply.replace is not None:
            shown.insert(0, reply.replace)
        if not shown:
            # No editing here: what Telegram would show on the pressed message is said instead.
            words = reply.edit or reply.notice
            return self._split(words) if words else []
        # Zalo counts every message against a quota; the terminal can afford the echo.
        texts: list[str] = [f"✓ {reply.edit}"] if self._echo and reply.edit else []
        menu: tuple[tuple[int, str], ...] = ()
        for screen in shown:
            numbered = render_numbered(screen, language)
            texts.append(numbered.text)
            menu = numbered.menu
        await self._menus.show(citizen.respondent, menu, now)
        return [part for text in texts for part in self._split(text)]

    def _split(self, text: str) -> list[str]:
        return split_text(text, self._limit)
