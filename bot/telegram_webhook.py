"""Telegram's webhook server: PTB's Updater, serving the guarded endpoint instead of its own.

PTB's handler reads any body before it checks the secret (compared in plain `!=`) and
answers a body it cannot parse with a 500, which Telegram delivers again and again. PTB has no
option for another handler, so `WebhookUpdater` replaces the one private step that builds the
server (`_start_webhook`, PTB 22): everything else (setWebhook, start, stop) stays PTB's.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from socket import socket
from typing import Any

import tornado.web
from telegram import Bot, Update
from telegram.ext import ExtBot, Updater
from telegram.ext._utils.webhookhandler import WebhookServer

from bot.webhooks import GuardedWebhook

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramWebhook(GuardedWebhook):
    """POSTs from Telegram: checked by `GuardedWebhook`, then queued for the Application."""

    secret_header = SECRET_HEADER

    def initialize(
        self, bot: Bot, update_queue: asyncio.Queue[object], secret: str | None
    ) -> None:
        self.secret = secret
        self._bot = bot
        self._queue = update_queue

    async def deliver(self, body: Any) -> None:
        try:
            update = Update.de_json(body, self._bot)
        except Exception:  # JSON, but not an update (a list, a wrong type, a missing field)
            self.refuse(400, "not an update")
            return
        if isinstance(self._bot, ExtBot):
            self._bot.insert_callback_data(update)
        await self._queue.put(update)
        self.finish()


class WebhookUpdater(Updater):
    """An Updater whose webhook server is `TelegramWebhook` on plain HTTP (TLS is the
    reverse proxy's job, as `[telegram] webhook_url` documents)."""

    async def _start_webhook(
        self,
        listen: str,
        port: int,
        url_path: str,
        bootstrap_retries: int,
        allowed_updates: Sequence[str] | None,
        cert: str | Path | None = None,
        key: str | Path | None = None,
        drop_pending_updates: bool | None = None,
        webhook_url: str | None = None,
        ready: asyncio.Event | None = None,
        ip_address: str | None = None,
        max_connections: int = 40,
        secret_token: str | None = None,
        unix: str | Path | socket | None = None,
    ) -> None:
        if cert is not None or key is not None or unix is not None or not webhook_url:
            raise ValueError("the webhook is served on plain HTTP at listen:port, for a URL")
        if not secret_token:
            log.error("telegram: no [telegram] secret_token: every webhook POST is refused")
        path = "/" + url_path.lstrip("/")
        arguments = {"bot": self.bot, "update_queue": self.update_queue, "secret": secret_token}
        routes = [(rf"{re.escape(path.rstrip('/'))}/?", TelegramWebhook, arguments)]
        # No access log, as PTB's own server: the path may be the operator's secret too.
        app = tornado.web.Application(routes, log_function=_unlogged)
        # Any tornado Application serves; PTB's annotation names only its own.
        self._httpd = WebhookServer(listen, port, app, None)  # type: ignore[arg-type]
        await self._bootstrap(
            max_retries=bootstrap_retries,
            webhook_url=webhook_url,
            allowed_updates=allowed_updates,
            drop_pending_updates=drop_pending_updates,
            ip_address=ip_address,
            max_connections=max_connections,
            secret_token=secret_token,
        )
        await self._httpd.serve_forever(ready=ready)
        log.info("telegram: webhook set, listening on %s:%d", listen, port)


def _unlogged(handler: tornado.web.RequestHandler) -> None:
    pass
