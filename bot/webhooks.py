"""The guarded webhook endpoint of both channels: secret first, body capped, JSON read safely."""

from __future__ import annotations

import hmac
import json
import logging
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any, ClassVar

import tornado.web
from tornado.http1connection import HTTP1Connection

from handlers.errors import describe_error

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""An update is a few KB; anything near a megabyte is not one."""


@tornado.web.stream_request_body
class GuardedWebhook(tornado.web.RequestHandler, ABC):
    """One POSTed JSON update. The secret header is checked as soon as the headers arrive,
    before a byte of the body is read; a body over MAX_BODY is refused (413) unread; a body
    that is not JSON, or nested too deeply to parse, is a 400, never a 500 the platform would
    deliver again and again. Subclasses name the header, set `secret` in `initialize` and
    `deliver` the parsed body."""

    SUPPORTED_METHODS = ("POST",)
    secret_header: ClassVar[str]
    secret: str | None = None  # set by the subclass's `initialize`; None refuses every POST

    def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        if not self.headers_authorised():
            self.refuse(403, "wrong secret token")
            return
        kind = self.request.headers.get("Content-Type", "")
        if kind and not kind.startswith("application/json"):
            # A missing type is let through: whether Zalo always sends one is not documented.
            self.refuse(415, "expected application/json")
            return
        length = self.request.headers.get("Content-Length", "0")
        if not length.isdigit():  # tornado checks it only after this, when reading the body
            self.refuse(400, "bad Content-Length")
            return
        if int(length) > MAX_BODY:
            self.refuse(413, "body too large")
            return
        if isinstance(self.request.connection, HTTP1Connection):
            # A chunked body states no length: tornado stops reading it past the cap.
            self.request.connection.set_max_body_size(MAX_BODY)

    def headers_authorised(self) -> bool:
        """Whether the headers prove the POST comes from the platform (a subclass whose
        signature covers the body checks the rest in `deliver`, with `raw_body`)."""
        given = self.request.headers.get(self.secret_header, "").encode()
        expected = (self.secret or "").encode()
        # No secret configured: nothing could prove a POST came from the platform.
        return bool(expected) and hmac.compare_digest(given, expected)

    def data_received(self, chunk: bytes) -> None:
        if self._finished:  # refused: the connection closes once the answer is out
            return
        self._size += len(chunk)
        if self._size <= MAX_BODY:
            self._chunks.append(chunk)

    async def post(self) -> None:
        if self._size > MAX_BODY:
            self.refuse(413, "body too large")
            return
        self.raw_body = b"".join(self._chunks)
        try:
            body = json.loads(self.raw_body)
        except (ValueError, RecursionError):  # RecursionError: nested a few thousand deep
            self.refuse(400, "not JSON")
            return
        await self.deliver(body)

    @abstractmethod
    async def deliver(self, body: Any) -> None:
        """Hand the update on and finish the response."""

    def refuse(self, status: int, why: str) -> None:
        self.set_status(status)
        self.finish({"ok": False, "description": why})

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Tornado's own prints the request with its headers, the secret among them.
        if isinstance(value, tornado.web.HTTPError):
            log.warning("webhook: %s", value)
        else:
            log.error("webhook: handling a POST failed: %s", describe_error(value))
