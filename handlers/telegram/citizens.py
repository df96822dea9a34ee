"""Telegram adapter for citizens: unpack an update, call the conversation once, render."""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers.replies import Citizen, Reply, pseudonym
from handlers.telegram.context import BotContext
from survey import actions
from survey.screens import Screen

CHANNEL = "telegram"
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


def citizen_of(update: Update, context: BotContext) -> Citizen | None:
    user = update.effective_user
    if user is None:
        return None
    return Citizen(CHANNEL, pseudonym(context.services.secret, CHANNEL, user.id))


async def on_start(update: Update, context: BotContext) -> None:
    """`/start [payload]`: the QR deep link names the agency."""
    if (citizen := citizen_of(update, context)) is None:
        return
    payload = context.args[0] if context.args else None
    services = context.services
    await show(update, await services.conversation.start(citizen, payload, services.clock()))


async def on_press(update: Update, context: BotContext) -> None:
    """An inline button: answers, back, resume, agency choice, language, forget."""
    query = update.callback_query
    if query is None or (citizen := citizen_of(update, context)) is None:
        return
    services = context.services
    data = query.data if isinstance(query.data, str) else None
    reply = await services.conversation.press(citizen, data, services.clock(), update.update_id)
    await show(update, reply)


async def on_text(update: Update, context: BotContext) -> None:
    """Typed text: a digit 1–5 answers a statement, a comment, or an agency search."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if (citizen := citizen_of(update, context)) is None:
        return
    services = context.services
    reply = await services.conversation.type(
        citizen, message.text, services.clock(), update.update_id
    )
    await show(update, reply)


async def on_other(update: Update, context: BotContext) -> None:
    """Stickers, photos, files, voice: a hint; nothing is stored."""
    if (citizen := citizen_of(update, context)) is not None:
        await show(update, await context.services.conversation.unexpected(citizen))


async def on_edited(update: Update, context: BotContext) -> None:
    """An edited message: an answer is not changed by editing it (nothing stored); say so."""
    if (citizen := citizen_of(update, context)) is not None:
        await show(update, await context.services.conversation.edited(citizen))


async def on_cancel(update: Update, context: BotContext) -> None:
    if (citizen := citizen_of(update, context)) is not None:
        await show(update, await context.services.conversation.cancel(citizen))


async def on_help(update: Update, context: BotContext) -> None:
    if (citizen := citizen_of(update, context)) is not None:
        await show(update, await context.services.conversation.help(citizen))


async def on_language(update: Update, context: BotContext) -> None:
    if (citizen := citizen_of(update, context)) is None:
        return
    wanted = context.args[0].lower() if context.args else None
    services = context.services
    await show(
        update, await services.conversation.choose_language(citizen, wanted, services.clock())
    )


async def on_forget(update: Update, context: BotContext) -> None:
    if (citizen := citizen_of(update, context)) is not None:
        await show(update, await context.services.conversation.forget(citizen))


async def show(update: Update, reply: Reply) -> None:
    """Render a reply: answer the press, rewrite the pressed message, send the new screens."""
    query = update.callback_query
    if query is not None:
        await query.answer(reply.notice)
        await _rewrite(query, reply)
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    for screen in reply.screens:
        await chat.send_message(screen.text, reply_markup=keyboard(screen))


async def _rewrite(query: CallbackQuery, reply: Reply) -> None:
    target = reply.replace or (Screen(reply.edit) if reply.edit else None)
    if target is None or query.message is None:
        return
    try:
        await query.edit_message_text(target.text, reply_markup=keyboard(target))
    except BadRequest as error:
        # The message is too old to edit, or already shows this text: nothing is lost.
        if "not modified" not in str(error).lower() and "can't be edited" not in str(error):
            raise


def keyboard(screen: Screen) -> InlineKeyboardMarkup | None:
    if not screen.rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(choice.label, callback_data=actions.encode(choice.action))
                for choice in row
            ]
            for row in screen.rows
        ]
    )


def add_citizen_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the citizen side; the order matters (commands before free text)."""
    application.add_handlers(
        [
            CommandHandler("start", on_start, filters=PRIVATE),
            CommandHandler("cancel", on_cancel, filters=PRIVATE),
            CommandHandler("help", on_help, filters=PRIVATE),
            CommandHandler("lang", on_language, filters=PRIVATE),
            CommandHandler("forget", on_forget, filters=PRIVATE),
            CallbackQueryHandler(on_press),
            MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, on_text),
            MessageHandler(PRIVATE & filters.COMMAND, on_help),
            MessageHandler(PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_other),
            MessageHandler(
                filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE, on_edited
            ),
        ]
    )
