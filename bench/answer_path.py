"""Answer path: completed surveys through the real PTB Application, 1 and 200 citizens at once.

Every citizen update of a sipas-2023 survey counts as an answer (the /start, the consent, the
19 statements and the 5 optional steps: 26 updates), because each is stored durably before the
bot replies. Baselines, measured in the same run: the same updates dispatched by a bare PTB
Application whose only handler answers the callback, and raw aiosqlite insert+commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

import aiosqlite
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes

from bench.common import (
    QUESTIONNAIRE,
    THANKS,
    TOKEN,
    BenchError,
    Figure,
    agency_codes,
    bench_settings,
    figure,
    median,
    percentile,
)
from bot.config import Settings
from bot.telegram_app import build_application, on_shutdown, on_startup
from tests.telegram_fakes import RecordingRequest, press_update, text_update

AnyApp = Application[Any, Any, Any, Any, Any, Any]
UpdateData = dict[str, Any]
AGENCIES = agency_codes(12)
MAX_STEPS = 80  # a survey is 26 updates; more means the bot stopped moving the citizen on
FIRST_CITIZEN = 5_000_000
# Answers lean satisfied, as real ones do; the value does not change the work done.
SCALE_WEIGHTS = (1, 2, 4, 8, 6)


@dataclass
class Shown:
    """The newest message the bot sent to a chat: what the citizen looks at and presses."""

    message_id: int
    text: str
    buttons: list[tuple[str, str]]


@dataclass
class ChatRequest(RecordingRequest):
    """The recording fake request, which also keeps each chat's newest message."""

    shown: dict[int, Shown] = field(default_factory=dict)

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        result = super()._result(name, params)
        if name == "sendMessage":
            self.shown[result["chat"]["id"]] = Shown(
                result["message_id"], str(params.get("text", "")), _buttons(params)
            )
        return result


def _buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    markup = params.get("reply_markup")
    if not markup:
        return []
    keyboard = json.loads(markup) if isinstance(markup, str) else markup
    return [(b["text"], b["callback_data"]) for row in keyboard["inline_keyboard"] for b in row]


def choose(buttons: Sequence[tuple[str, str]], rng: random.Random) -> str:
    """A scale statement gets a 1–5 answer; on every other step the first button moves on."""
    labels = [label for label, _ in buttons[:5]]
    if [label[:1] for label in labels] == ["1", "2", "3", "4", "5"]:
        value = rng.choices(range(1, 6), SCALE_WEIGHTS)[0]
        return buttons[value - 1][1]
    return buttons[0][1]


@dataclass
class Traffic:
    """What one scenario produced: wall time, each update's latency, and the updates sent."""

    seconds: float
    latencies: list[float]
    updates: list[list[UpdateData]]  # per citizen, in order
    calls: list[int]  # Bot API calls per completed survey

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


async def _timed(app: AnyApp, data: UpdateData, latencies: list[float]) -> None:
    update = Update.de_json(data, app.bot)
    start = perf_counter()
    await app.process_update(update)
    latencies.append(perf_counter() - start)


async def _citizen(
    app: AnyApp,
    request: ChatRequest,
    user_id: int,
    agency: str,
    latencies: list[float],
    sent: list[UpdateData],
) -> int:
    """One citizen from the QR link to the thank-you; returns the Bot API calls it caused."""
    rng = random.Random(user_id)
    calls_before = len(request.calls)
    data = text_update(user_id, f"/start {agency}")
    for _ in range(MAX_STEPS):
        sent.append(data)
        await _timed(app, data, latencies)
        shown = request.shown.get(user_id)
        if shown is None:
            raise BenchError(f"citizen {user_id}: the bot sent nothing")
        if not shown.buttons:
            if THANKS not in shown.text:
                raise BenchError(f"citizen {user_id} stuck at {shown.text[:80]!r}")
            return len(request.calls) - calls_before
        choice = choose(shown.buttons, rng)
        data = press_update(user_id, choice, message_id=shown.message_id)
    raise BenchError(f"citizen {user_id} did not finish in {MAX_STEPS} updates")


async def _drive(
    concurrency: int, citizens: int, one: Callable[[int, list[UpdateData]], Awaitable[Any]]
) -> tuple[float, list[list[UpdateData]], list[Any]]:
    """`citizens` citizens, `concurrency` at a time, each citizen's updates in order."""
    updates: list[list[UpdateData]] = [[] for _ in range(citizens)]
    results: list[Any] = []
    start = perf_counter()
    for first in range(0, citizens, concurrency):
        batch = range(first, min(first + concurrency, citizens))
        results += await asyncio.gather(*(one(i, updates[i]) for i in batch))
    return perf_counter() - start, updates, results


async def bot_traffic(
    folder: Path, concurrency: int, citizens: int, settings: Settings | None = None
) -> Traffic:
    """Citizens through the real Application on a fresh database in `folder` (or `settings`'
    database, e.g. PostgreSQL)."""
    settings = settings or bench_settings(folder / "sipas.sqlite", AGENCIES)
    request = ChatRequest()
    app = build_application(settings, request=request, rate_limiter=False)
    latencies: list[float] = []
    async with app:
        await on_startup(app)
        try:

            async def one(index: int, sent: list[UpdateData]) -> int:
                user_id = FIRST_CITIZEN + index
                agency = AGENCIES[index % len(AGENCIES)]
                return await _citizen(app, request, user_id, agency, latencies, sent)

            seconds, updates, calls = await _drive(concurrency, citizens, one)
        finally:
            await on_shutdown(app)
    return Traffic(seconds, latencies, updates, calls)


async def bare_traffic(recorded: list[list[UpdateData]], concurrency: int) -> Traffic:
    """The same updates through a bare Application that only answers callback queries."""
    request = ChatRequest()
    app: AnyApp = ApplicationBuilder().token(TOKEN).request(request).build()

    async def answer(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()

    app.add_handler(CallbackQueryHandler(answer))
    latencies: list[float] = []
    async with app:

        async def one(index: int, _: list[UpdateData]) -> None:
            for data in recorded[index]:
                await _timed(app, data, latencies)

        seconds, _, _ = await _drive(concurrency, len(recorded), one)
    return Traffic(seconds, latencies, recorded, [])


async def commit_rate(folder: Path, seconds: float = 1.0) -> float:
    """Raw aiosqlite single-row INSERT + COMMIT per second: one connection, WAL, FULL."""
    async with aiosqlite.connect(folder / "raw.sqlite") as connection:
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA synchronous=FULL")
        await connection.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        await connection.commit()
        rows = 0
        start = perf_counter()
        while (elapsed := perf_counter() - start) < seconds or rows < 100:
            await connection.execute("INSERT INTO t (v) VALUES ('answer')")
            await connection.commit()
            rows += 1
    return rows / elapsed


@dataclass
class Scenario:
    """Every run of one concurrency level: the bot's traffic, the bare dispatch's, sqlite's."""

    label: str
    bot: list[Traffic] = field(default_factory=list)
    bare: list[Traffic] = field(default_factory=list)
    commits: list[float] = field(default_factory=list)  # aiosqlite insert+commit rows/s

    def add(self, bot: Traffic, bare: Traffic, commits: float) -> None:
        self.bot.append(bot)
        self.bare.append(bare)
        self.commits.append(commits)


def _rate(runs: list[Traffic]) -> float:
    return median([traffic.rate for traffic in runs])


def _ms(runs: list[Traffic], quantile: float) -> float:
    return median([percentile(traffic.latencies, quantile) * 1000 for traffic in runs])


async def measure(scenarios: Sequence[tuple[str, int, int]], runs: int) -> list[Scenario]:
    """Each run: for each scenario a fresh database, the bot, then the bare dispatch and sqlite."""
    found = {label: Scenario(label) for label, _, _ in scenarios}
    for _ in range(runs):
        for label, concurrency, citizens in scenarios:
            with tempfile.TemporaryDirectory(prefix="sipas-bench-") as name:
                folder = Path(name)
                bot = await bot_traffic(folder, concurrency, citizens)
                bare = await bare_traffic(bot.updates, concurrency)
                commits = await commit_rate(folder)
            found[label].add(bot, bare, commits)
    return list(found.values())


def figures(results: Sequence[Scenario], runs: int) -> list[Figure]:
    out: list[Figure] = []
    for s in results:
        at_load = s.label == "c200"
        bare = f"bare PTB dispatch ({s.label})"
        rate = _rate(s.bot)
        # name, value, unit, baseline, target
        rows: list[tuple[str, float, str, tuple[str, float], str | None]] = [
            (
                "throughput",
                rate,
                "answers/s",
                (f"{bare} answers/s", _rate(s.bare)),
                "ratio >= 0.5" if at_load else None,
            ),
            (
                "throughput_vs_sqlite",
                rate,
                "answers/s",
                ("aiosqlite insert+commit rows/s", median(s.commits)),
                "ratio >= 1.0" if at_load else None,
            ),
            ("p50", _ms(s.bot, 0.50), "ms", (f"{bare} p50 ms", _ms(s.bare, 0.50)), None),
            ("p99", _ms(s.bot, 0.99), "ms", (f"{bare} p99 ms", _ms(s.bare, 0.99)), "<= 20"),
        ]
        out += [
            figure(f"answer_path.{s.label}.{name}", value, unit, runs=runs, baseline=b, target=t)
            for name, value, unit, b, t in rows
        ]
    return out


async def run(quick: bool) -> list[Figure]:
    logging.getLogger("telegram").setLevel(logging.WARNING)
    runs = 2 if quick else 3
    # "1 citizen": one at a time, 20 in a row so that the p99 rests on 520 answers, not 26.
    scenarios = [("c1", 1, 5 if quick else 20), ("c200", 200, 200)]
    return figures(await measure(scenarios, runs), runs)


def survey_statements() -> int:
    from bot.questionnaires import load_catalogue

    return len(load_catalogue()[QUESTIONNAIRE].criterion_ids)
