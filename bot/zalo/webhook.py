"""The Zalo webhook endpoint and the chart folder, served by one small tornado server."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

import tornado.httpserver
import tornado.web

from bot.config import ZaloSection
from bot.webhooks import GuardedWebhook

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
CHART_NAME = r"sipas-[0-9a-f]{32}\.png"
# Takes one update body; True once it is stored (or was already), False if handling failed.
Receive = Callable[[Any], Awaitable[bool]]


def serve(section: ZaloSection, receive: Receive) -> tornado.httpserver.HTTPServer:
    """Listen on `[zalo] listen:port`: the webhook path, and the charts under their URL path."""
    routes: list[Any] = []
    if section.mode == "webhook":
        path = urlparse(section.webhook_url or "").path or "/"
        routes.append((path, WebhookHandler, {"section": section, "receive": receive}))
    if section.public_media_url:
        media = urlparse(section.public_media_url).path.rstrip("/")
        section.media_dir.mkdir(parents=True, exist_ok=True)
        folder = {"path": str(section.media_dir)}
        # Only the names publish_chart writes: whatever else lies in the folder stays private.
        routes.append((f"{media}/({CHART_NAME})", tornado.web.StaticFileHandler, folder))
    server = tornado.httpserver.HTTPServer(tornado.web.Application(routes))
    server.listen(section.port, section.listen)
    return server


class WebhookHandler(GuardedWebhook):
    """POSTs from Zalo: the secret and the body checked by `GuardedWebhook`, the update
    stored, then 200."""

    secret_header = SECRET_HEADER

    def initialize(self, section: ZaloSection, receive: Receive) -> None:
        self.secret = section.secret_token.get_secret_value() if section.secret_token else None
        self._receive = receive

    async def deliver(self, body: Any) -> None:
        if not await self._receive(body):
            # Nothing was stored (each step is one transaction): a redelivery may succeed.
            self.refuse(500, "could not be handled")
            return
        self.finish({"ok": True})
