"""What the conversation deals in: who is talking (and their pseudonym), what they are shown,
where they are."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import NamedTuple

from survey.models import Language
from survey.screens import Screen


@dataclass(frozen=True)
class Citizen:
    """Who is talking: the channel and the pseudonymous respondent key (never a raw id)."""

    channel: str
    respondent: str


@dataclass(frozen=True)
class Reply:
    """What to show: new messages, and what becomes of the message whose button was pressed."""

    screens: tuple[Screen, ...] = ()
    edit: str | None = None  # rewrite the pressed message to this text, without buttons
    replace: Screen | None = None  # rewrite the pressed message to this screen
    notice: str | None = None  # a short answer to the press itself
    paused: bool = False  # the survey was paused: ask nothing until the citizen comes back
    # For channels without buttons (nothing can be edited there, so a reply that asks nothing
    # is followed by the question still open): the language to render in, and that question.
    language: Language | None = None
    asking: Screen | None = None


class Where(NamedTuple):
    """Where a citizen is: their language, and the question in front of them (None: nothing
    is asked)."""

    language: Language
    prompt: Screen | None


def pseudonym(secret: str, channel: str, user_id: int | str) -> str:
    """HMAC-SHA256 of `<channel>:<user id>`: stable per person, meaningless without the secret."""
    message = f"{channel}:{user_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
