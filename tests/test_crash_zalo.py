"""Crash safety on Zalo: citizens at once, the bot SIGKILLed at seeded moments and restarted,
every message Zalo served replayed after each restart; stored answers equal what was typed."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e_support import BotProcess
from tests.soak import sized
from tests.survey_takers import TOO_SOON
from tests.zalo_emulator import ZaloEmulator
from tests.zalo_support import is_statement, numbers, stored_by_statement, write_zalo_config

STATEMENT = re.compile(r"Câu (\d+)/19")
CITIZENS = sized(6, 40)
KILLS = sized(2, 10)
SEED = 2811


@dataclass
class Typist:
    """A citizen who answers each statement with a planned value and every other step with 1;
    when no reply comes (the bot was killed), they type /start, as the bot's texts say."""

    zalo: ZaloEmulator
    user_id: str
    plan: dict[int, int]
    finished: bool = False
    restarts: int = 0
    failure: str | None = None
    seen: int = field(default=0)
    log: list[tuple[str, str | None]] = field(default_factory=list)

    def send(self, text: str) -> str | None:
        self.zalo.send_text(self.user_id, text)
        try:
            self.zalo.wait_for(self.user_id, self.seen + 1, timeout=6.0)
        except AssertionError:
            self.log.append((text, None))
            return None
        texts = self.zalo.texts(self.user_id)
        self.seen = len(texts)
        self.log.append((text, texts[-1][:40]))
        return texts[-1]  # the newest screen: a late reply to an earlier message is history

    def run(self) -> None:
        try:
            text = self.send("/start ubnd_xa_a")
            for _ in range(400):
                if text is None:
                    self.restarts += 1
                    text = self.send("/start")
                elif ("Cảm ơn" in text and not numbers(text)) or TOO_SOON in text:
                    # The thanks, or (it was lost to a kill) "you rated this agency recently".
                    self.finished = True
                    return
                elif is_statement(text):
                    found = STATEMENT.search(text)
                    assert found is not None, text
                    text = self.send(str(self.plan[int(found.group(1))]))
                elif numbers(text):
                    text = self.send("1")
                else:  # a note with no choices (e.g. paused): back to where they are
                    text = self.send("/start")
            self.failure = "never finished"
        except Exception as error:  # reported by the test, with the citizen
            self.failure = repr(error)


def test_killed_and_replayed_the_zalo_bot_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    with ZaloEmulator() as zalo:
        config = write_zalo_config(tmp_path, zalo)
        bot = BotProcess(config, tmp_path / "bot.log")
        typists = [
            Typist(zalo, f"{7000 + n:020x}", {s: rng.randint(0, 5) for s in range(1, 20)})
            for n in range(CITIZENS)
        ]
        total = CITIZENS * 26
        kill_at = sorted(rng.sample(range(total // 5, total * 3 // 4), KILLS))
        bot.start()
        threads = [threading.Thread(target=t.run, daemon=True) for t in typists]
        try:
            for thread in threads:
                thread.start()
            for moment in kill_at:
                zalo.wait_for_total(moment, timeout=120.0)
                bot.kill()
                zalo.replay_all()  # no offset on Zalo: what was served comes again
                bot.start()
            for thread in threads:
                thread.join(timeout=300)
            assert bot.stop() == 0
        finally:
            bot.stop()
    failures = [f"{t.user_id}: {t.failure}" for t in typists if t.failure or not t.finished]
    assert failures == [], (failures, (tmp_path / "bot.log").read_text()[-3000:])
    for typist in typists:
        answers = stored_by_statement(tmp_path / "sipas.sqlite", typist.user_id)
        expected = [("completed", s, v) for s, v in sorted(typist.plan.items())]
        if answers != expected:
            print("\nLOG", typist.user_id, typist.plan)
            for sent, got in typist.log:
                print(repr(sent), "->", repr(got and got.replace("\n", " ")[:30]))
        assert answers == expected, typist.user_id
    assert bot.starts == KILLS + 1
