"""Zalo Official Account adapter: an OA event to one chat call; a reply as one message with
`oa.query.hide` buttons.

A pressed button comes back as the user's text (its payload), so a text that is a payload is a
press, checked by the conversation exactly as Telegram's callback data is (a forged or old one
is refused). Any other text is the numbered text chat's: a number is read against the menu in
front of the person (on a statement, the digit of a button; elsewhere the buttons' order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.replies import Citizen, Reply
from handlers.text.chat import Incoming, Shown, TextChat
from storage.responses import UpdateKey
from survey import actions
from survey.actions import AgencyPage, Answer, GoBack
from survey.flow import SKIP
from survey.models import Language
from survey.numbered import render_numbered
from survey.screens import Choice, Screen
from survey.texts import say

CHANNEL = "zalo_oa"
MAX_BUTTONS = 8
"""Buttons per message sent (the real limit is [UNCERTAIN], see bot.zalo_oa.api)."""
TEXT_EVENT = "user_send_text"
FOLLOW_EVENTS = frozenset({"follow", "unfollow"})
_SCALE = {str(value) for value in range(1, 6)}


@dataclass(frozen=True)
class OaEvent:
    """What we read from a webhook event; display names and avatars are never read."""

    name: str
    user_id: str | None
    msg_id: str | None
    text: str | None  # None for images, stickers, files and the rest without text
    sent_at: float | None = field(default=None, compare=False)  # epoch seconds, if given

    @property
    def from_user(self) -> bool:
        """A message the user sent (it opens the free reply window and deserves one reply)."""
        return self.name.startswith("user_send_") and bool(self.user_id and self.msg_id)


def parse_event(body: Any) -> OaEvent | None:
    """The event of a webhook body, or None if it is not one we can read."""
    if not isinstance(body, dict) or not isinstance(name := body.get("event_name"), str):
        return None
    sender, message = body.get("sender"), body.get("message")
    user_id = sender.get("id") if isinstance(sender, dict) else None
    if name in FOLLOW_EVENTS:
        follower = body.get("follower")
        if isinstance(follower, dict):  # some integrations put the user here
            user_id = user_id or follower.get("id")
    message = message if isinstance(message, dict) else {}
    msg_id = message.get("msg_id") or message.get("message_id")
    text = message.get("text")
    return OaEvent(
        name=name,
        user_id=str(user_id) if user_id else None,
        msg_id=str(msg_id) if msg_id else None,
        text=text if name == TEXT_EVENT and isinstance(text, str) else None,
        sent_at=_seconds(body.get("timestamp")),
    )


def _seconds(stamp: Any) -> float | None:
    """OA timestamps are milliseconds, as a string or a number."""
    if isinstance(stamp, bool):
        return None
    try:
        value = float(stamp)
    except (TypeError, ValueError):
        return None
    if value <= 0:
        return None
    return value / 1000 if value > 1e11 else value


def signed_text(app_id: str, raw: bytes, timestamp: str, oa_secret_key: str) -> bytes:
    """What the signature covers: app id, the raw body, the timestamp, the OA secret key."""
    return app_id.encode() + raw + timestamp.encode() + oa_secret_key.encode()


@dataclass(frozen=True)
class OaShown(Shown):
    """One OA reply: the messages (buttons go with the last), and the same as numbered text
    for when Zalo refuses the buttons."""

    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload)
    plain: tuple[str, ...] = ()
    unavailable: bool = False  # the OA cannot work now: this is the apology


def is_payload(text: str) -> bool:
    """Whether a text is (or pretends to be) a button payload rather than something typed."""
    return text.startswith(f"{actions.VERSION}|")


class OaChat(TextChat):
    """The text chat with buttons: payloads are presses, the reply carries buttons."""

    async def respond(self, incoming: Incoming, now: datetime) -> OaShown:
        shown = await super().respond(incoming, now)
        return shown if isinstance(shown, OaShown) else OaShown(shown.messages, shown.menu)

    async def is_official(self, user_id: str) -> bool:
        return await self._desk.official(self._channel, user_id) is not None

    async def unavailable(self, user_id: str) -> str:
        """ "Temporarily unavailable", in the person's language."""
        conversation = self._conversation
        try:
            language = await conversation.language(self.citizen(user_id))
        except Exception:  # the database may be what failed
            language = conversation.default_language
        return say(language, "oa_unavailable")

    async def _answer(
        self, citizen: Citizen, incoming: Incoming, now: datetime, key: UpdateKey | None
    ) -> Shown:
        text = (incoming.text or "").strip()
        if is_payload(text):
            update_id = key.update_id if key else None
            reply = await self._conversation.press(citizen, text, now, update_id)
            return self._show(reply)
        return await super()._answer(citizen, incoming, now, key)

    def _render(self, shown: list[Screen], reply: Reply, language: Language) -> Shown:
        if not shown:
            return OaShown([], ())
        last = shown[-1]
        numbered = render_numbered(last, language)
        choices = last.choices
        texts = [screen.text for screen in shown]
        if len(choices) > MAX_BUTTONS:
            texts[-1] = numbered.text  # the ones without a button must still be readable
        elif _is_scale(last):
            texts[-1] = f"{last.text}\n\n{say(language, 'oa_scale_hint')}"
        before = [screen.text for screen in shown[:-1]]
        return OaShown(
            self._split("\n\n".join(texts)),
            numbered.menu,
            tuple((c.label, actions.encode(c.action)) for c in _buttons(choices)),
            tuple(self._split("\n\n".join([*before, numbered.text]))),
        )


def _buttons(choices: tuple[Choice, ...]) -> tuple[Choice, ...]:
    """At most MAX_BUTTONS, in order: skip, back and page turns always keep theirs (the UI
    contract: an optional step always has a skip button); the options fill the rest, and
    those left over are typed by their number (the text lists them all then)."""
    if len(choices) <= MAX_BUTTONS:
        return choices
    kept = {id(c) for c in choices if _navigates(c)}
    room = MAX_BUTTONS - len(kept)
    kept |= {id(c) for c in [c for c in choices if id(c) not in kept][:room]}
    return tuple(c for c in choices if id(c) in kept)


def _navigates(choice: Choice) -> bool:
    action = choice.action
    if isinstance(action, Answer):
        return action.value == SKIP
    return isinstance(action, GoBack | AgencyPage)


def _is_scale(screen: Screen) -> bool:
    return any(isinstance(c.action, Answer) and c.action.value in _SCALE for c in screen.choices)
