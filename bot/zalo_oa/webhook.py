"""The OA webhook: its own small tornado listener; every event's signature checked first.

`X-ZEvent-Signature` is `sha256(app_id + raw body + timestamp + oa_secret_key)` in most public
integrations, at least one uses HMAC-SHA256 keyed with the OA secret key instead, and some send
it with a `mac=` prefix [UNCERTAIN, reference/zalo.md §2.3]: each of these is accepted, each
compared in constant time. A post without the header is refused before its body is read; a
timestamp more than five minutes away from our clock is refused (a replay).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import tornado.httpserver
import tornado.web

from bot.config import ZaloOaSection
from bot.webhooks import GuardedWebhook
from handlers.zalo_oa import signed_text

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
MAX_SKEW = timedelta(minutes=5)
Receive = Callable[[Any], Awaitable[bool]]
Clock = Callable[[], datetime]


def signature_matches(
    given: str, app_id: str, raw: bytes, timestamp: str, oa_secret_key: str
) -> bool:
    """Whether `given` signs this body in any of the forms seen (see the module docstring)."""
    given = given.strip()
    if given.lower().startswith("mac="):
        given = given[4:].strip()
    given_bytes = given.lower().encode()
    text = signed_text(app_id, raw, timestamp, oa_secret_key)
    plain = hashlib.sha256(text).hexdigest().encode()
    keyed = hmac.new(
        oa_secret_key.encode(), app_id.encode() + raw + timestamp.encode(), hashlib.sha256
    )
    # Both compared, always: which one matched must not show in the time taken.
    first = hmac.compare_digest(given_bytes, plain)
    second = hmac.compare_digest(given_bytes, keyed.hexdigest().encode())
    return first | second


def serve(section: ZaloOaSection, receive: Receive, clock: Clock) -> tornado.httpserver.HTTPServer:
    """Listen on `[zalo_oa] listen:port` for events posted to `[zalo_oa] path`."""
    handler = {"section": section, "receive": receive, "clock": clock}
    application = tornado.web.Application([(section.path, OaWebhookHandler, handler)])
    server = tornado.httpserver.HTTPServer(application)
    server.listen(section.port, section.listen)
    return server


class OaWebhookHandler(GuardedWebhook):
    """POSTs from Zalo: signed, fresh, capped; the event handed on and stored, then 200."""

    secret_header = SIGNATURE_HEADER

    def initialize(self, section: ZaloOaSection, receive: Receive, clock: Clock) -> None:
        self._app_id = section.app_id or ""
        key = section.oa_secret_key
        self._oa_secret = key.get_secret_value() if key is not None else ""
        self._receive = receive
        self._clock = clock

    def headers_authorised(self) -> bool:
        # The signature covers the body: here only whether there is one (and a key to check
        # it with); `deliver` checks it against the body.
        signed = bool(self.request.headers.get(SIGNATURE_HEADER, "").strip())
        return signed and bool(self._oa_secret and self._app_id)

    async def deliver(self, body: Any) -> None:
        stamp = body.get("timestamp") if isinstance(body, dict) else None
        stamp_text = str(stamp) if isinstance(stamp, str | int) else ""
        given = self.request.headers.get(SIGNATURE_HEADER, "")
        if not stamp_text or not signature_matches(
            given, self._app_id, self.raw_body, stamp_text, self._oa_secret
        ):
            self.refuse(403, "wrong signature")
            return
        if not self._fresh(stamp_text):
            self.refuse(403, "stale timestamp")
            return
        if not await self._receive(body):
            # Nothing was stored (each step is one transaction): a redelivery may succeed.
            self.refuse(500, "could not be handled")
            return
        self.finish({"error": 0, "message": "Success"})

    def _fresh(self, stamp: str) -> bool:
        try:
            value = float(stamp)
        except ValueError:
            return False
        seconds = value / 1000 if value > 1e11 else value
        now = self._clock().timestamp()
        return abs(now - seconds) <= MAX_SKEW.total_seconds()
