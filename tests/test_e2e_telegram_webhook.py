"""End to end in webhook mode: the real bot process registers its webhook and takes updates
POSTed to it, checking Telegram's secret header, as behind an operator's reverse proxy."""

from __future__ import annotations

import http.client
import json
import socket
import time
from pathlib import Path
from typing import Any

from tests.botapi_emulator import BotApiEmulator
from tests.e2e_support import BotProcess, write_config
from tests.telegram_fakes import text_update
from tests.zalo_support import free_port

SECRET = "tg-webhook-secret_1"
CITIZEN = 424242


def post(port: int, update: dict[str, Any], secret: str | None) -> int:
    """POST an update as Telegram would; the HTTP status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    try:
        connection.request("POST", "/tg/hook", body=json.dumps(update), headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def wait_listening(port: int, timeout: float = 30.0) -> None:
    """Until the bot process accepts connections (it is another process: no event to wait on)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_updates_posted_to_the_webhook_are_answered(tmp_path: Path) -> None:
    port = free_port()
    with BotApiEmulator() as telegram:
        webhook = (
            f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:{port}/tg/hook"\n'
            f'listen = "127.0.0.1"\nport = {port}\nsecret_token = "{SECRET}"\n'
        )
        config = write_config(tmp_path, telegram)
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("[storage]", webhook + "\n[storage]", 1), "utf-8")
        bot = BotProcess(config, tmp_path / "bot.log")
        bot.start()
        try:
            telegram.wait_for(lambda: telegram.webhook_url.endswith("/tg/hook"), 30)
            wait_listening(port)  # PTB sets the webhook before its server is up
            start = text_update(CITIZEN, "/start ubnd_xa_a")
            assert post(port, start, "wrong-secret") == 403
            assert post(port, start, None) == 403
            assert post(port, start, SECRET) == 200
            consent = telegram.wait_for_message(CITIZEN, timeout=15)
            assert "UBND xã A" in (consent.text or "")
            assert bot.stop() == 0
        finally:
            bot.stop()
    assert len(telegram.messages(CITIZEN)) == 1  # the refused posts did nothing
