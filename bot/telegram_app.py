"""Builds and runs the python-telegram-bot Application: the one place Telegram is wired."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from telegram import Bot, Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes
from telegram.request import BaseRequest
from tornado.httpserver import HTTPServer

from bot.config import Settings
from bot.digest.compose import build_digest, preview_period, render
from bot.jobs import Jobs
from bot.services import Services, configured_officials, open_services
from bot.telegram_webhook import WebhookUpdater
from bot.web.server import start_web, stop_web
from bot.zalo.channel import ZaloChannel, build_channel
from bot.zalo.digest import zalo_digest
from bot.zalo_oa.channel import OaChannel
from bot.zalo_oa.channel import build_channel as build_oa_channel
from bot.zalo_oa.digest import oa_digest
from handlers.retry import Clock
from handlers.telegram.citizens import CHANNEL as TELEGRAM
from handlers.telegram.citizens import add_citizen_handlers
from handlers.telegram.context import BotContext, ChatServices, attach
from handlers.telegram.digest import add_digest_handlers, telegram_digest
from handlers.telegram.errors import on_error
from handlers.telegram.menus import publish_citizen_menus, publish_official_menu
from handlers.telegram.officials import add_official_handlers
from handlers.telegram.ordering import PerUserUpdateProcessor
from handlers.text.zalo import CHANNEL as ZALO
from handlers.zalo_oa import CHANNEL as ZALO_OA
from survey.access import Official
from survey.digest import RenderedDigest
from survey.models import Language

log = logging.getLogger(__name__)
TelegramApp = Application[Any, BotContext, Any, Any, Any, Any]
RUN = "run"
MAX_CONCURRENT_UPDATES = 256


@dataclass
class Run:
    """One run of the Telegram bot, as the wiring sees it (handlers see only `ChatServices`):
    its settings and clock from the start; its services, jobs, web server and Zalo channel
    once started."""

    settings: Settings
    clock: Clock
    run_jobs: bool
    services: Services | None = None
    jobs: Jobs | None = None
    zalo: ZaloChannel | None = None
    web: HTTPServer | None = None
    oa: OaChannel | None = None


def run_of(application: TelegramApp) -> Run:
    run = application.bot_data[RUN]
    assert isinstance(run, Run)
    return run


def services_of(application: TelegramApp) -> Services:
    """The started run's services."""
    services = run_of(application).services
    assert services is not None, "on_startup has not run"
    return services


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: bool = True,
    clock: Clock | None = None,
    run_jobs: bool = False,
) -> TelegramApp:
    """The Application, its handlers and hooks; `request` replaces the network in tests.

    `run_jobs`: start the scheduled jobs (the running bot); otherwise they are registered but
    paused, so a test fires them by hand."""
    telegram = settings.telegram
    assert telegram.token is not None
    builder = (
        ApplicationBuilder()
        .job_queue(None)  # bot.jobs schedules the same way for every run mode
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
    application.bot_data[RUN] = Run(settings, clock or _utc_now, run_jobs)
    add_official_handlers(application)  # before the citizen side's unknown-command reply
    add_digest_handlers(application)  # group -1: its place in this list does not matter
    add_citizen_handlers(application)
    application.add_error_handler(on_error)
    return application


async def on_startup(application: TelegramApp) -> None:
    """post_init: open storage, attach services, publish the command menus."""
    run = run_of(application)
    settings, clock = run.settings, run.clock
    run.services = services = await open_services(settings)
    attach(application, chat_services(services, clock))
    run.jobs = jobs = Jobs(services, clock)
    jobs.add_channel(TELEGRAM, telegram_digest(application.bot))
    run.web = await start_web(settings, services, clock)
    if settings.zalo.token is not None:  # both channels in one process
        run.zalo = zalo = build_channel(settings.zalo, services.text_chat(ZALO), clock)
        await zalo.start()
        jobs.add_channel(ZALO, zalo_digest(zalo.api, settings.zalo))
    if settings.zalo_oa.enabled:  # the Official Account too
        run.oa = oa = build_oa_channel(settings.zalo_oa, services, clock)
        await oa.start()
        jobs.add_channel(ZALO_OA, oa_digest(oa, clock))
    jobs.start(paused=not run.run_jobs)
    await publish_citizen_menus(application.bot, settings.bot.default_language)
    for official in configured_officials(settings):
        if official.channel == TELEGRAM:
            await publish_official_menu(application.bot, official, settings.bot.default_language)


async def on_shutdown(application: TelegramApp) -> None:
    """post_shutdown: stop the jobs, Zalo and the OA, close storage."""
    run = run_of(application)
    await stop_web(run.web)
    run.web = None
    jobs, zalo, services = run.jobs, run.zalo, run.services
    run.jobs = run.zalo = run.services = None
    if jobs is not None:
        jobs.stop()
    if zalo is not None:
        await zalo.stop()
    oa, run.oa = run.oa, None
    if oa is not None:
        await oa.stop()
    if services is not None:
        await services.close()


def chat_services(services: Services, clock: Clock) -> ChatServices:
    async def digest_now(
        official: Official, now: datetime, language: Language
    ) -> RenderedDigest | None:
        digest = await build_digest(services, official, preview_period(services.settings, now))
        return None if digest is None else await render(digest, language)

    return ChatServices(
        conversation=services.conversation,
        desk=services.desk,
        secret=services.settings.privacy.secret.get_secret_value(),
        clock=clock,
        digest_now=digest_now,
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
    application = build_application(settings, run_jobs=True)
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
