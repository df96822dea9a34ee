"""The typed handler context: handlers reach the shared services through `context.services`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from handlers.conversation import Conversation
from handlers.officials import OfficialDesk

SERVICES_KEY = "services"


@dataclass(frozen=True)
class ChatServices:
    """What the chat handlers need: the conversation, the pseudonym secret and the clock."""

    conversation: Conversation
    desk: OfficialDesk
    secret: str
    clock: Callable[[], datetime]


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """A `CallbackContext` with a typed handle on the services instead of bot_data lookups."""

    @property
    def services(self) -> ChatServices:
        services = self.bot_data[SERVICES_KEY]
        assert isinstance(services, ChatServices)
        return services


def attach(application: Application[Any, Any, Any, Any, Any, Any], services: ChatServices) -> None:
    application.bot_data[SERVICES_KEY] = services
