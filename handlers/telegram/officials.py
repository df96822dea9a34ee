"""Telegram adapter for officials: their commands (and Vietnamese aliases) to the desk."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.constants import MessageLimit
from telegram.ext import Application, CommandHandler

from handlers.officials import CANONICAL, COMMANDS, Request, discard_export
from handlers.telegram.citizens import CHANNEL, PRIVATE, citizen_of
from handlers.telegram.context import BotContext
from handlers.telegram.menus import publish_official_menu
from survey.channels import split_text as split_lines


async def on_official_command(update: Update, context: BotContext) -> None:
    """Any official command: identify, ask the desk once, send the text or the file."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    citizen = citizen_of(update, context)
    if message is None or user is None or chat is None or citizen is None or not message.text:
        return
    services = context.services
    word = message.text.split()[0].lstrip("/").split("@")[0].lower()
    request = Request(
        command=CANONICAL[word],
        args=tuple(context.args or ()),
        channel=CHANNEL,
        user_id=str(user.id),
        now=services.clock(),
        language=await services.conversation.language(citizen),
        bot_username=context.bot.username,
    )
    reply = await services.desk.handle(request)
    if request.command == "register":
        official = await services.desk.official(CHANNEL, request.user_id)
        if official is not None:  # registered just now: their commands join their menu
            await publish_official_menu(
                context.bot, official, services.conversation.default_language
            )
    if reply.document is None:
        for part in split_text(reply.text):
            await chat.send_message(part)
        return
    try:
        with reply.document.open("rb") as file:
            await chat.send_document(file, filename=reply.document.name, caption=reply.text)
    finally:
        discard_export(reply.document)


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split a long answer (a big ranking) at line breaks into messages Telegram accepts."""
    return split_lines(text, limit)


def add_official_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register before the citizen side's catch-all for unknown commands."""
    aliases = [alias for names in COMMANDS.values() for alias in names]
    application.add_handler(CommandHandler(aliases, on_official_command, filters=PRIVATE))
