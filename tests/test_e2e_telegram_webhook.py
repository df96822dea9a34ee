"""End to end in webhook mode: the real bot process registers its webhook and takes updates
POSTed to it, checking Telegram's secret header, as behind an operator's reverse proxy."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.botapi_emulator import BotApiEmulator
from tests.e2e_support import BotProcess, write_config
from tests.telegram_fakes import text_update
from tests.webhook_probes import MB, Answer, announce, deeply_nested, post_all
from tests.zalo_support import free_port

SECRET = "tg-webhook-secret_1"
HOOK = "/tg/hook"
CITIZEN = 424242


def post(port: int, update: dict[str, Any], secret: str | None) -> int:
    """POST an update as Telegram would; the HTTP status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    try:
        connection.request("POST", HOOK, body=json.dumps(update), headers=headers)
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


@contextmanager
def webhook_bot(tmp_path: Path) -> Iterator[tuple[BotApiEmulator, BotProcess, int]]:
    """The real bot process in webhook mode, its webhook set and its server listening."""
    port = free_port()
    with BotApiEmulator() as telegram:
        webhook = (
            f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:{port}{HOOK}"\n'
            f'listen = "127.0.0.1"\nport = {port}\nsecret_token = "{SECRET}"\n'
        )
        config = write_config(tmp_path, telegram)
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("[storage]", webhook + "\n[storage]", 1), "utf-8")
        bot = BotProcess(config, tmp_path / "bot.log")
        bot.start()
        try:
            telegram.wait_for(lambda: telegram.webhook_url.endswith(HOOK), 30)
            wait_listening(port)  # PTB sets the webhook before its server is up
            yield telegram, bot, port
        finally:
            bot.stop()


def test_updates_posted_to_the_webhook_are_answered(tmp_path: Path) -> None:
    with webhook_bot(tmp_path) as (telegram, bot, port):
        start = text_update(CITIZEN, "/start ubnd_xa_a")
        assert post(port, start, "wrong-secret") == 403
        assert post(port, start, None) == 403
        assert post(port, start, SECRET) == 200
        consent = telegram.wait_for_message(CITIZEN, timeout=15)
        assert "UBND xã A" in (consent.text or "")
        assert bot.stop() == 0
    assert len(telegram.messages(CITIZEN)) == 1  # the refused posts did nothing


def test_the_webhook_judges_the_headers_before_reading_a_body_and_caps_it(
    tmp_path: Path,
) -> None:
    right = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    with webhook_bot(tmp_path) as (telegram, bot, port):
        for headers in ({**right, "X-Telegram-Bot-Api-Secret-Token": "wrong-secret"}, {}):
            # 5 MB announced, 64 KB sent: refused at once, the rest never read.
            assert announce(port, HOOK, 5 * MB, headers) == Answer(403, hung_up=True)
        assert announce(port, HOOK, 2 * MB, right) == Answer(413, hung_up=True)
        assert post_all(port, HOOK, deeply_nested(), right) == 400
        assert post_all(port, HOOK, b"[]", right) == 400  # JSON, but not an update
        assert post_all(port, HOOK, b"{not json", right) == 400
        # …and the bot still serves.
        assert post(port, text_update(CITIZEN, "/start ubnd_xa_a"), SECRET) == 200
        assert "UBND xã A" in (telegram.wait_for_message(CITIZEN, timeout=15).text or "")
        assert bot.stop() == 0
    assert len(telegram.messages(CITIZEN)) == 1
