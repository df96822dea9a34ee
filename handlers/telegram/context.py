"""The typed handler context: handlers reach the shared services through `context.services`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from handlers.conversation import Conversation
from handlers.officials import OfficialDesk
from handlers.retry import Clock, Sleep
from survey.access import Official
from survey.digest import RenderedDigest
from survey.models import Language

DigestNow = Callable[[Official, datetime, Language], Awaitable[RenderedDigest | None]]
"""An official's digest of the last full week, rendered; None when their scope is empty."""

SERVICES_KEY = "services"


@dataclass(frozen=True)
class ChatServices:
    """What the chat handlers need: the conversation, the officials' desk, the pseudonym
    secret, the clock, the on-demand digest and how to wait between tries of a send."""

    conversation: Conversation
    desk: OfficialDesk
    secret: str
    clock: Clock
    digest_now: DigestNow
    sleep: Sleep = asyncio.sleep


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """A `CallbackContext` with a typed handle on the services instead of bot_data lookups."""

    @property
    def services(self) -> ChatServices:
        services = self.bot_data[SERVICES_KEY]
        assert isinstance(services, ChatServices)
        return services


def attach(application: Application[Any, Any, Any, Any, Any, Any], services: ChatServices) -> None:
    application.bot_data[SERVICES_KEY] = services
