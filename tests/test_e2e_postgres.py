"""End to end on PostgreSQL: two real `python -m bot run` processes in webhook mode on one
database, a round-robin forwarder in front of them (as nginx would be), 30 citizens at once and
one instance SIGKILLed mid-survey. What got no 200 is posted again to the other instance, as
Telegram redelivers. Every survey completes, stored answers equal presses, nothing is doubled.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from itertools import count
from pathlib import Path

from bot.config import StorageSection
from tests.botapi_emulator import BotApiEmulator
from tests.e2e_support import BotProcess, Citizen, write_config
from tests.postgres_support import query_rows
from tests.test_e2e_telegram import expected_answers, take_survey
from tests.test_e2e_telegram_webhook import wait_listening
from tests.zalo_support import free_port

SECRET = "tg-webhook-secret_2"
HOOK = "/tg/hook"
CITIZENS = 30


class Forwarder:
    """Takes the emulator's queued updates and POSTs each to the instances in turn; one that
    gets no 200 (the instance is dead) goes to the next, until one takes it."""

    def __init__(self, api: BotApiEmulator, ports: list[int]) -> None:
        self._api, self._ports = api, ports
        self._turn = count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.taken = dict.fromkeys(ports, 0)  # updates each instance answered with 200
        self.refused = 0  # posts that got no 200 (then posted to the next instance)

    def __enter__(self) -> Forwarder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _take(self) -> list[dict[str, object]]:
        # The emulator queues updates for getUpdates; in webhook mode nobody polls, so the
        # forwarder plays Telegram's webhook sender (reading the emulator's queue directly).
        with self._api._cond:
            batch, self._api._queue = self._api._queue, []
            return [{"update_id": q.update_id, **q.payload} for q in batch]

    def _run(self) -> None:
        while not self._stop.is_set():
            updates = self._take()
            if not updates:
                time.sleep(0.01)
                continue
            for update in updates:
                self._deliver(update)

    def _deliver(self, update: dict[str, object]) -> None:
        while not self._stop.is_set():
            port = self._ports[next(self._turn) % len(self._ports)]
            if _post(port, update) == 200:
                self.taken[port] += 1
                return
            self.refused += 1


def _post(port: int, update: dict[str, object]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": SECRET,
    }
    try:
        connection.request("POST", HOOK, body=json.dumps(update), headers=headers)
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def _instance(folder: Path, api: BotApiEmulator, url: str, port: int) -> BotProcess:
    folder.mkdir()
    webhook = (
        f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:9{HOOK}"\n'
        f'listen = "127.0.0.1"\nport = {port}\nsecret_token = "{SECRET}"\n'
    )
    config = write_config(folder, api)
    text = config.read_text(encoding="utf-8").replace("[storage]", webhook + "\n[storage]", 1)
    config.write_text(text.replace("[storage]\n", f'[storage]\nurl = "{url}"\n', 1), "utf-8")
    return BotProcess(config, folder / "bot.log")


def test_two_instances_thirty_citizens_and_a_kill_lose_and_double_nothing(
    tmp_path: Path, empty_postgres: str
) -> None:
    ports = [free_port(), free_port()]
    with BotApiEmulator(token="123456:E2E") as api:
        bots = [
            _instance(tmp_path / f"i{n}", api, empty_postgres, port)
            for n, port in enumerate(ports)
        ]
        for bot in bots:
            bot.start()  # together: both migrate the empty database at once
        try:
            for port in ports:
                wait_listening(port, timeout=60)
            citizens = [Citizen(api, 8000 + n) for n in range(CITIZENS)]
            with Forwarder(api, ports) as forwarder:
                threads = [
                    threading.Thread(target=take_survey, args=(c,), daemon=True) for c in citizens
                ]
                for thread in threads:
                    thread.start()
                api.wait_for(lambda: sum(len(c.pressed) >= 3 for c in citizens) >= 20, 120)
                bots[0].kill()  # mid-survey for most of them
                for thread in threads:
                    thread.join(timeout=240)
                    assert not thread.is_alive(), (tmp_path / "i1" / "bot.log").read_text()
                taken, refused = forwarder.taken, forwarder.refused
            assert all(n > CITIZENS for n in taken.values()), taken  # both served
            assert refused > 0  # the dead instance's turns were redelivered to the live one
            assert bots[1].stop() == 0
        finally:
            for bot in bots:
                if bot.process and bot.process.poll() is None:
                    bot.process.kill()
    storage = StorageSection(url=empty_postgres)  # type: ignore[arg-type]
    rows = query_rows(
        storage,
        "SELECT r.respondent, a.criterion, a.value FROM answers a "
        "JOIN responses r ON r.id = a.response_id WHERE r.status = 'completed' "
        "ORDER BY r.respondent, a.criterion",
    )
    stored: dict[str, list[tuple[str, int]]] = {}
    for respondent, criterion, value in rows:
        stored.setdefault(str(respondent), []).append((str(criterion), int(value)))
    assert len(stored) == CITIZENS  # one completed response each: nothing doubled
    assert sorted(stored.values()) == sorted(expected_answers(c) for c in citizens)
    [(completed,)] = query_rows(
        storage, "SELECT COUNT(*) FROM responses WHERE status = 'completed'"
    )
    assert completed == CITIZENS
    [(counted,)] = query_rows(storage, "SELECT SUM(responses) FROM daily_responses")
    assert counted == CITIZENS  # the aggregates count each survey once
