"""Retrying a send the way both chat APIs ask: wait as told after a 429, back off after 5xx."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

from handlers.metrics import count_send_error

log = logging.getLogger(__name__)

MAX_TRIES = 5
FIRST_BACKOFF = 1.0
"""Seconds before the second try after a network error or 5xx; doubled at each further try."""
MAX_RETRY_AFTER = 300.0
"""A 429 asking to wait longer than this ends the attempt; a later round takes over."""

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]
"""The time now (timezone-aware); injected everywhere so tests never wait for a real clock."""
# How long to wait after an error: seconds (a 429's retry_after), "backoff", or None to give up.
Wait = float | Literal["backoff"] | None


async def call_with_retry(
    send: Callable[[], Awaitable[object]], sleep: Sleep, wait_after: Callable[[Exception], Wait]
) -> None:
    """Call `send` until it succeeds; raise at once when `wait_after` says so, and the last
    error after `MAX_TRIES`."""
    backoff = FIRST_BACKOFF
    for attempt in range(1, MAX_TRIES + 1):
        try:
            await send()
            return
        except Exception as error:
            wait = wait_after(error)
            count_send_error(rate_limited=isinstance(wait, float | int))  # a 429 says how long
            if wait is None or attempt == MAX_TRIES:
                raise
            if wait == "backoff":
                wait, backoff = backoff, backoff * 2
            elif wait > MAX_RETRY_AFTER:
                raise
            log.info(
                "send failed (try %d of %d: %s); again in %.0f s", attempt, MAX_TRIES, error, wait
            )
            await sleep(wait)
