"""Runs the Zalo channel: long polling or a webhook server, replies, and the media folder.

Zalo's getUpdates has no offset: a restarted poller may be served messages again (and, as
measured by others, consumed ones reappear while the queue is non-empty), so every message id
is checked against the database before anything happens, and a replay only slows polling down.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import tornado.httpserver
import tornado.web

from bot.config import Settings, ZaloSection
from bot.retry import Sleep
from bot.services import open_services
from bot.zalo_api import ZaloApiError, ZaloBotApi
from bot.zalo_jobs import schedule_zalo_jobs
from handlers.text_chat import TextChat
from handlers.zalo import CHANNEL, on_message, parse_update

log = logging.getLogger(__name__)

POLL_SECONDS = 20
"""Long-poll length; also the longest a clean stop waits for the poll in flight."""
REPLAY_PAUSE = 1.0
"""After a replayed message, wait before polling again: Zalo answers at once while replaying."""
MAX_ERROR_PAUSE = 60.0
SECRET_HEADER = "X-Bot-Api-Secret-Token"
Clock = Callable[[], datetime]


class ZaloChannel:
    """One Zalo bot: receives messages, hands them to the text chat, sends the replies."""

    def __init__(
        self,
        section: ZaloSection,
        api: ZaloBotApi,
        chat: TextChat,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._section = section
        self._api = api
        self._chat = chat
        self._clock = clock
        self._sleep = sleep
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._pausing = False  # only a pause may be cut short; a poll or a reply is let finish
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def api(self) -> ZaloBotApi:
        return self._api

    async def start(self) -> None:
        """Register the webhook or start polling; serve media when configured."""
        section = self._section
        if section.mode == "webhook" or section.public_media_url:
            self._server = self._serve()
        if section.mode == "webhook":
            assert section.webhook_url is not None
            assert section.secret_token is not None
            await self._api.set_webhook(
                section.webhook_url, section.secret_token.get_secret_value()
            )
            log.info("zalo: webhook set, listening on %s:%d", section.listen, section.port)
            return
        with contextlib.suppress(ZaloApiError):  # getUpdates fails while a webhook is set
            await self._api.delete_webhook()
        self._task = asyncio.create_task(self._poll(), name="zalo-polling")
        log.info("zalo: polling for updates")

    async def stop(self) -> None:
        """Stop polling, serving and sending. A poll in flight is let finish: Zalo has no
        acknowledgement, so a message it hands to an abandoned poll could be lost."""
        self._stopping.set()
        if self._task is not None:
            if self._pausing:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, POLL_SECONDS + 10)
            self._task = None
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
        await self._api.aclose()

    async def process(self, body: Any) -> bool:
        """Handle one update; False if it was not new (a replay, or nothing for us)."""
        message = parse_update(body)
        if message is None or not message.private:
            return False
        # One message at a time per person, in arrival order; others are not held up.
        lock = self._locks[message.chat_id]
        async with lock:
            replies = await on_message(message, self._chat, self._clock())
            for text in replies:
                try:
                    await self._api.send_message(message.chat_id, text, self._sleep)
                except ZaloApiError as error:
                    # The answer is stored; the citizen sees the question again on any message.
                    log.error("zalo: a reply could not be sent: %s", error)
                    break
        if not lock.locked() and not lock._waiters:
            self._locks.pop(message.chat_id, None)
        return bool(replies)

    async def _poll(self) -> None:
        pause = 1.0
        while not self._stopping.is_set():
            try:
                update = await self._api.get_update(POLL_SECONDS)
            except Exception as error:  # the poller must outlive anything one call does
                if isinstance(error, ZaloApiError):
                    log.warning("zalo: getUpdates failed (%s); again in %.0f s", error, pause)
                else:
                    log.exception("zalo: getUpdates failed; again in %.0f s", pause)
                await self._pause(pause)
                pause = min(pause * 2, MAX_ERROR_PAUSE)
                continue
            pause = 1.0
            if update is None:
                continue  # 408: nothing came within the long poll
            try:
                fresh = await self.process(update)
            except Exception:
                log.exception("zalo: an update could not be handled")
                fresh = False
            if not fresh:
                await self._pause(REPLAY_PAUSE)

    async def _pause(self, seconds: float) -> None:
        self._pausing = True
        try:
            await self._sleep(seconds)
        finally:
            self._pausing = False

    def _serve(self) -> tornado.httpserver.HTTPServer:
        section = self._section
        routes: list[Any] = []
        if section.mode == "webhook":
            path = urlparse(section.webhook_url or "").path or "/"
            routes.append((path, WebhookHandler, {"channel": self}))
        if section.public_media_url:
            media = urlparse(section.public_media_url).path.rstrip("/")
            section.media_dir.mkdir(parents=True, exist_ok=True)
            routes.append(
                (f"{media}/(.*)", tornado.web.StaticFileHandler, {"path": str(section.media_dir)})
            )
        server = tornado.httpserver.HTTPServer(tornado.web.Application(routes))
        server.listen(section.port, section.listen)
        return server

    def accepts(self, secret: str) -> bool:
        """The webhook secret, compared in constant time."""
        expected = self._section.secret_token
        if expected is None:
            return False
        return hmac.compare_digest(secret.encode(), expected.get_secret_value().encode())


class WebhookHandler(tornado.web.RequestHandler):
    """POSTs from Zalo: secret checked, body parsed, message handled before answering 200."""

    def initialize(self, channel: ZaloChannel) -> None:
        self._channel = channel

    async def post(self) -> None:
        if not self._channel.accepts(self.request.headers.get(SECRET_HEADER, "")):
            self.set_status(403)
            self.finish({"ok": False, "description": "wrong secret token"})
            return
        if not self.request.headers.get("Content-Type", "").startswith("application/json"):
            self.set_status(415)
            self.finish({"ok": False, "description": "expected application/json"})
            return
        try:
            body = json.loads(self.request.body)
        except ValueError:
            self.set_status(400)
            self.finish({"ok": False, "description": "not JSON"})
            return
        try:
            await self._channel.process(body)
        except Exception:
            # Stored nothing half-way (each step is one transaction); Zalo may deliver again.
            log.exception("zalo: a webhook update could not be handled")
            self.set_status(500)
            self.finish({"ok": False})
            return
        self.finish({"ok": True})


def build_channel(
    section: ZaloSection,
    chat: TextChat,
    clock: Clock,
    *,
    sleep: Sleep = asyncio.sleep,
) -> ZaloChannel:
    assert section.token is not None
    api = ZaloBotApi(section.token.get_secret_value(), section.base_url)
    return ZaloChannel(section, api, chat, clock, sleep)


async def ask_bot_name(section: ZaloSection) -> str:
    """getMe: raises ZaloApiError when the token is refused or the host unreachable."""
    assert section.token is not None
    api = ZaloBotApi(section.token.get_secret_value(), section.base_url)
    try:
        return (await api.get_me()).name
    finally:
        await api.aclose()


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def run_zalo(settings: Settings, clock: Clock = _utc_now) -> None:
    """Zalo alone (no Telegram token): run until SIGINT/SIGTERM."""
    services = await open_services(settings)
    channel = build_channel(settings.zalo, services.text_chat(CHANNEL), clock)
    jobs = schedule_zalo_jobs(services, channel.api, clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        await channel.start()
        jobs.start()
        await stop.wait()
        log.info("zalo: stopping")
    finally:
        jobs.shutdown(wait=False)
        await channel.stop()
        await services.close()
