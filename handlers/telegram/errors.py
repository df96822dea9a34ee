"""The error handler: log where it failed (never the token, never the data), tell the person."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from handlers.errors import describe_error
from handlers.telegram.context import BotContext
from survey.texts import say

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log first; then, for a person's update, say that something went wrong."""
    error = context.error
    if isinstance(error, Forbidden):
        log.info("a user has blocked the bot: %s", error)
        return
    if isinstance(error, RetryAfter | TimedOut | NetworkError):
        log.warning("Bot API call failed: %s: %s", type(error).__name__, error)
    else:
        log.error("error while handling an update: %s", describe_error(error))
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    language = context.services.conversation.default_language
    if update.callback_query is not None:
        try:
            await update.callback_query.answer(say(language, "error"))
        except BadRequest as refused:
            # Answered already (a press is answered once): the message below tells the person.
            log.debug("the press was answered already: %s", refused)
        except TelegramError as reply_error:
            log.warning("could not tell the user about the error (press): %s", reply_error)
    try:
        await update.effective_chat.send_message(say(language, "error"))
    except Exception as reply_error:  # the Bot API may be the thing that is failing
        log.warning("could not tell the user about the error: %s", reply_error)
