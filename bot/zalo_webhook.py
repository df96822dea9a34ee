"""The Zalo webhook endpoint and the chart folder, served by one small tornado server."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

import tornado.httpserver
import tornado.web

from bot.config import ZaloSection

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
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
        routes.append((f"{media}/(.*)", tornado.web.StaticFileHandler, folder))
    server = tornado.httpserver.HTTPServer(tornado.web.Application(routes))
    server.listen(section.port, section.listen)
    return server


class WebhookHandler(tornado.web.RequestHandler):
    """POSTs from Zalo: secret checked in constant time, the update stored, then 200."""

    def initialize(self, section: ZaloSection, receive: Receive) -> None:
        self._secret = section.secret_token.get_secret_value() if section.secret_token else ""
        self._receive = receive

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not self._secret or not hmac.compare_digest(given.encode(), self._secret.encode()):
            self._answer(403, "wrong secret token")
            return
        kind = self.request.headers.get("Content-Type", "")
        if kind and not kind.startswith("application/json"):
            # A missing type is let through: whether Zalo always sends one is not documented.
            self._answer(415, "expected application/json")
            return
        try:
            body = json.loads(self.request.body)
        except ValueError:
            self._answer(400, "not JSON")
            return
        if not await self._receive(body):
            # Nothing was stored (each step is one transaction): a redelivery may succeed.
            self._answer(500, "could not be handled")
            return
        self.finish({"ok": True})

    def _answer(self, status: int, why: str) -> None:
        self.set_status(status)
        self.finish({"ok": False, "description": why})
