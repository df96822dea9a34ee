"""Builds and runs the python-telegram-bot Application: the one place Telegram is wired."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from telegram import Bot, Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest

from bot.config import Settings
from bot.digest_command import add_digest_handlers
from bot.digest_delivery import schedule_digest
from bot.housekeeping import schedule_housekeeping
from bot.services import Services, configured_officials, open_services
from bot.telegram_webhook import WebhookUpdater
from bot.web.server import start_web, stop_web
from bot.zalo import ZaloChannel, build_channel
from bot.zalo_jobs import zalo_digest
from handlers.context import BotContext, ChatServices, attach
from handlers.errors import on_error
from handlers.ordering import PerUserUpdateProcessor
from handlers.telegram import CHANNEL as TELEGRAM
from handlers.telegram import add_citizen_handlers
from handlers.telegram_menus import publish_citizen_menus, publish_official_menu
from handlers.telegram_officials import add_official_handlers
from handlers.zalo import CHANNEL as ZALO

log = logging.getLogger(__name__)
TelegramApp = Application[Any, BotContext, Any, Any, Any, Any]
SERVICES = "app_services"
WEB = "app_web"
MAX_CONCURRENT_UPDATES = 256
Clock = Callable[[], datetime]


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: bool = True,
    clock: Clock | None = None,
) -> TelegramApp:
    """The Application, its handlers and hooks; `request` replaces the network in tests."""
    telegram = settings.telegram
    assert telegram.token is not None
    builder = (
        ApplicationBuilder()
        .token(telegram.token.get_secret_value())
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(PerUserUpdateProcessor(MAX_CONCURRENT_UPDATES))
        .post_init(on_startup)
        .post_shutdown(on_shutdown)
    )
    if telegram.base_url:
        builder = builder.base_url(telegram.base_url)
    if telegram.base_file_url:
        builder = builder.base_file_url(telegram.base_file_url)
    if rate_limiter:
        # PTB types the builder for the default limiter; AIORateLimiter is the one it ships.
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application: TelegramApp = builder.build()
    application.bot_data["settings"] = settings
    application.bot_data["clock"] = clock or _utc_now
    add_official_handlers(application)  # before the citizen side's unknown-command reply
    add_digest_handlers(application)  # group -1: its place in this list does not matter
    add_citizen_handlers(application)
    application.add_error_handler(on_error)
    return application


async def on_startup(application: TelegramApp) -> None:
    """post_init: open storage, attach services, publish the command menus."""
    settings: Settings = application.bot_data["settings"]
    services = await open_services(settings)
    application.bot_data[SERVICES] = services
    attach(application, chat_services(services, application.bot_data["clock"]))
    clock = application.bot_data["clock"]
    schedule = schedule_digest(application, services, clock)
    schedule_housekeeping(application, services, clock)
    application.bot_data[WEB] = await start_web(settings, services, clock)
    if settings.zalo.token is not None:  # both channels in one process
        zalo = build_channel(settings.zalo, services.text_chat(ZALO), clock)
        await zalo.start()
        application.bot_data[ZALO] = zalo
        schedule.others[ZALO] = zalo_digest(zalo.api, settings.zalo)
    await publish_citizen_menus(application.bot, settings.bot.default_language)
    for official in configured_officials(settings):
        if official.channel == TELEGRAM:
            await publish_official_menu(application.bot, official, settings.bot.default_language)


async def on_shutdown(application: TelegramApp) -> None:
    """post_shutdown: stop Zalo, close storage."""
    await stop_web(application.bot_data.pop(WEB, None))
    zalo: ZaloChannel | None = application.bot_data.pop(ZALO, None)
    if zalo is not None:
        await zalo.stop()
    services: Services | None = application.bot_data.pop(SERVICES, None)
    if services is not None:
        await services.close()


def chat_services(services: Services, clock: Clock) -> ChatServices:
    return ChatServices(
        conversation=services.conversation,
        desk=services.desk,
        secret=services.settings.privacy.secret.get_secret_value(),
        clock=clock,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def ask_bot_username(settings: Settings) -> str:
    """getMe with the configured token and server; raises InvalidToken when it is refused."""
    telegram = settings.telegram
    assert telegram.token is not None
    bot = Bot(
        telegram.token.get_secret_value(),
        base_url=telegram.base_url or "https://api.telegram.org/bot",
        base_file_url=telegram.base_file_url or "https://api.telegram.org/file/bot",
    )
    async with bot:
        return bot.username


def run_telegram(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: long polling, or a webhook server when configured.

    PTB's run_polling/run_webhook own the event loop, call post_init/post_shutdown and install
    the signal handlers, so this is synchronous.
    """
    application = build_application(settings)
    telegram = settings.telegram
    if telegram.mode == "webhook":
        # Our endpoint on PTB's server: the secret checked first, the body capped.
        application.updater = WebhookUpdater(application.bot, application.update_queue)
        webhook_url = telegram.webhook_url or ""
        application.run_webhook(
            listen=telegram.listen,
            port=telegram.port,
            url_path=urlparse(webhook_url).path.lstrip("/"),
            webhook_url=webhook_url,
            secret_token=telegram.secret_token.get_secret_value()
            if telegram.secret_token
            else None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
