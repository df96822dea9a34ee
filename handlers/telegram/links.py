"""Telegram deep links: what a counter's QR code opens."""

from __future__ import annotations

from telegram.helpers import create_deep_linked_url


def deep_link(bot_username: str, agency_code: str) -> str:
    """`https://t.me/<bot>?start=<code>`: Telegram opens the bot and sends `/start <code>`."""
    return create_deep_linked_url(bot_username.lstrip("@"), agency_code)
