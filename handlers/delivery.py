"""Sending one digest over any channel: its messages in order, each retried, a refusal read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from handlers.retry import Sleep, Wait, call_with_retry
from survey.digest import RenderedDigest

SendOutcome = Literal["sent", "blocked", "failed", "rejected", "undeliverable"]
Send = Callable[[], Awaitable[object]]
PartsDelivered = Callable[[int], Awaitable[None]]
"""Called after each delivered message with how many of the digest's messages the official has."""


@dataclass(frozen=True)
class DigestChannel:
    """How a channel sends a digest: its messages in order, and how it reads a refusal."""

    messages: Callable[[str, RenderedDigest], list[Send]]
    wait_after: Callable[[Exception], Wait]
    outcome_of: Callable[[Exception], SendOutcome | None]  # None: not a refusal; it propagates
    # Records an "undeliverable" one (user id, period start, now): not free to send, not sent.
    undeliverable: Callable[[str, str, datetime], Awaitable[object]] | None = None


async def send_parts(
    channel: DigestChannel,
    user_id: str,
    rendered: RenderedDigest,
    sleep: Sleep = asyncio.sleep,
    *,
    first: int = 0,
    progress: PartsDelivered | None = None,
) -> SendOutcome:
    """Send the digest's messages from `first` on, each retried on its own."""
    try:
        for index, send in enumerate(channel.messages(user_id, rendered)):
            if index < first:
                continue  # delivered by an earlier run that failed later
            await call_with_retry(send, sleep, channel.wait_after)
            if progress is not None:
                await progress(index + 1)
    except Exception as error:
        outcome = channel.outcome_of(error)
        if outcome is None:
            raise
        return outcome
    return "sent"
