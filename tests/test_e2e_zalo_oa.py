"""End to end on the Zalo OA: the real `python -m bot run` process, signed webhook posts."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from bot.questionnaires import load_catalogue
from handlers.replies import pseudonym
from tests.botapi_emulator import BotApiEmulator
from tests.e2e_support import BotProcess, write_config
from tests.e2e_support import Citizen as TelegramCitizen
from tests.test_e2e_telegram import take_survey
from tests.test_e2e_zalo import USER as ZALO_USER
from tests.zalo_emulator import ZaloEmulator
from tests.zalo_oa_emulator import OaEmulator, Sent
from tests.zalo_oa_support import PATH, SECRET, write_oa_config
from tests.zalo_support import free_port, write_zalo_config
from tests.zalo_support import is_statement as zalo_statement


def zalo_say(zalo: ZaloEmulator, text: str) -> str:
    before = len(zalo.texts(ZALO_USER))
    zalo.send_text(ZALO_USER, text)
    return zalo.wait_for(ZALO_USER, before + 1, 30.0)[before]


USER = "8123456789012345678"
VALUES = [4, 5, 3, 0, 2, 1, 5, 4, 4, 3, 5, 2, 1, 3, 4, 5, 0, 2, 4]


class Citizen:
    """Someone on the OA app: every message is posted twice (Zalo retries), one reply read."""

    def __init__(self, oa: OaEmulator, port: int) -> None:
        self.oa = oa
        self.port = port
        self.last: Sent | None = None

    def post(self, text: str) -> dict[str, object]:
        body = self.oa.event(USER, text)
        deadline = time.monotonic() + 30
        while True:
            try:
                assert self.oa.post(self.port, PATH, body) == 200
                break
            except ConnectionRefusedError:  # the bot is still starting
                assert time.monotonic() < deadline, "the webhook never came up"
                time.sleep(0.05)
        return body

    def say(self, text: str) -> Sent:
        before = len(self.oa.sent(USER))
        body = self.post(text)
        assert self.oa.post(self.port, PATH, body) == 200  # the same event again
        sent = self.oa.wait_sent(USER, before + 1)
        self.last = sent[before]
        assert self.last.reply_to == body["message"]["msg_id"]  # type: ignore[index]
        return self.last

    def press(self, title_start: str) -> Sent:
        assert self.last is not None
        return self.say(self.last.payload(title_start))


def is_statement(sent: Sent) -> bool:
    return [t[:1] for t in sent.titles[:5]] == ["1", "2", "3", "4", "5"]


def answer(citizen: Citizen, value: int) -> Sent:
    return citizen.press("Không áp dụng" if value == 0 else str(value))


def stored(database: Path) -> list[tuple[str, int, int]]:
    order = load_catalogue()["sipas-2023"].criterion_ids
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT r.status, a.criterion, a.value FROM answers a "
            "JOIN responses r ON r.id = a.response_id WHERE r.respondent = ?",
            (pseudonym(SECRET, "zalo_oa", USER),),
        ).fetchall()
    return sorted((status, order.index(c) + 1, value) for status, c, value in rows)


def test_a_survey_through_signed_posts_survives_a_kill_between_refresh_and_use(
    tmp_path: Path,
) -> None:
    # Every token is announced as expiring at once: each send refreshes first, so the kill
    # below lands after a refresh (rotating the single-use refresh token) and before its use.
    with OaEmulator(expires_in=1, lifetime=3600) as oa:
        port = free_port()
        config = write_oa_config(tmp_path, oa, port)
        bot = BotProcess(config, tmp_path / "bot.log")
        bot.start()
        try:
            citizen = Citizen(oa, port)
            consent = citizen.say("ubnd_xa_a")
            assert "UBND xã A" in consent.text
            text = citizen.press(consent.titles[0])
            for value in VALUES[:8]:
                assert is_statement(text), text.text
                text = answer(citizen, value)
            refreshes = oa.refreshes
            oa.hold_sends()
            citizen.post("5")  # stored (200), then its reply is held: refreshed, not yet used
            oa.wait_held()
            assert oa.refreshes > refreshes
            bot.kill()  # SIGKILL: no clean shutdown
            oa.release_sends()
            bot.start()
            # The next start refreshes with the token stored before the kill, and goes on.
            text = citizen.say("/start")
            assert oa.refreshes > refreshes + 1
            if not is_statement(text):
                text = citizen.press(text.titles[0])  # resume → continue
            assert "Câu 10/19" in text.text, text.text
            for value in VALUES[9:]:
                assert is_statement(text), text.text
                text = answer(citizen, value)
            while "Cảm ơn" not in text.text:
                assert not is_statement(text), text.text
                text = citizen.press(text.titles[0])
            assert text.buttons == []
            assert bot.stop() == 0
        finally:
            bot.stop()
    assert stored(tmp_path / "sipas.sqlite") == [
        ("completed", n, 5 if n == 9 else v) for n, v in enumerate(VALUES, start=1)
    ]
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    for secret in (oa.app_secret, oa.oa_secret_key, oa.first_refresh_token):
        assert secret not in log
    assert "Traceback" not in log


def oa_survey(citizen: Citizen) -> None:
    text = citizen.say("ubnd_xa_a")
    while "Cảm ơn" not in text.text:
        text = answer(citizen, 4) if is_statement(text) else citizen.press(text.titles[0])


def completed_channels(database: Path) -> list[tuple[str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT channel FROM responses WHERE status = 'completed' ORDER BY channel"
        ).fetchall()


def test_telegram_the_bot_platform_and_the_oa_run_in_one_process(tmp_path: Path) -> None:
    with BotApiEmulator() as telegram, ZaloEmulator() as zalo, OaEmulator() as oa:
        port = free_port()
        extra = f'[zalo]\ntoken = "{zalo.token}"\nbase_url = "{zalo.base_url}"\n{oa.config(port)}'
        config = write_config(tmp_path, telegram, extra=extra)
        bot = BotProcess(config, tmp_path / "bot.log")
        bot.start()
        try:
            riding = threading.Thread(target=take_survey, args=(TelegramCitizen(telegram, 5001),))
            riding.start()
            oa_survey(Citizen(oa, port))
            text = zalo_say(zalo, "ubnd_xa_a")
            while "Cảm ơn" not in text:
                text = zalo_say(zalo, "4" if zalo_statement(text) else "1")
            riding.join(timeout=60)
            assert not riding.is_alive()
            assert bot.stop() == 0
        finally:
            bot.stop()
    assert completed_channels(tmp_path / "sipas.sqlite") == [
        ("telegram",),
        ("zalo",),
        ("zalo_oa",),
    ]


def test_the_bot_platform_and_the_oa_run_without_telegram(tmp_path: Path) -> None:
    with ZaloEmulator() as zalo, OaEmulator() as oa:
        port = free_port()
        config = write_zalo_config(tmp_path, zalo, extra=oa.config(port))
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("zalo-test-secret-0123456789", SECRET), encoding="utf-8")
        bot = BotProcess(config, tmp_path / "bot.log")
        bot.start()
        try:
            oa_survey(Citizen(oa, port))
            assert bot.stop() == 0
        finally:
            bot.stop()
    assert completed_channels(tmp_path / "sipas.sqlite") == [("zalo_oa",)]
