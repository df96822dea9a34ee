"""Runs the Zalo channel: long polling or a webhook server, replies, and the media folder.

Zalo's getUpdates has no offset: a restarted poller may be served messages again (and, as
measured by others, consumed ones reappear while the queue is non-empty), so every message id
is checked against the database before anything happens, and a replay only slows polling down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import tornado.httpserver

from bot.config import Settings, ZaloSection
from bot.jobs import Jobs
from bot.services import open_services
from bot.web.server import start_web, stop_web
from bot.zalo.api import ZaloApiError, ZaloBotApi
from bot.zalo.digest import zalo_digest
from bot.zalo.webhook import serve
from bot.zalo_oa.channel import build_channel as build_oa_channel
from bot.zalo_oa.digest import oa_digest
from handlers.errors import describe_error
from handlers.retry import Clock, Sleep
from handlers.text.chat import TextChat
from handlers.text.zalo import CHANNEL, ZaloMessage, on_message, parse_update
from handlers.zalo_oa import CHANNEL as OA_CHANNEL

log = logging.getLogger(__name__)

POLL_SECONDS = 20
"""Long-poll length; also the longest a clean stop waits for the poll in flight."""
REPLAY_PAUSE = 1.0
"""When Zalo serves the same message again, wait before polling again (it answers at once
while replaying); a first replay, part of a backlog after a restart, is not waited for."""
MAX_ERROR_PAUSE = 60.0
MAX_QUEUED = 8
"""Messages one person may have waiting; more at once is a flood (each costs a reply)."""
MAX_AGE = timedelta(hours=24)
"""Older messages are not taken: their ids may have left the de-duplication record."""
STOP_GRACE = 30.0
READ_MARGIN = 15.0
"""How much longer than the long poll the client waits for its answer (its HTTP timeout)."""


@dataclass
class _Chat:
    """One person's queue: their messages are stored one at a time, in arrival order, and
    the replies sent in that order; storing the next never waits for sending the last."""

    storing: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_sent: asyncio.Future[None] | None = None  # the previous message's replies, sent
    waiting: int = 0


class ZaloChannel:
    """One Zalo bot: receives messages, hands them to the text chat, sends the replies.

    A message is stored first and answered after, in a task per person, so one person whose
    replies are being retried (a 429 may ask for minutes) holds up nobody else.
    """

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
        self._chats: dict[str, _Chat] = {}
        self._inflight: dict[str, asyncio.Future[bool]] = {}  # message id → stored?
        self._replayed: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._pausing = False  # only a pause may be cut short; a poll in flight is let finish
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def api(self) -> ZaloBotApi:
        return self._api

    async def start(self) -> None:
        """Register the webhook or start polling; serve media when configured."""
        section = self._section
        if section.mode == "webhook" or section.public_media_url:
            self._server = serve(section, self.receive)
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
        self._poller = asyncio.create_task(self._poll(), name="zalo-polling")
        log.info("zalo: polling for updates")

    async def stop(self) -> None:
        """Stop taking messages, store those taken (sends get a grace period), then close.
        A poll in flight is let finish: Zalo has no acknowledgement, so a message handed to
        an abandoned poll could be lost."""
        self._stopping.set()
        if self._poller is not None:
            if self._pausing:
                self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._poller, POLL_SECONDS + READ_MARGIN + 5)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE)
        stuck = list(self._tasks)
        for task in stuck:
            task.cancel()  # replies still waiting out a 429: the answers are stored
        await asyncio.gather(*stuck, return_exceptions=True)
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
        await self._api.aclose()

    async def receive(self, body: Any) -> bool:
        """A webhook delivery: True once stored (or known already), False if it could not be
        (a 500: nothing was stored, and a redelivery may succeed)."""
        if self._stopping.is_set():
            return False  # a 5xx: Zalo delivers it again, to the next process
        handled = await self.take(body)
        return True if handled is None else await asyncio.shield(handled)

    async def take(self, body: Any) -> asyncio.Future[bool] | None:
        """Queue one update for its person; None if there is nothing new in it (a replay, a
        group chat, a stale redelivery, or a flood), else a future that resolves once stored.
        A redelivery of a message still being stored gets that message's future."""
        message = parse_update(body)
        if message is None or not message.private or self._too_old(message):
            return None
        key = message.message_id
        if key in self._inflight:
            return self._inflight[key]
        chat = self._chats.setdefault(message.chat_id, _Chat())
        if chat.waiting >= MAX_QUEUED:
            log.warning("zalo: one person sent more than %d messages at once; dropped", MAX_QUEUED)
            return None
        handled: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._inflight[key] = handled  # before any await: a twin delivery finds it
        chat.waiting += 1
        task = asyncio.create_task(self._serve_one(message, chat, handled))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        try:
            if await self._chat.seen(key):
                return None  # the task finds it seen too, and says nothing
        except Exception:
            log.exception("zalo: could not tell whether a message is new")
        return handled

    async def _serve_one(
        self, message: ZaloMessage, chat: _Chat, handled: asyncio.Future[bool]
    ) -> None:
        replies: list[str] = []
        stored = False
        now = self._clock()
        sent_in_turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            async with chat.storing:
                try:
                    replies = await on_message(message, self._chat, now)
                    stored = True
                except Exception as error:  # its message may quote the citizen's text
                    log.error("zalo: a message could not be handled: %s", describe_error(error))
                    replies = await self._chat.apology(message.user_id)
                finally:
                    if not handled.done():
                        handled.set_result(stored)
                    self._inflight.pop(message.message_id, None)
                # The replies go out in the order the messages were stored.
                previous, chat.last_sent = chat.last_sent, sent_in_turn
            if previous is not None:
                await asyncio.wait([previous])
            await self._reply(message, replies, stored, now)
        except Exception:
            log.exception("zalo: the replies to a message could not be completed")
        finally:
            if not sent_in_turn.done():
                sent_in_turn.set_result(None)
            if not handled.done():
                handled.set_result(False)
            self._inflight.pop(message.message_id, None)
            chat.waiting -= 1
            if chat.waiting == 0:
                self._chats.pop(message.chat_id, None)

    async def _reply(
        self, message: ZaloMessage, replies: list[str], stored: bool, handled_at: datetime
    ) -> None:
        """Send; the menu this message led to counts as in front of the person from just before
        the send (their answer can only come after it) and stops counting if the send fails or
        is cut. Only that menu: the person may have moved on to a newer one meanwhile."""
        track = stored and bool(replies)
        user = message.user_id
        if track:
            await self._chat.delivered(user, True, handled_at=handled_at)
        sent, at = False, None
        try:
            sent, at = await self._send(message.chat_id, replies)
        finally:
            if track:
                shielded = self._chat.delivered(user, sent, at, handled_at=handled_at)
                await asyncio.shield(shielded)

    async def _send(self, chat_id: str, replies: list[str]) -> tuple[bool, float | None]:
        """Send in order; whether all went, and Zalo's time of the last one."""
        at = None
        for text in replies:
            try:
                at = await self._api.send_message(chat_id, text, self._sleep)
            except ZaloApiError as error:
                # Stored, but not seen: the menu stays undelivered, so the person's next
                # message is answered by showing where they are, not taken as an answer.
                log.error("zalo: a reply could not be sent: %s", error)
                return False, None
        return True, at

    def _too_old(self, message: ZaloMessage) -> bool:
        """Replays older than their de-duplication record must not count again."""
        if message.sent_at is None:
            return False
        age = self._clock().timestamp() - message.sent_at
        return age > MAX_AGE.total_seconds()

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
                fresh = await self.take(update) is not None
            except Exception:
                log.exception("zalo: an update could not be taken")
                fresh = False
            if not fresh and self._cycling(update):
                await self._pause(REPLAY_PAUSE)

    def _cycling(self, update: Any) -> bool:
        """Whether Zalo serves this update again within this run: a backlog of replays after a
        restart goes by at full speed, an endless round of the same ones is slowed down."""
        message = parse_update(update)
        key = message.message_id if message else repr(update)[:200]
        if key in self._replayed:
            return True
        if len(self._replayed) >= 10_000:
            self._replayed.clear()
        self._replayed.add(key)
        return False

    async def _pause(self, seconds: float) -> None:
        if self._stopping.is_set():
            return  # stopping: the loop ends now rather than after the pause
        self._pausing = True
        try:
            await self._sleep(seconds)
        finally:
            self._pausing = False


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
    jobs = Jobs(services, clock)
    jobs.add_channel(CHANNEL, zalo_digest(channel.api, settings.zalo))
    oa = build_oa_channel(settings.zalo_oa, services, clock) if settings.zalo_oa.enabled else None
    if oa is not None:
        jobs.add_channel(OA_CHANNEL, oa_digest(oa, clock))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    web = None
    try:
        await channel.start()
        web = await start_web(settings, services, clock)  # the web page too, when configured
        if oa is not None:
            await oa.start()
        jobs.start()
        await stop.wait()
        log.info("zalo: stopping")
    finally:
        jobs.stop()
        await stop_web(web)
        await channel.stop()
        if oa is not None:
            await oa.stop()
        await services.close()
