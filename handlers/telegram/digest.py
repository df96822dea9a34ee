"""/digest (/bantin) on Telegram: an official's digest of the last full week, on demand.

Not recorded as the weekly delivery, so the scheduled digest still comes. The handler sits in
group -1 and stops the update there, so it works wherever it is registered.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from telegram import Bot, Update
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler

from bot.digest.compose import build_digest, preview_period, render
from bot.digest.delivery import DIGEST_KEY, DigestSchedule, Outcome, send_rendered
from bot.services import Services
from handlers.retry import Sleep
from handlers.telegram.citizens import CHANNEL, PRIVATE, citizen_of
from handlers.telegram.context import BotContext
from survey.access import Official
from survey.models import Language
from survey.texts import say

COMMAND_ALIASES = ("digest", "bantin")
TelegramApp = Application[Any, Any, Any, Any, Any, Any]


async def send_digest_now(
    bot: Bot,
    services: Services,
    official: Official,
    chat_id: int,
    now: datetime,
    language: Language,
    *,
    sleep: Sleep = asyncio.sleep,
) -> Outcome | None:
    """The last full week's digest for one official, on demand: not recorded as delivered.

    None when the official's scope holds no agency.
    """
    digest = await build_digest(services, official, preview_period(services.settings, now))
    if digest is None:
        return None
    return await send_rendered(bot, chat_id, await render(digest, language), sleep)


async def on_digest_command(update: Update, context: BotContext) -> None:
    """/digest (/bantin): the asking official's digest of the last full week, right now."""
    schedule = context.bot_data.get(DIGEST_KEY)
    user, chat = update.effective_user, update.effective_chat
    citizen = citizen_of(update, context)
    if not isinstance(schedule, DigestSchedule) or user is None or chat is None or not citizen:
        return
    language = await context.services.conversation.language(citizen)
    official = await schedule.services.desk.official(CHANNEL, str(user.id))
    if official is None:
        await chat.send_message(say(language, "official_only"))
    else:
        outcome = await send_digest_now(
            context.bot,
            schedule.services,
            official,
            chat.id,
            schedule.clock(),
            language,
            sleep=schedule.sleep,
        )
        if outcome is None:
            await chat.send_message(say(language, "no_agency_in_scope"))
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
