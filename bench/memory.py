"""Memory: peak RSS (VmHWM) of the real bot process serving with a million stored responses.

`python -m bot run` is started against the Bot API emulator (tests/botapi_emulator.py) on
127.0.0.1, on a copy of the cached 1M-response database; a few citizens take the survey and an
official asks for `/score` and `/ranking`, then VmHWM is read from /proc/<pid>/status. The
baseline, in the same run: the same process and traffic on an empty database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench import bulk
from bench.common import ADMIN_ID, ROOT, THANKS, BenchError, Figure, config_text, figure, median
from bench.queries import LAYOUT, QUARTER, SIZES
from tests.botapi_emulator import BotApiEmulator, SentMessage

CITIZENS = 3
MAX_STEPS = 80
STARTUP_TIMEOUT = 180.0  # the start-up integrity check reads the whole file once


def _last_id(api: BotApiEmulator, chat: int) -> int:
    shown = api.messages(chat)
    return shown[-1].message_id if shown else 0


def take_survey(api: BotApiEmulator, user_id: int, agency: str) -> None:
    """From the QR link to the thank-you, pressing what a citizen sees."""
    after = _last_id(api, user_id)
    api.send_text(user_id, f"/start {agency}")
    for step in range(MAX_STEPS):

        def actionable(message: SentMessage, after: int = after) -> bool:
            return message.message_id > after and (bool(message.buttons) or THANKS in message.text)

        message = api.wait_for_message(user_id, actionable, timeout=60)
        after = message.message_id
        if not message.buttons:
            return
        labels = [text for row in message.buttons for text, _ in row]
        if [label[:1] for label in labels[:5]] == ["1", "2", "3", "4", "5"]:
            prefix = str(4 + step % 2)
        else:
            prefix = labels[0]
        api.press_button(user_id, message.message_id, prefix)
    raise BenchError(f"citizen {user_id} did not finish in {MAX_STEPS} steps")


def ask(api: BotApiEmulator, user_id: int, text: str) -> str:
    after = _last_id(api, user_id)
    api.send_text(user_id, text)
    reply = api.wait_for_message(user_id, lambda m: m.message_id > after, timeout=120)
    return reply.text


def _status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/<pid>/status (VmHWM, VmRSS, …)."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            found[key] = int(value.split()[0])
    return found


def serve(folder: Path, database: Path, agencies: Sequence[str]) -> int:
    """Start the bot, drive surveys and official queries; its VmHWM in kB."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("SIPAS_TELEGRAM_TOKEN", "SIPAS_SECRET")
    }
    env["PYTHONUNBUFFERED"] = "1"
    log = folder / "bot.log"
    with BotApiEmulator(token="123456:BENCH") as api:
        config = folder / "config.toml"
        config.write_text(config_text(database, agencies, api.base_url, ADMIN_ID), "utf-8")
        with log.open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(config)],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            api.wait_for(
                lambda: api.long_polls_waiting > 0 or process.poll() is not None,
                timeout=STARTUP_TIMEOUT,
                what="the bot polling",
            )
            if process.poll() is not None:
                raise BenchError(f"the bot exited at start-up:\n{log.read_text()[-2000:]}")
            for number in range(CITIZENS):
                take_survey(api, 7_000_000 + number, agencies[number % len(agencies)])
            quarter = f"{QUARTER.start.year}-Q{(QUARTER.start.month - 1) // 3 + 1}"
            score = ask(api, ADMIN_ID, f"/score {agencies[0]} {quarter}")
            ask(api, ADMIN_ID, f"/ranking {quarter}")
            if "SIPAS" not in score:
                raise BenchError(f"/score did not answer with an index: {score[:300]!r}")
            return _status(process.pid)["VmHWM"]
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure(source: Path, runs: int) -> tuple[list[float], list[float]]:
    loaded: list[float] = []
    empty: list[float] = []
    agencies = list(LAYOUT.agencies)
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="sipas-bench-") as name:
            folder = Path(name)
            copy = folder / "sipas.sqlite"
            shutil.copyfile(source, copy)  # the bot writes: keep the cached build pristine
            loaded.append(serve(folder, copy, agencies) / 1024)
            copy.unlink()
            empty.append(serve(folder, folder / "empty.sqlite", agencies) / 1024)
    return loaded, empty


async def run(quick: bool) -> list[Figure]:
    label = "100k" if quick else "1m"
    runs = 1 if quick else 3
    built = await bulk.cached(f"responses-{label}", LAYOUT, SIZES[label])
    loaded, empty = await asyncio.to_thread(measure, built.path, runs)
    return [
        figure(
            f"memory.peak_rss@{label}",
            median(loaded),
            "MB",
            runs=runs,
            baseline=("the same bot and traffic on an empty database (MB)", median(empty)),
            target="<= 150",
        )
    ]
