"""Zalo: messages per survey (the Basic plan counts them), and the polling answer path.

Zalo's getUpdates hands out one update per call, so polling serves citizens one message at a
time. The baseline is the same fake Zalo server driven by a bare loop (getUpdates, then one
sendMessage echo, no survey, no database): what polling allows at all on this machine.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter

from bench.common import Figure, figure, median, percentile
from bot.config import load_settings
from bot.services import open_services
from bot.zalo.api import ZaloBotApi
from bot.zalo.channel import build_channel
from handlers.text.zalo import parse_update
from tests.zalo_emulator import ZaloEmulator
from tests.zalo_support import ZaloCitizen, write_zalo_config


async def _no_wait(_: float) -> None:
    await asyncio.sleep(0)


async def _bot_run(folder: Path, citizens: int) -> tuple[list[int], list[float], float, int]:
    """Citizens answering at once through the real channel: per-survey sends, latencies."""
    with ZaloEmulator() as zalo:
        zalo.poll_cap = 0.05
        settings = load_settings(write_zalo_config(folder, zalo))
        services = await open_services(settings)
        channel = build_channel(
            settings.zalo, services.text_chat("zalo"), lambda: datetime.now(UTC), sleep=_no_wait
        )
        await channel.start()
        people = [ZaloCitizen(zalo, f"{n:020x}") for n in range(1, citizens + 1)]
        latencies: list[float] = []

        async def one(person: ZaloCitizen) -> None:
            async def timed(text: str) -> None:
                started = perf_counter()
                await person.say(text)
                latencies.append((perf_counter() - started) * 1000)

            await timed("/start ubnd_xa_a")
            reply = person.last()
            while "Cảm ơn" not in reply:
                await timed("4" if "Câu " in reply else "1")
                reply = person.last()

        started = perf_counter()
        try:
            await asyncio.gather(*(one(person) for person in people))
        finally:
            elapsed = perf_counter() - started
            await channel.stop()
            await services.close()
        sends = [len(zalo.texts(person.user_id)) for person in people]
        received = len(latencies)
    return sends, latencies, elapsed, received


async def _bare_run(messages: int) -> float:
    """Messages per second a bare poll-and-echo loop gets from the same fake server."""
    with ZaloEmulator() as zalo:
        zalo.poll_cap = 0.05
        api = ZaloBotApi(zalo.token, zalo.base_url)
        for n in range(messages):
            zalo.send_text(f"{n % 50:020x}", "4")
        started = perf_counter()
        for _ in range(messages):
            message = parse_update(await api.get_update(1))
            assert message is not None
            await api.call("sendMessage", {"chat_id": message.chat_id, "text": "ok"})
        elapsed = perf_counter() - started
        await api.aclose()
    return messages / elapsed


async def run(quick: bool) -> list[Figure]:
    citizens = 5 if quick else 20
    with tempfile.TemporaryDirectory(prefix="sipas-bench-zalo-") as name:
        sends, latencies, elapsed, received = await _bot_run(Path(name), citizens)
    bare = await _bare_run(received)
    per_survey = median(sends)
    return [
        figure(
            "zalo.messages_per_survey",
            per_survey,
            "messages",
            runs=citizens,
            baseline=("messages the citizen sent", received / citizens),
            target="ratio <= 1.0",
        ),
        figure(
            f"zalo.polling.c{citizens}.throughput",
            received / elapsed,
            "answers/s",
            runs=1,
            baseline=("bare getUpdates + sendMessage loop, msgs/s", bare),
        ),
        figure(
            f"zalo.polling.c{citizens}.p50",
            median(latencies),
            "ms",
            runs=len(latencies),
        ),
        figure(
            f"zalo.polling.c{citizens}.p99",
            percentile(latencies, 0.99),
            "ms",
            runs=len(latencies),
        ),
    ]
