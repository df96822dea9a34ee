"""The weekly digest on the OA: sent only inside the official's free reply window.

After a user writes, the OA may reply free for 48 hours (8 messages; OA help centre, see
reference/zalo.md §2.4); anything else is a paid or quota "proactive" message. The bot never
pays silently: with the window closed the digest is recorded as undeliverable on the OA for
that week and counted in the digest log line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.zalo_oa.api import OaApiError, wait_after
from bot.zalo_oa.channel import OaChannel
from bot.zalo_oa.tokens import OaUnavailable
from handlers.delivery import DigestChannel, Send, SendOutcome
from survey.channels import ZALO_OA, split_text
from survey.digest import RenderedDigest

REPLY_WINDOW = timedelta(hours=48)
MARGIN = timedelta(minutes=5)
"""Not sent when the window closes within this (a retry must not land outside it)."""
Clock = Callable[[], datetime]


class WindowClosed(Exception):
    """The official has not written within the free reply window."""


def oa_digest(channel: OaChannel, clock: Clock) -> DigestChannel:
    """The digest as text (no chart: an image needs an upload this channel does not do)."""

    def messages(user_id: str, rendered: RenderedDigest) -> list[Send]:
        async def check() -> None:
            respondent = channel.chat.citizen(user_id).respondent
            last = await channel.store.last_inbound(respondent)
            if last is None or clock() + MARGIN > last + REPLY_WINDOW:
                raise WindowClosed(user_id)

        def text(part: str, first: bool) -> Send:
            async def send() -> None:
                if first:
                    await check()
                await channel.send(user_id, part)

            return send

        parts = split_text(rendered.text, ZALO_OA.text_limit)
        return [text(part, index == 0) for index, part in enumerate(parts)]

    async def undeliverable(user_id: str, period_start: str, now: datetime) -> None:
        await channel.store.record_undeliverable(user_id, period_start, now)

    return DigestChannel(messages, wait_after, _outcome, undeliverable)


def _outcome(error: Exception) -> SendOutcome | None:
    if isinstance(error, WindowClosed):
        return "undeliverable"
    if isinstance(error, OaUnavailable):
        return "failed"
    if isinstance(error, OaApiError):
        return "failed" if error.transient else "rejected"
    return None
