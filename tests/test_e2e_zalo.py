"""End to end on Zalo: the real `python -m bot run` process polling the fake Zalo Bot API."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from tests.botapi_emulator import BotApiEmulator
from tests.cli_support import run_cli
from tests.e2e_support import ROOT, BotProcess, Citizen, write_config
from tests.test_e2e_telegram import take_survey
from tests.zalo_emulator import ZaloEmulator
from tests.zalo_support import (
    free_port,
    is_statement,
    numbers,
    stored_by_statement,
    write_zalo_config,
)

USER = "6ede9afa66b88fe6d6a9"
VALUES = [4, 5, 3, 0, 2, 1, 5, 4, 4, 3, 5, 2, 1, 3, 4, 5, 0, 2, 4]


def say(zalo: ZaloEmulator, text: str, timeout: float = 30.0) -> str:
    """Send like a citizen and wait for the bot's one reply (the first may wait for start-up)."""
    before = len(zalo.texts(USER))
    zalo.send_text(USER, text)
    return zalo.wait_for(USER, before + 1, timeout)[before]


def test_a_citizen_survives_a_killed_bot_and_replays_count_nothing(tmp_path: Path) -> None:
    with ZaloEmulator() as zalo:
        config = write_zalo_config(tmp_path, zalo)
        bot = BotProcess(config, tmp_path / "bot.log")
        bot.start()
        try:
            consent = say(zalo, "/start ubnd_xa_a")
            assert numbers(consent) == {1, 2}, consent
            text = say(zalo, "1")
            for value in VALUES[:8]:
                assert is_statement(text), text
                text = say(zalo, str(value))
            bot.kill()  # SIGKILL: no clean shutdown
            zalo.replay_all()  # Zalo has no offset: what was served comes again
            sent_before = len(zalo.texts(USER))
            bot.start()
            prompt = say(zalo, "/start")  # the replays are handled first, silently
            assert len(zalo.texts(USER)) == sent_before + 1
            assert "8/19" in prompt, prompt
            assert numbers(prompt) == {1, 2}, prompt
            text = say(zalo, "1")
            assert "Câu 9/19" in text
            for value in VALUES[8:]:
                assert is_statement(text), text
                text = say(zalo, str(value))
            while "Cảm ơn" not in text:
                assert not is_statement(text), text
                text = say(zalo, "1")
            assert numbers(text) == frozenset()
            assert bot.stop() == 0
        finally:
            bot.stop()
        stored = stored_by_statement(tmp_path / "sipas.sqlite", USER)
    assert stored == [("completed", n, v) for n, v in enumerate(VALUES, start=1)]
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert zalo.token not in log
    assert "Traceback" not in log


def test_telegram_and_zalo_run_in_one_process_and_count_together(tmp_path: Path) -> None:
    with BotApiEmulator() as telegram, ZaloEmulator() as zalo:
        zalo_section = f'[zalo]\ntoken = "{zalo.token}"\nbase_url = "{zalo.base_url}"\n'
        config = write_config(tmp_path, telegram, extra=zalo_section)
        bot = BotProcess(config, tmp_path / "bot.log")
        bot.start()
        try:
            on_telegram = Citizen(telegram, 5001)
            riding = threading.Thread(target=take_survey, args=(on_telegram,))
            riding.start()
            text = say(zalo, "ubnd_xa_a")
            while "Cảm ơn" not in text:
                text = say(zalo, "4" if is_statement(text) else "1")
            riding.join(timeout=60)
            assert not riding.is_alive()
            assert bot.stop() == 0
        finally:
            bot.stop()
    report = subprocess.run(
        [sys.executable, "-m", "bot", "report", "--config", str(config), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    with sqlite3.connect(tmp_path / "sipas.sqlite") as connection:
        channels = connection.execute(
            "SELECT channel FROM responses WHERE status = 'completed' ORDER BY channel"
        ).fetchall()
    assert channels == [("telegram",), ("zalo",)]
    assert json.loads(report.stdout)["responses"] == 2


def test_a_refused_webhook_stops_start_up_with_one_line(tmp_path: Path) -> None:
    with ZaloEmulator() as zalo:
        hook = (
            'mode = "webhook"\nwebhook_url = "http://127.0.0.1:9/hook"\n'
            f'secret_token = "hook-secret-123"\nport = {free_port()}'
        )
        config = write_zalo_config(tmp_path, zalo, zalo_extra=hook)
        zalo.fail_next("setWebhook", 400, description="Bad Request: bad webhook")
        done = run_cli("run", "--config", str(config))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: Zalo refused to start the bot: Zalo setWebhook: 400 Bad Request: bad webhook"
    ]
    assert "Traceback" not in done.stderr
    assert zalo.token not in done.stderr
