"""The Telegram network boundary, faked: a recording Bot API request and update factories."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.config import Settings
from bot.telegram_app import TelegramApp, build_application, on_shutdown, on_startup
from handlers.retry import Clock

QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BOT_USER = {"id": 999, "is_bot": True, "first_name": "SIPAS", "username": "sipas_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class RecordingRequest(BaseRequest):
    """Answers every Bot API method like Telegram would, and records what the bot sent."""

    calls: list[Call] = field(default_factory=list)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        answered = await self.intercept(name, params, request_data)
        if answered is not None:
            return answered
        self.calls.append(Call(name, params))
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    async def intercept(
        self, name: str, params: dict[str, Any], request_data: RequestData | None
    ) -> tuple[int, bytes] | None:
        """A subclass's say on a call before it is recorded and answered: its own answer (a
        refusal, a planned failure), or None to go on (having kept what it wanted to see)."""
        return None

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return BOT_USER
        if name in {"sendMessage", "editMessageText", "sendDocument", "sendPhoto"}:
            chat_id = int(params.get("chat_id", 0))
            message_id = (
                int(params["message_id"]) if "message_id" in params else next(self._message_ids)
            )
            return {
                "message_id": message_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "text": params.get("text", ""),
            }
        if name == "getUpdates":
            return []
        return True

    # What tests ask about.
    def sent(self, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if method is None or c.method == method]

    def last_text(self) -> str:
        return str(self.sent("sendMessage")[-1].params["text"])

    def last_buttons(self) -> list[tuple[str, str]]:
        """(label, callback data) of the last sent message's inline keyboard, in order."""
        return buttons_of(self.sent("sendMessage")[-1].params.get("reply_markup"))

    def last_message_id(self) -> int:
        return len(self.sent("sendMessage")) + 999


_update_ids = itertools.count(1)


def user(
    user_id: int, name: str = "Nguyễn Văn An", username: str | None = "an_nguyen"
) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name, "username": username}


def text_update(
    user_id: int, text: str, *, update_id: int | None = None, **extra: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_update_ids) + 50_000,
        "date": 0,
        "chat": {"id": user_id, "type": "private"},
        "from": user(user_id),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [
            {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        ]
    message.update(extra)
    return {"update_id": update_id or next(_update_ids), "message": message}


def press_update(
    user_id: int, data: str, *, message_id: int = 1, update_id: int | None = None
) -> dict[str, Any]:
    return {
        "update_id": update_id or next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": user(user_id),
            "chat_instance": "ci",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "text": "…",
            },
        },
    }


async def feed(
    application: Application[Any, Any, Any, Any, Any, Any], data: dict[str, Any]
) -> None:
    """Process one update through the real dispatcher, as polling would."""
    await application.process_update(Update.de_json(data, application.bot))


async def settle() -> None:
    await asyncio.sleep(0)


@asynccontextmanager
async def started_bot(
    settings: Settings, request: BaseRequest, clock: Clock | None = None
) -> AsyncIterator[TelegramApp]:
    """The real Application on `request`, from start-up to shutdown, as one run of `bot run`."""
    app = build_application(settings, request=request, rate_limiter=False, clock=clock)
    async with app:
        await on_startup(app)
        try:
            yield app
        finally:
            await on_shutdown(app)


@dataclass
class TelegramRules(RecordingRequest):
    """A `RecordingRequest` that refuses, with Telegram's 400, what Telegram would refuse: an
    empty or over-long text, bad button data, a long callback notice, a callback query answered
    twice. In-process tests thereby see such a bug as an error instead of a silent pass."""

    answered: set[str] = field(default_factory=set)
    refused: list[tuple[str, str]] = field(default_factory=list)

    async def intercept(
        self, name: str, params: dict[str, Any], request_data: RequestData | None
    ) -> tuple[int, bytes] | None:
        problem = self.problem(name, params)
        if problem is not None:
            self.refused.append((name, problem))
            self.calls.append(Call(f"{name}!refused", params))
            body = {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
            return 400, json.dumps(body).encode()
        return await super().intercept(name, params, request_data)

    def problem(self, name: str, params: Mapping[str, Any]) -> str | None:
        if name in ("sendMessage", "editMessageText"):
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                return "message text is empty"
            if len(text.encode("utf-16-le")) // 2 > 4096:
                return "message is too long"
            for label, data in buttons_of(params.get("reply_markup")):
                if not label or not 1 <= len(data.encode()) <= 64:
                    return "BUTTON_DATA_INVALID"
        if name == "answerCallbackQuery":
            query = str(params.get("callback_query_id"))
            if query in self.answered:
                return QUERY_TOO_OLD.removeprefix("Bad Request: ")
            self.answered.add(query)
            text = params.get("text")
            if isinstance(text, str) and len(text) > 200:
                return "MESSAGE_TOO_LONG"
        return None

    def to_chat(self, chat_id: int, since: int = 0) -> list[Call]:
        """Messages (and documents, photos) sent to `chat_id` from call number `since` on."""
        return [
            c
            for c in self.calls[since:]
            if c.method in ("sendMessage", "sendDocument", "sendPhoto")
            and int(c.params.get("chat_id", 0)) == chat_id
        ]


def buttons_of(markup: Any) -> list[tuple[str, str]]:
    """(label, callback data) of an inline keyboard as PTB passes it to the request."""
    if not markup:
        return []
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        markup = markup.to_dict()
    return [
        (str(b.get("text", "")), str(b.get("callback_data", "")))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]
