"""A text-only chat (Zalo, the terminal): typed lines in, messages out, numbered menus stored.

Commands arrive as plain text (`/start ubnd_xa_a`, `/score month`); a number picks from the
menu last shown to this person, read from the database (so a restart, or another instance,
understands the "3" the same way); anything else is typed text for the conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.conversation import Conversation
from handlers.officials import CANONICAL, OfficialDesk, Request, discard_export
from handlers.replies import Citizen, Reply, pseudonym
from storage.menus import MenuStore
from storage.responses import ResponseStore, UpdateKey
from survey.answers import read_command_word, read_number
from survey.channels import capabilities, split_text
from survey.models import Language
from survey.numbered import render_numbered
from survey.screens import Screen
from survey.texts import say
from survey.typed import needs_open_list, read_typed


@dataclass(frozen=True)
class Incoming:
    """One message from a person: their channel id (used only to reply) and the text, if any."""

    user_id: str
    text: str | None
    message_id: str | None = None  # the channel's id for de-duplicating replays
    sent_at: float | None = None  # when the person sent it, on the channel's clock


@dataclass(frozen=True)
class Shown:
    """What to send, and the list now in front of the person (None: the old one stays)."""

    messages: list[str]
    menu: tuple[tuple[int, str], ...] | None = None


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
        return (await self.respond(incoming, now)).messages

    async def respond(self, incoming: Incoming, now: datetime) -> Shown:
        """`handle`, with the menu now in front of the person (a renderer may need more)."""
        key = UpdateKey(self._channel, incoming.message_id) if incoming.message_id else None
        if key is not None and await self._responses.was_processed(key):
            return Shown([])  # the contract: a replayed or duplicate update is ignored silently
        citizen = self.citizen(incoming.user_id)
        shown = await self._answer(citizen, incoming, now, key)
        if shown.menu is not None:
            # The new list and "this message was handled" in one transaction: a replay after a
            # crash either is ignored or finds the old list, never reapplied to the new one.
            await self._menus.show(citizen.respondent, shown.menu, now, key)
        elif key is not None:
            await self._responses.mark_processed(key, now)
        return shown

    async def seen(self, message_id: str) -> bool:
        """Whether a message with this id was handled already."""
        return await self._responses.was_processed(UpdateKey(self._channel, message_id))

    async def apology(self, user_id: str) -> list[str]:
        """What to say when handling failed: try again later (nothing half-stored)."""
        conversation = self._conversation
        try:
            language = await conversation.language(self.citizen(user_id))
        except Exception:  # the database may be what failed
            language = conversation.default_language
        return [say(language, "error")]

    async def delivered(
        self,
        user_id: str,
        accepted: bool,
        sent_at: float | None = None,
        handled_at: datetime | None = None,
    ) -> None:
        """Whether the channel accepted the messages `handle` returned at `handled_at` (and
        when, on its clock); a number typed before the list reached the person answers
        nothing. With `handled_at`, only the list that handling showed is marked."""
        respondent = self.citizen(user_id).respondent
        await self._menus.delivered(respondent, accepted, sent_at, handled_at)

    async def _answer(
        self, citizen: Citizen, incoming: Incoming, now: datetime, key: UpdateKey | None
    ) -> Shown:
        conversation = self._conversation
        text = (incoming.text or "").strip()
        if not text:
            return self._show(await conversation.unexpected(citizen))
        if text.startswith("/"):
            return await self._command(citizen, incoming.user_id, text, now)
        update_id = key.update_id if key else None
        number = read_number(text)
        menu = await self._menus.menu(citizen.respondent)
        where = await conversation.where(citizen) if needs_open_list(number, menu) else None
        open_list = None
        if where is not None and where.prompt is not None:
            open_list = dict(render_numbered(where.prompt, where.language).menu)
        passes = read_command_word(text) in ("cancel", "help") or conversation.is_entry_code(text)
        reading = read_typed(
            number, menu, open_list, passes=passes, sent_at=incoming.sent_at, now=now.timestamp()
        )
        match reading.meaning:
            case "press":
                reply = await conversation.press(citizen, reading.payload, now, update_id)
            case "typed":
                reply = await conversation.type(citizen, text, now, update_id)
            case "help":
                reply = await conversation.help(citizen)
            case "ask_again":
                # Typed against a list they had not seen: the number answers nothing; ask the
                # open question again.
                where = where or await conversation.where(citizen)
                if where.prompt is None:
                    reply = await conversation.start(citizen, None, now)
                else:
                    reply = Reply((where.prompt,), language=where.language)
            case "resume":
                # Paused, or never started: offer to resume (or the agencies).
                reply = await conversation.start(citizen, None, now)
            case "not_listed":
                assert where is not None  # needs_open_list: a number the menu lacks
                hint = say(where.language, "hint_number", number=number)
                if where.prompt is None:
                    return Shown(self._split(hint))  # the list stays as it is
                reply = Reply((Screen(hint),), language=where.language, asking=where.prompt)
        return self._show(reply)

    async def _command(self, citizen: Citizen, user_id: str, text: str, now: datetime) -> Shown:
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
        return self._show(reply)

    async def _official(
        self, citizen: Citizen, user_id: str, command: str, args: list[str], now: datetime
    ) -> Shown:
        language = await self._conversation.language(citizen)
        request = Request(command, tuple(args), self._channel, user_id, now, language)
        reply = await self._desk.handle(request)
        if reply.document is None:
            return Shown(self._split(reply.text))
        # No file sending on a text-only channel: point to where the export can be had.
        discard_export(reply.document)
        period = next((a for a in args if a[:1].isdigit()), "month")
        text = f"{reply.text}\n{say(language, 'export_elsewhere', period=period)}"
        return Shown(self._split(text))

    def _show(self, reply: Reply) -> Shown:
        """Render the reply as messages; the menu of the last screen with choices becomes the
        person's. A reply that asks nothing is followed by the question still open, which the
        reply carries (nothing can be edited here, and the list must be in front of them for a
        number to mean it)."""
        shown: list[Screen] = list(reply.screens)
        if reply.replace is not None:
            shown.insert(0, reply.replace)
        if not shown and (reply.edit or reply.notice):
            shown.append(Screen(reply.edit or reply.notice or ""))
        if reply.asking is not None and not any(screen.choices for screen in shown):
            shown.append(reply.asking)
        language = reply.language or self._conversation.default_language
        return self._render(shown, reply, language)

    def _render(self, shown: list[Screen], reply: Reply, language: Language) -> Shown:
        """The screens as numbered text; the last one's numbers become the person's menu."""
        numbered = [render_numbered(screen, language) for screen in shown]
        texts = [screen.text for screen in numbered]
        if self._echo and reply.edit and reply.screens:
            texts.insert(0, f"✓ {reply.edit}")  # the terminal can afford to echo the answer
        # One message where it fits: each one counts against Zalo's monthly quota.
        messages = self._split("\n\n".join(texts)) if texts else []
        return Shown(messages, numbered[-1].menu if numbered else ())

    def _split(self, text: str) -> list[str]:
        return split_text(text, self._limit)
