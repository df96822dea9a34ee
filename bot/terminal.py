"""Runs the terminal chat on stdin/stdout: the bot with no channel token configured."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from bot.config import Settings
from bot.services import open_services
from handlers.text.terminal import CHANNEL, PROMPT, TerminalChat

BANNER = (
    "SIPAS Bot — trò chuyện trong terminal (không có token Telegram).\n"
    "Gõ /start <mã cơ quan> hoặc /start, chọn bằng số, /lang en, /cancel, /help;"
    " Ctrl-D để thoát.\n"
    "Cơ quan: {agencies}\n"
    "Dữ liệu: {path}"
)


async def run_terminal(settings: Settings, user: str | None = None) -> None:
    """Read lines until end of input; print each reply followed by a prompt."""
    services = await open_services(settings)
    try:
        codes = ", ".join(a.code for a in settings.agencies) or "(chưa cấu hình)"
        _write(BANNER.format(agencies=codes, path=settings.storage.path) + "\n")
        chat = TerminalChat(services.text_chat(CHANNEL), user)
        loop = asyncio.get_running_loop()
        while True:
            _write(PROMPT)
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                _write("\n")
                return
            output = await chat.handle(line, datetime.now(UTC))
            if output:
                _write(output + "\n")
    finally:
        await services.close()


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
