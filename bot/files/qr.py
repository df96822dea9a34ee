"""`python -m bot qr`: the poster a counter prints, opening the survey on the chosen channel."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.files.paths import cannot_write, may_write
from bot.files.posters import (
    WEB_FOOTER,
    check_poster_format,
    web_link,
    write_poster,
    write_zalo_poster,
    zalo_message,
)
from handlers.codes import visit_token
from handlers.telegram.links import deep_link

_CHAT_POSTERS = (
    (
        "zalo-oa",
        "oa_url",
        "--oa-url URL, the https:// link to the Official Account's chat "
        "(e.g. https://zalo.me/<OA id>)",
    ),
    (
        "zalo",
        "zalo_url",
        "--zalo-url URL, the https:// link to the bot's chat (from Zalo Bot Creator): Zalo links "
        "carry no start code, so the QR can only open the chat",
    ),
)
"""Chat posters: channel, the flag holding the chat's link, what the error asks for."""

MAX_VISIT_MINUTES = 366 * 24 * 60
"""A printed visit link valid longer than a year is a typing mistake, not a plan."""


async def qr_command(settings: Settings, args: argparse.Namespace) -> int:
    agency = settings.agency(args.agency)
    if agency is None:
        known = ", ".join(a.code for a in settings.agencies)
        print(f"error: unknown agency {args.agency!r}; known codes: {known}", file=sys.stderr)
        return 2
    if not 1 <= args.valid_minutes <= MAX_VISIT_MINUTES:
        print(
            f"error: --valid-minutes must be from 1 to {MAX_VISIT_MINUTES} (a year)",
            file=sys.stderr,
        )
        return 2
    out = args.out or Path(f"qr-{agency.code}.png")
    try:
        check_poster_format(out)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not may_write(out, settings, force=args.force):
        return 2
    payload = agency.code
    if args.visit:
        lifetime = timedelta(minutes=args.valid_minutes)
        secret = settings.privacy.secret.get_secret_value()
        payload = visit_token(secret, agency.code, datetime.now(UTC), lifetime)
    try:
        return await _write_qr(settings, args, agency.name, payload, out)
    except OSError as error:
        return cannot_write(out, error)


async def _write_qr(
    settings: Settings, args: argparse.Namespace, agency_name: str, payload: str, out: Path
) -> int:
    for channel, chat_url, needs in _CHAT_POSTERS:
        url = getattr(args, chat_url)
        if args.channel == channel:
            # No start payload on Zalo: the QR opens the chat, the poster says what to send.
            if not (url or "").startswith(("https://", "http://")):
                print(f"error: --channel {channel} needs {needs}", file=sys.stderr)
                return 2
            message = zalo_message(payload)
            out = write_zalo_poster(agency_name, url, message, out)
            print(f"wrote {out} ({url}; the citizen sends: {message})")
            return 0
        if url is not None:  # else another channel's poster would be made without a word
            flag = "--" + chat_url.replace("_", "-")
            print(
                f"error: {flag} is for a {channel} poster; add --channel {channel}",
                file=sys.stderr,
            )
            return 2
    if args.channel == "web":
        if settings.web.public_url is None:
            print("error: --channel web needs [web] public_url in the config", file=sys.stderr)
            return 2
        link = web_link(settings.web.public_url, payload)
        out = write_poster(agency_name, link, out, footer=WEB_FOOTER)
        print(f"wrote {out} ({link})")
        return 0
    username = args.bot_username or await _bot_username(settings)
    if username is None:
        print("error: no bot token configured; pass --bot-username NAME", file=sys.stderr)
        return 2
    link = deep_link(username, payload)
    out = write_poster(agency_name, link, out)
    print(f"wrote {out} ({link})")
    return 0


async def _bot_username(settings: Settings) -> str | None:
    """The bot's username from getMe, when a token is configured."""
    telegram = settings.telegram
    if telegram.token is None:
        return None
    from bot.telegram_app import ask_bot_username  # only this command needs the network

    return await ask_bot_username(settings)
