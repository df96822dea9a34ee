"""Digest: the weekly digest (texts and chart) for 500 agencies with one official each.

Uses the public functions of `bot.digest.compose` (recipients, build_digest, render) on a copy of a
cached database of 500 agencies × 9 weeks. The baseline, in the same run: a bare matplotlib
figure of the same size (bars and a line) saved as PNG — the floor of drawing any chart.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter

from bench import bulk
from bench.common import BenchError, Figure, agency_codes, bench_settings, figure, median
from bot.config import OfficialEntry
from bot.services import open_services
from survey.period import last_full_week

AGENCIES = 500
LAYOUT = bulk.Layout(tuple(agency_codes(AGENCIES)), date(2025, 9, 1), 63)  # 9 weeks to a Sunday
RESPONSES = 100_000  # about 25 a week per agency: most weeks clear min_responses
PERIOD = last_full_week(date(2025, 11, 3))
FIRST_OFFICIAL = 800_000_000


async def time_digests(source: Path, folder: Path, recipients_wanted: int) -> tuple[float, int]:
    """Seconds to build and render every subscriber's digest, and how many there were."""
    # Imported here: `run` skips this benchmark when bot.digest.compose is absent.
    from bot.digest.compose import build_digest, recipients, render

    copy = folder / "digest.sqlite"
    await asyncio.to_thread(shutil.copyfile, source, copy)  # subscribing writes rows
    codes = LAYOUT.agencies[:recipients_wanted]
    officials = [
        OfficialEntry(telegram_id=FIRST_OFFICIAL + i, role="official", agencies=(code,))
        for i, code in enumerate(codes)
    ]
    settings = bench_settings(copy, LAYOUT.agencies, officials=officials)
    services = await open_services(settings)
    try:
        now = datetime.now(UTC)
        for official in officials:
            await services.officials.subscribe("telegram", str(official.telegram_id), "vi", now)
        start = perf_counter()
        found, _ = await recipients(services)
        built = 0
        for recipient in found:
            digest = await build_digest(services, recipient.official, PERIOD)
            if digest is None:
                continue
            rendered = await render(digest, recipient.language)
            built += bool(rendered.png and rendered.text)
        seconds = perf_counter() - start
    finally:
        await services.close()
    if built != len(codes):
        raise BenchError(f"{built} digests built for {len(codes)} subscribed officials")
    return seconds, built


def bare_chart() -> bytes:
    """A 1200×600 PNG with five bars and an eight-point line, nothing else."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    chart = MplFigure(figsize=(12, 6), dpi=100)
    FigureCanvasAgg(chart)
    bars, line = chart.subplots(1, 2)
    bars.barh(range(5), [80, 75, 90, 85, 70])
    line.plot(range(8), [80, 81, 79, 83, 82, 84, 80, 81], marker="o")
    buffer = io.BytesIO()
    chart.savefig(buffer, format="png")
    return buffer.getvalue()


def time_bare_charts(count: int) -> float:
    """Median seconds of one bare chart."""
    samples = []
    for _ in range(count):
        start = perf_counter()
        bare_chart()
        samples.append(perf_counter() - start)
    return median(samples)


async def run(quick: bool) -> list[Figure]:
    try:
        import bot.digest.compose  # noqa: F401  (present only once its author has landed it)
    except ImportError as error:
        print(f"  digest benchmark skipped: bot.digest.compose is not importable ({error})")
        return []
    runs = 1 if quick else 3
    wanted = 50 if quick else AGENCIES
    built = await bulk.cached(f"digest-{AGENCIES}", LAYOUT, RESPONSES)
    per_recipient: list[float] = []
    bare: list[float] = []
    await asyncio.to_thread(bare_chart)  # matplotlib's import and font cache: not a chart's cost
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="sipas-bench-") as name:
            seconds, count = await time_digests(built.path, Path(name), wanted)
        per_recipient.append(seconds / count * 1000)
        bare.append(await asyncio.to_thread(time_bare_charts, 20) * 1000)
    return [
        figure(
            f"digest.ms_per_recipient@{wanted}",
            median(per_recipient),
            "ms",
            runs=runs,
            baseline=("bare matplotlib 1200×600 PNG (ms)", median(bare)),
        )
    ]
