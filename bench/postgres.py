"""PostgreSQL beside SQLite: the answer path and `/score`, each with a same-run baseline.

A server is started the way the tests start one (`tests.postgres_support`: initdb + pg_ctl in
a temporary folder, 127.0.0.1), but durable: fsync and synchronous_commit on, as in production.
- answer path: citizens through the real PTB Application on a fresh PostgreSQL database; the
  baseline is raw single-row INSERT + COMMIT with the same driver (psycopg) on the same server.
- `/score`: the bench's bulk SQLite databases (bench.bulk) copied into PostgreSQL with
  `bot.files.copying` (copy-data's own copy), then `Scores.scorecard` for one agency and quarter;
  baseline the GROUP BY over raw answers (bench.queries), on the same PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from time import perf_counter

from pydantic import SecretStr

from bench import bulk
from bench.answer_path import AGENCIES, bot_traffic
from bench.common import BenchError, Figure, bench_settings, figure, median, percentile
from bench.queries import LAYOUT, SIZES, time_queries
from bot.files.copying import _copy, _tables
from storage.database import Database
from storage.migrations import migrate
from tests.postgres_support import INSTALL_HINT, PostgresServer, find_bindir

log = logging.getLogger(__name__)


async def commit_rate(url: str, seconds: float = 1.0) -> float:
    """Raw psycopg single-row INSERT + COMMIT per second: one connection, autocommit."""
    from psycopg import AsyncConnection

    async with await AsyncConnection.connect(url, autocommit=True) as connection:
        await connection.execute("CREATE TABLE t (k BIGSERIAL PRIMARY KEY, v TEXT NOT NULL)")
        rows = 0
        start = perf_counter()
        while (elapsed := perf_counter() - start) < seconds or rows < 100:
            await connection.execute("INSERT INTO t (v) VALUES ('answer')")
            rows += 1
    return rows / elapsed


async def answer_path(server: PostgresServer, runs: int, citizens: int) -> list[Figure]:
    rates, p50, p99, commits = [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="sipas-bench-pg-") as name:
            url = server.fresh_database(migrated=False)
            settings = bench_settings(Path(name) / "unused.sqlite", AGENCIES)
            storage = settings.storage.model_copy(update={"url": SecretStr(url)})
            settings = settings.model_copy(update={"storage": storage})
            traffic = await bot_traffic(Path(name), 200, citizens, settings)
            rates.append(traffic.rate)
            p50.append(percentile(traffic.latencies, 0.50) * 1000)
            p99.append(percentile(traffic.latencies, 0.99) * 1000)
            commits.append(await commit_rate(server.fresh_database(migrated=False)))
    baseline = ("psycopg insert+commit rows/s, same server", median(commits))
    return [
        figure(
            "postgres.answer_path.c200.throughput",
            median(rates),
            "answers/s",
            runs=runs,
            baseline=baseline,
        ),
        figure("postgres.answer_path.c200.p50", median(p50), "ms", runs=runs),
        figure("postgres.answer_path.c200.p99", median(p99), "ms", runs=runs),
    ]


async def score(server: PostgresServer, runs: int, sizes: dict[str, int]) -> list[Figure]:
    out: list[Figure] = []
    for label, responses in sizes.items():
        built = await bulk.cached(f"responses-{label}", LAYOUT, responses)
        url = server.fresh_database(migrated=False)
        source, target = await Database.open(built.path), await Database.open(url)
        try:
            await migrate(target)
            started = perf_counter()
            await _copy(source, target, await _tables(source))
            print(f"  {label}: copied into PostgreSQL in {perf_counter() - started:.1f} s")
            await target.execute_script("ANALYZE")
            timings = await time_queries(target, runs)
        finally:
            await source.close()
            await target.close()
        out.append(
            figure(
                f"postgres.queries.score@{label}",
                timings.score,
                "ms",
                runs=runs,
                baseline=("GROUP BY raw answers, one agency-quarter (ms)", timings.score_baseline),
                target="<= 50" if label == "1m" else None,
            )
        )
    return out


async def run(quick: bool) -> list[Figure]:
    bindir = find_bindir()
    if bindir is None:
        raise BenchError(INSTALL_HINT)
    logging.getLogger("telegram").setLevel(logging.WARNING)
    server = PostgresServer(bindir, durable=True)
    try:
        await asyncio.to_thread(server.start)  # it migrates its template in its own loop
        runs = 2 if quick else 3
        sizes = {k: v for k, v in SIZES.items() if not (quick and k == "1m")}
        return [
            *await answer_path(server, runs, 200),
            *await score(server, 5 if quick else 9, sizes),
        ]
    finally:
        server.stop()
