"""The digest on Telegram: how it is sent (a captioned photo, or text then photo), and /digest.

/digest (/bantin) sends an official the digest of the last full week on demand; it is not
recorded as the weekly delivery, so the scheduled digest still comes. The handler sits in group
-1 and stops the update there, so it works wherever it is registered.
"""

from __future__ import annotations

import asyncio
import warnings
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler
from telegram.warnings import PTBDeprecationWarning

from handlers.delivery import DigestChannel, Send, SendOutcome, send_parts
from handlers.retry import Sleep, Wait
from handlers.retry import call_with_retry as retry
from handlers.telegram.citizens import CHANNEL, PRIVATE, citizen_of
from handlers.telegram.context import BotContext
from handlers.telegram.officials import split_text
from survey.digest import RenderedDigest
from survey.texts import say

COMMAND_ALIASES = ("digest", "bantin")
CAPTION_LIMIT = 1024
"""Telegram's limit for a photo caption; a longer digest goes as a message before the chart."""
TelegramApp = Application[Any, Any, Any, Any, Any, Any]


def _retry_after(error: RetryAfter) -> float:
    # PTB 22 warns that `retry_after` will become a timedelta; accept either.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def wait_after(error: Exception) -> Wait:
    """Telegram: a 429 says how long; timeouts, connection errors and 5xx back off; a
    Forbidden, a BadRequest (a NetworkError subclass, but it stays malformed) or any other
    refusal is not worth another try."""
    if isinstance(error, RetryAfter):
        return _retry_after(error)
    if isinstance(error, BadRequest):
        return None
    if isinstance(error, NetworkError):
        return "backoff"
    return None


async def call_with_retry(send: Send, sleep: Sleep) -> None:
    """Call ``send`` until Telegram accepts it (see `handlers.retry`)."""
    await retry(send, sleep, wait_after)


def telegram_digest(bot: Bot) -> DigestChannel:
    """One photo with the text as caption, or the text (split if huge) then the captioned photo."""

    def messages(user_id: str, rendered: RenderedDigest) -> list[Send]:
        chat_id = int(user_id)

        def photo(caption: str) -> Send:
            return lambda: bot.send_photo(
                chat_id, rendered.png, caption=caption, filename="sipas.png"
            )

        def message(part: str) -> Send:
            return lambda: bot.send_message(chat_id, part)

        if len(rendered.text) <= CAPTION_LIMIT:
            return [photo(rendered.text)]
        return [*(message(part) for part in split_text(rendered.text)), photo(rendered.caption)]

    return DigestChannel(messages, wait_after, _telegram_outcome)


def _telegram_outcome(error: Exception) -> SendOutcome | None:
    if isinstance(error, Forbidden):
        return "blocked"
    if isinstance(error, BadRequest):
        return "rejected"
    if isinstance(error, RetryAfter | NetworkError):  # still due: the next run tries again
        return "failed"
    if isinstance(error, TelegramError):  # e.g. ChatMigrated, InvalidToken: retrying won't help
        return "rejected"
    return None


async def send_rendered(
    bot: Bot, chat_id: int, rendered: RenderedDigest, sleep: Sleep = asyncio.sleep
) -> SendOutcome:
    """The whole digest to one Telegram chat (the on-demand /digest; nothing recorded)."""
    return await send_parts(telegram_digest(bot), str(chat_id), rendered, sleep)


async def on_digest_command(update: Update, context: BotContext) -> None:
    """/digest (/bantin): the asking official's digest of the last full week, right now."""
    user, chat = update.effective_user, update.effective_chat
    citizen = citizen_of(update, context)
    if user is None or chat is None or not citizen:
        return
    services = context.services
    language = await services.conversation.language(citizen)
    official = await services.desk.official(CHANNEL, str(user.id))
    if official is None:
        await chat.send_message(say(language, "official_only"))
    else:
        rendered = await services.digest_now(official, services.clock(), language)
        if rendered is None:
            await chat.send_message(say(language, "no_agency_in_scope"))
        else:
            await send_rendered(context.bot, chat.id, rendered, services.sleep)
    # Handled: keep the citizen side's "unknown command" reply from answering too.
    raise ApplicationHandlerStop


def add_digest_handlers(application: TelegramApp) -> None:
    """/digest in group -1, ahead of every other handler, so registration order is free."""
    if any(
        getattr(h, "callback", None) is on_digest_command for h in application.handlers.get(-1, [])
    ):
        return
    handler = CommandHandler(COMMAND_ALIASES, on_digest_command, filters=PRIVATE)
    application.add_handler(handler, group=-1)
