"""End to end: the real bot process and a Bot API emulator on 127.0.0.1, citizens pressing."""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

from tests.botapi_emulator import BotApiEmulator, SentMessage
from tests.e2e_support import BotProcess, Citizen, write_config

STATEMENT = re.compile(r"Câu (\d+)/19")


def choice_for(user_id: int, number: int) -> int:
    """What this citizen answers to statement `number`: varied, and known to the test."""
    return (user_id + number) % 5 + 1


def take_survey(citizen: Citizen, stop_after: int | None = None) -> None:
    """Start from the QR link and answer until done (or until `stop_after` statements)."""
    api, uid = citizen.api, citizen.user_id
    before = citizen.last_id()
    api.send_text(uid, "/start ubnd_xa_a")
    consent = citizen.wait_for_new(before)
    citizen.press(consent, "Đồng ý")
    answer_until_done(citizen, consent.message_id, stop_after)


def answer_until_done(citizen: Citizen, after: int, stop_after: int | None = None) -> None:
    while True:
        try:
            message = citizen.wait_for_new(after, timeout=8)
        except AssertionError:
            # The bot died after storing a press but before replying: as a person would,
            # type /start and continue (the stored answer is not asked again).
            citizen.api.send_text(citizen.user_id, "/start")
            continue
        after = message.message_id
        if "Cảm ơn" in message.text and not message.buttons:
            return
        if not message.buttons:
            continue
        if message.buttons[0][0][0] == "Tiếp tục":
            citizen.press(message, "Tiếp tục")
            continue
        match = STATEMENT.search(message.text)
        if match:
            number = int(match.group(1))
            if stop_after is not None and len(citizen.pressed) >= stop_after:
                return
            value = choice_for(citizen.user_id, number)
            citizen.pressed[f"#{number}"] = value
            citizen.press(message, str(value))
        else:
            citizen.press(message, message.buttons[0][0][0])


def resume(citizen: Citizen) -> None:
    before = citizen.last_id()
    citizen.api.send_text(citizen.user_id, "/start")
    offer = citizen.wait_for_new(before)
    assert next(label for row in offer.buttons for label, _ in row) == "Tiếp tục"
    citizen.press(offer, "Tiếp tục")
    answer_until_done(citizen, offer.message_id)


def stored_answers(database: Path) -> dict[str, list[tuple[str, int]]]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT r.respondent, a.criterion, a.value FROM answers a "
            "JOIN responses r ON r.id = a.response_id WHERE r.status = 'completed' "
            "ORDER BY r.respondent, a.criterion"
        ).fetchall()
    found: dict[str, list[tuple[str, int]]] = {}
    for respondent, criterion, value in rows:
        found.setdefault(respondent, []).append((criterion, value))
    return found


def expected_answers(citizen: Citizen) -> list[tuple[str, int]]:
    ids = [f"access_{i}" for i in range(1, 5)] + [f"procedures_{i}" for i in range(1, 5)]
    ids += [f"civil_servants_{i}" for i in range(1, 6)] + [f"results_{i}" for i in range(1, 4)]
    ids += [f"feedback_{i}" for i in range(1, 4)]
    return sorted((cid, choice_for(citizen.user_id, n)) for n, cid in enumerate(ids, start=1))


def test_three_citizens_and_a_kill_lose_nothing(tmp_path: Path) -> None:
    with BotApiEmulator(token="123456:E2E") as api:
        bot = BotProcess(write_config(tmp_path, api), tmp_path / "bot.log")
        bot.start()
        try:
            citizens = [Citizen(api, uid) for uid in (7001, 7002, 7003)]
            interrupted = citizens[0]
            take_survey(interrupted, stop_after=7)
            threads = [
                threading.Thread(target=take_survey, args=(c,), daemon=True) for c in citizens[1:]
            ]
            for thread in threads:
                thread.start()
            api.wait_for(lambda: all(len(c.pressed) >= 3 for c in citizens[1:]), timeout=30)
            bot.kill()  # mid-survey for everyone
            bot.start()
            resume(interrupted)
            for thread in threads:
                thread.join(timeout=90)
                assert not thread.is_alive(), (tmp_path / "bot.log").read_text()
            assert bot.stop() == 0
        finally:
            if bot.process and bot.process.poll() is None:
                bot.process.kill()
        stored = stored_answers(tmp_path / "sipas.sqlite")
        assert len(stored) == 3
        assert sorted(stored.values()) == sorted(expected_answers(c) for c in citizens)
        for citizen in citizens:
            final: SentMessage = api.last_message(citizen.user_id)
            assert "Cảm ơn" in final.text
        assert "123456:E2E" not in (tmp_path / "bot.log").read_text()
