"""Runs the Zalo OA channel: signed events in, stored, answered with one message each.

An event is handled (the answer and its msg_id stored in one transaction) before the webhook
answers 200; the reply goes out afterwards, in order per person, as a reply to the person's
own message so it counts inside the free reply window. One message per citizen message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import tornado.httpserver

from bot.config import Settings, ZaloOaSection
from bot.jobs import Jobs
from bot.services import Services, open_services
from bot.web.server import start_web, stop_web
from bot.zalo_oa.api import Button, OaApi, OaApiError, wait_after
from bot.zalo_oa.tokens import OaUnavailable, TokenKeeper
from bot.zalo_oa.webhook import serve
from handlers.errors import describe_error
from handlers.retry import Sleep, call_with_retry
from handlers.text.chat import Incoming
from handlers.zalo_oa import CHANNEL, FOLLOW_EVENTS, OaChat, OaEvent, OaShown, parse_event
from storage.menus import MenuStore
from storage.oa_tokens import OaTokenStore

log = logging.getLogger(__name__)

STOP_GRACE = 30.0
Clock = Callable[[], datetime]


@dataclass
class _Person:
    """One person's turn: their events are stored one at a time, the replies sent in order."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sending: asyncio.Task[None] | None = None
    users: int = 0


class OaChannel:
    """One Official Account: the webhook listener, the chat, the sends."""

    def __init__(
        self,
        section: ZaloOaSection,
        api: OaApi,
        tokens: TokenKeeper,
        chat: OaChat,
        store: OaTokenStore,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._section = section
        self._api = api
        self._tokens = tokens
        self._chat = chat
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._people: dict[str, _Person] = {}
        self._inflight: dict[str, asyncio.Future[bool]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._server: tornado.httpserver.HTTPServer | None = None
        self._buttons_refused = False

    @property
    def api(self) -> OaApi:
        return self._api

    @property
    def tokens(self) -> TokenKeeper:
        return self._tokens

    @property
    def store(self) -> OaTokenStore:
        return self._store

    @property
    def chat(self) -> OaChat:
        return self._chat

    async def start(self, listen: bool = True) -> None:
        """Seed the tokens from the config when new; listen for events."""
        secret = self._section.refresh_token
        await self._tokens.start(secret.get_secret_value() if secret else None)
        if listen:
            self._server = serve(self._section, self.receive, self._clock)
            section = self._section
            log.info("zalo_oa: webhook on %s:%d%s", section.listen, section.port, section.path)

    async def stop(self) -> None:
        """Stop taking events; let the replies under way finish (a grace period), then close."""
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE)
        stuck = list(self._tasks)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
        if self._server is not None:
            await self._server.close_all_connections()
        await self._api.aclose()

    async def receive(self, body: Any) -> bool:
        """One verified event: True once stored (or known, or not ours to store), False if it
        could not be (a 500: a redelivery may succeed)."""
        if self._stopping.is_set():
            return False
        event = parse_event(body)
        if event is None or not event.from_user:
            if event is not None and event.name in FOLLOW_EVENTS:
                log.info("zalo_oa: %s event (no reply: it would not be a free one)", event.name)
            return True  # anything else is acknowledged and ignored
        assert event.msg_id is not None
        pending = self._inflight.get(event.msg_id)
        if pending is not None:  # the same event delivered twice at once: one handling
            return await asyncio.shield(pending)
        stored: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._inflight[event.msg_id] = stored
        result = False
        try:
            result = await self._take(event)
        finally:
            stored.set_result(result)
            self._inflight.pop(event.msg_id, None)
        return result

    async def _take(self, event: OaEvent) -> bool:
        user_id = event.user_id
        assert user_id is not None
        person = self._people.setdefault(user_id, _Person())
        person.users += 1
        try:
            async with person.lock:
                handled_at = self._clock()
                shown, stored = await self._handle(event, handled_at)
                previous = person.sending
                reply = self._reply(event, shown, stored, previous, handled_at)
                task = asyncio.create_task(reply)
                person.sending = task
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                task.add_done_callback(lambda done: self._idle(user_id, done))
        finally:
            person.users -= 1
        return stored

    def _idle(self, user_id: str, done: asyncio.Task[None]) -> None:
        """Forget a person once their last reply is out and nothing of theirs is under way."""
        person = self._people.get(user_id)
        if person is not None and person.users == 0 and person.sending is done:
            del self._people[user_id]

    async def _handle(self, event: OaEvent, now: datetime) -> tuple[OaShown, bool]:
        assert event.user_id is not None
        try:
            await self._tokens.access_token()  # refreshed now if due, before anything is stored
        except OaUnavailable:
            # Nothing stored: a survey that moved on unseen would confuse more than a pause.
            # Acknowledged all the same (a redelivery would find the OA no better).
            return OaShown([await self._chat.unavailable(event.user_id)], unavailable=True), True
        incoming = Incoming(event.user_id, event.text, event.msg_id, event.sent_at)
        try:
            shown = await self._chat.respond(incoming, now)
        except Exception as error:  # its message may quote the citizen's text
            log.error("zalo_oa: an event could not be handled: %s", describe_error(error))
            return OaShown(await self._chat.apology(event.user_id)), False
        try:
            # Only officials' windows matter (the digest); citizens' messages leave no trace.
            if await self._chat.is_official(event.user_id):
                respondent = self._chat.citizen(event.user_id).respondent
                await self._store.record_inbound(respondent, now)
        except Exception as error:
            log.warning("zalo_oa: the reply window was not recorded: %s", describe_error(error))
        return shown, True

    async def _reply(
        self,
        event: OaEvent,
        shown: OaShown,
        stored: bool,
        previous: asyncio.Task[None] | None,
        handled_at: datetime,
    ) -> None:
        """Send after the person's previous reply; the menu counts as in front of them from
        just before the send, and stops counting if it fails."""
        assert event.user_id is not None
        if previous is not None:
            await asyncio.wait([previous])
        if not shown.messages:
            return  # a replay: nothing to say
        if shown.unavailable:
            await self.apologise(event.user_id, shown.messages[0], event.msg_id)
            return
        track = stored
        try:
            if track:
                await self._chat.delivered(event.user_id, True, handled_at=handled_at)
            sent = False
            try:
                sent = await self._send_all(event.user_id, shown, event.msg_id)
            finally:
                if track:
                    marked = self._chat.delivered(event.user_id, sent, handled_at=handled_at)
                    await asyncio.shield(marked)
        except Exception:
            log.exception("zalo_oa: the reply to an event could not be completed")

    async def _send_all(self, user_id: str, shown: OaShown, reply_to: str | None) -> bool:
        """The reply's messages, the buttons with the last; whether all went."""
        messages = shown.messages
        buttons = tuple(Button(title, payload) for title, payload in shown.buttons)
        try:
            for index, text in enumerate(messages):
                if index < len(messages) - 1 or not buttons:
                    await self.send(user_id, text, (), reply_to)
                elif not await self._send_buttons(user_id, text, buttons, reply_to):
                    # The same as numbered text: typed numbers answer it just as well.
                    for part in shown.plain if index == 0 else shown.plain[-1:]:
                        await self.send(user_id, part, (), reply_to)
        except OaUnavailable as error:
            log.warning("zalo_oa: a reply could not be sent: %s", error)
            return False
        except OaApiError as error:
            log.error("zalo_oa: a reply could not be sent: %s", error)
            self._buttons_refused = False  # not the buttons' fault after all
            return False
        return True

    async def _send_buttons(
        self, user_id: str, text: str, buttons: tuple[Button, ...], reply_to: str | None
    ) -> bool:
        """Send with buttons; False if Zalo refuses them (limits stricter than assumed: the
        button count and title length are not documented), and from then on."""
        if self._buttons_refused:
            return False
        try:
            await self.send(user_id, text, buttons, reply_to)
        except OaApiError as error:
            if error.transient or error.expired:
                raise
            log.warning("zalo_oa: a message with buttons was refused (%s); numbered text", error)
            self._buttons_refused = True
            return False
        return True

    async def send(
        self,
        user_id: str,
        text: str,
        buttons: tuple[Button, ...] = (),
        reply_to: str | None = None,
    ) -> None:
        """One message: with a fresh token, once more after a refresh if Zalo calls the token
        expired, backing off on a rate limit or a passing failure."""

        async def attempt() -> None:
            token = await self._tokens.access_token()
            try:
                await self._api.send(token, user_id, text, buttons, reply_to)
            except OaApiError as error:
                if not error.expired:
                    raise
                token = await self._tokens.access_token(stale=token)
                await self._api.send(token, user_id, text, buttons, reply_to)

        await call_with_retry(attempt, self._sleep, wait_after)

    async def apologise(self, user_id: str, text: str, reply_to: str | None) -> None:
        """The "temporarily unavailable" reply, with the last access token if still valid
        (the API needs one even to apologise)."""
        down = await self._tokens.unavailable()
        if down is None or down.fallback is None:
            log.warning("zalo_oa: a citizen wrote, but no valid token is left to answer them")
            return
        with contextlib.suppress(OaApiError):
            await self._api.send(down.fallback, user_id, text, (), reply_to)


def build_channel(
    section: ZaloOaSection,
    services: Services,
    clock: Clock,
    *,
    sleep: Sleep = asyncio.sleep,
    owner: str | None = None,
) -> OaChannel:
    assert section.app_id is not None
    assert section.app_secret is not None
    api = OaApi(
        section.app_id, section.app_secret.get_secret_value(), section.base_url, section.oauth_url
    )
    store = OaTokenStore(services.database)
    tokens = TokenKeeper(store, api, clock, sleep, owner)
    secret = services.settings.privacy.secret.get_secret_value()
    chat = OaChat(
        CHANNEL,
        services.conversation,
        services.desk,
        MenuStore(services.database),
        services.responses,
        secret,
    )
    return OaChannel(section, api, tokens, chat, store, clock, sleep)


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def run_oa(settings: Settings, clock: Clock = _utc_now) -> None:
    """The OA alone (no Telegram, no Bot Platform token): run until SIGINT/SIGTERM."""
    from bot.zalo_oa.digest import oa_digest  # it builds on this module

    services = await open_services(settings)
    channel = build_channel(settings.zalo_oa, services, clock)
    jobs = Jobs(services, clock)
    jobs.add_channel(CHANNEL, oa_digest(channel, clock))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    web = None
    try:
        await channel.start()
        web = await start_web(settings, services, clock)  # the web page too, when configured
        jobs.start()
        await stop.wait()
        log.info("zalo_oa: stopping")
    finally:
        jobs.stop()
        await stop_web(web)
        await channel.stop()
        await services.close()
