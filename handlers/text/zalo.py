"""Zalo Bot Platform adapter: an update, in either documented envelope, to one text-chat call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.text.chat import Incoming, TextChat

CHANNEL = "zalo"
TEXT_EVENT = "message.text.received"


@dataclass(frozen=True)
class ZaloMessage:
    """What we read from an update; display names and avatars are never read."""

    chat_id: str
    user_id: str
    message_id: str
    text: str | None  # None for stickers, images and anything else without text
    private: bool
    sent_at: float | None = field(default=None, compare=False)  # epoch seconds, if given


def parse_update(body: Any) -> ZaloMessage | None:
    """The message of a getUpdates result or a webhook body, or None if it has none.

    Accepts the documented wrapped form `{"ok": true, "result": {...}}` and the top-level form
    reported from real deliveries; an update without `event_name` (the docs' own sample) with
    text counts as a text message.
    """
    if isinstance(body, dict) and body.get("ok") is True and isinstance(body.get("result"), dict):
        body = body["result"]
    if not isinstance(body, dict) or not isinstance(message := body.get("message"), dict):
        return None
    chat, sender = message.get("chat"), message.get("from")
    message_id = message.get("message_id")
    if not isinstance(chat, dict) or not isinstance(sender, dict) or not message_id:
        return None
    chat_id, user_id = chat.get("id"), sender.get("id")
    if not chat_id or not user_id or sender.get("is_bot") is True:
        return None
    event = body.get("event_name")
    text = message.get("text")
    is_text = event in (None, TEXT_EVENT) and isinstance(text, str)
    return ZaloMessage(
        chat_id=str(chat_id),
        user_id=str(user_id),
        message_id=str(message_id),
        text=text if is_text else None,
        private=str(chat.get("chat_type", "PRIVATE")).upper() == "PRIVATE",
        sent_at=_seconds(message.get("date")),
    )


def _seconds(date: Any) -> float | None:
    """Zalo dates are milliseconds; a value small enough to be seconds is taken as seconds."""
    if isinstance(date, bool) or not isinstance(date, int | float) or date <= 0:
        return None
    return date / 1000 if date > 1e11 else float(date)


async def on_message(message: ZaloMessage, chat: TextChat, now: datetime) -> list[str]:
    """A private message: the texts to send back (none for a replay)."""
    incoming = Incoming(message.user_id, message.text, message.message_id, message.sent_at)
    return await chat.handle(incoming, now)
