"""Telegram's command menus: the citizen's for everyone, an official's in their own chat."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from survey.access import Official

log = logging.getLogger(__name__)

COMMANDS = {
    "vi": [
        BotCommand("start", "Bắt đầu hoặc tiếp tục đánh giá"),
        BotCommand("cancel", "Tạm dừng khảo sát"),
        BotCommand("lang", "Đổi ngôn ngữ"),
        BotCommand("forget", "Xoá dữ liệu của tôi"),
        BotCommand("help", "Hướng dẫn"),
    ],
    "en": [
        BotCommand("start", "Start or continue a rating"),
        BotCommand("cancel", "Pause the survey"),
        BotCommand("lang", "Change language"),
        BotCommand("forget", "Delete my data"),
        BotCommand("help", "Help"),
    ],
}


OFFICIAL_COMMANDS = {
    "vi": [
        BotCommand("score", "Chỉ số SIPAS, ví dụ /score month"),
        BotCommand("criteria", "Chỉ số từng tiêu chí"),
        BotCommand("ranking", "Xếp hạng các cơ quan"),
        BotCommand("export", "Xuất dữ liệu (xlsx hoặc csv)"),
        BotCommand("digest", "Bản tin tuần, gửi ngay"),
        BotCommand("subscribe", "Nhận bản tin tuần"),
        BotCommand("unsubscribe", "Thôi nhận bản tin tuần"),
        BotCommand("visit", "Mã đánh giá một lần cho người dân"),
    ],
    "en": [
        BotCommand("score", "SIPAS index, e.g. /score month"),
        BotCommand("criteria", "Index per criterion"),
        BotCommand("ranking", "Ranking of agencies"),
        BotCommand("export", "Export the data (xlsx or csv)"),
        BotCommand("digest", "Weekly digest, now"),
        BotCommand("subscribe", "Get the weekly digest"),
        BotCommand("unsubscribe", "Stop the weekly digest"),
        BotCommand("visit", "Single-use rating code for a citizen"),
    ],
}
ADMIN_COMMANDS = {
    "vi": [BotCommand("invite", "Mời cán bộ, ví dụ /invite ubnd_xa_a")],
    "en": [BotCommand("invite", "Invite an official, e.g. /invite ubnd_xa_a")],
}


async def publish_official_menu(bot: Bot, official: Official, default_language: str) -> None:
    """An official's own command menu (their chat only): the citizen's plus theirs.

    Telegram refuses a chat that has never opened the bot; the menu then comes with the
    official's first command (after /register) or the next start.
    """
    scope = BotCommandScopeChat(int(official.user_id))
    for language, commands in COMMANDS.items():
        menu = commands + OFFICIAL_COMMANDS[language]
        if official.is_admin:
            menu = menu + ADMIN_COMMANDS[language]
        code = None if language == default_language else language
        try:
            await bot.set_my_commands(menu, scope=scope, language_code=code)
        except TelegramError as error:
            log.info("official command menu not set for one chat yet: %s", error)
            return


async def publish_citizen_menus(bot: Bot, default_language: str) -> None:
    """The menu everyone sees, in each language (the default one without a language code)."""
    for language, commands in COMMANDS.items():
        code = None if language == default_language else language
        await bot.set_my_commands(commands, language_code=code)
