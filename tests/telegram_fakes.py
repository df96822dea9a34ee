"""The Telegram network boundary, faked: a recording Bot API request and update factories."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.config import Settings
from bot.telegram_app import Clock, TelegramApp, build_application, on_shutdown, on_startup

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
        markup = self.sent("sendMessage")[-1].params.get("reply_markup")
        if not markup:
            return []
        keyboard = markup if isinstance(markup, dict) else json.loads(markup)
        if not isinstance(keyboard, dict):
            keyboard = keyboard.to_dict()
        return [
            (button["text"], button["callback_data"])
            for row in keyboard["inline_keyboard"]
            for button in row
        ]

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
