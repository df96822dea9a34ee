"""Fast bulk builder of stored responses for the benchmarks: numpy draws, SQLite in bulk.

Storing a million responses through `store_paper_responses` would take far longer than the
benchmark itself, so the answers are drawn with numpy, the raw rows go in with executemany and
one INSERT … SELECT, and the per-day aggregates (daily_responses, daily_counts, daily_pairs)
are computed with numpy per (agency, day): counts by bincount and the pair moments as
SᵀS, SᵀV, VᵀS, VᵀV. Their monthly rollups (monthly_responses, monthly_counts, monthly_pairs) are
summed from them by SQLite, the statements that migration 4 backfills with. `verify` checks all
six tables against `add_to_aggregates`, which keeps them one response at a time.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np

from bench.common import DATA, QUESTIONNAIRE, BenchError
from bot.questionnaires import load_catalogue
from storage.aggregates import add_to_aggregates
from storage.database import Database
from storage.migrations import MIGRATIONS, migrate
from storage.rollups import MONTHLY_TABLES, ROLLUP_STATEMENTS
from survey.flow import steps

VERSION = 2  # bump when the drawn data or its layout changes: cached builds are rebuilt
VALUES = 6  # stored values 0 (not applicable) to 5
CHANNEL = "bench"
COMMENT = "Thời gian chờ đợi hơi lâu, nên bố trí thêm người tiếp nhận."
AGGREGATES = ("daily_responses", "daily_counts", "daily_pairs", *MONTHLY_TABLES)


@dataclass(frozen=True)
class Layout:
    """How the responses spread: over which agencies and which calendar days."""

    agencies: tuple[str, ...]
    first_day: date
    days: int

    def open_days(self) -> list[int]:
        """Day numbers of the days counters are open (they close on Sundays)."""
        return [d for d in range(self.days) if (self.first_day + timedelta(d)).weekday() != 6]

    def iso(self) -> list[str]:
        return [(self.first_day + timedelta(d)).isoformat() for d in range(self.days)]


@dataclass(frozen=True)
class Built:
    path: Path
    responses: int
    seconds: float
    cached: bool


@dataclass
class _Drawn:
    """All responses, in id order (chronological), as parallel arrays."""

    agency: np.ndarray  # int: index into Layout.agencies
    day: np.ndarray  # int: day number from first_day
    minute: np.ndarray  # int: minutes after opening time
    values: np.ndarray  # uint8 (n, criteria): 0 = not applicable, 1–5
    comment: np.ndarray  # bool


def _draw(layout: Layout, responses: int, criteria: Sequence[str], seed: int) -> _Drawn:
    rng = np.random.default_rng(seed)
    open_days = np.array(layout.open_days())
    agencies = len(layout.agencies)
    # Exactly `responses`, spread evenly over every (agency, open day) cell.
    per_cell = rng.multinomial(
        responses, np.full(agencies * len(open_days), 1 / (agencies * len(open_days)))
    )
    agency = np.repeat(np.repeat(np.arange(agencies), len(open_days)), per_cell)
    day = np.repeat(np.tile(open_days, agencies), per_cell)
    count = len(agency)
    level = rng.normal(4.0, 0.3, agencies)
    trend = rng.normal(0.0, 0.0005, agencies)  # per day
    offsets = rng.normal(0.0, 0.35, (agencies, len(criteria)))
    na_rate = np.array([0.12 if c.startswith("feedback") else 0.02 for c in criteria])
    values = np.empty((count, len(criteria)), dtype=np.uint8)
    # Chunks keep the float temporaries small (a million × 19 doubles is 150 MB each).
    for start in range(0, count, 100_000):
        part = slice(start, min(start + 100_000, count))
        who = agency[part]
        person = rng.normal(level[who] + trend[who] * day[part], 0.7)
        raw = person[:, None] + offsets[who] + rng.normal(0.0, 0.5, (len(who), len(criteria)))
        drawn = np.clip(np.rint(raw), 1, 5).astype(np.uint8)
        drawn[rng.random(drawn.shape) < na_rate] = 0
        values[part] = drawn
    minute = rng.integers(0, 600, count)
    comment = rng.random(count) < 0.12
    order = np.lexsort((minute, day))  # ids follow time, agencies interleaved, as in real use
    return _Drawn(agency[order], day[order], minute[order], values[order], comment[order])


def _aggregate_rows(
    drawn: _Drawn, layout: Layout, criteria: Sequence[str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of the three daily tables, as `add_to_aggregates` would leave them."""
    iso = layout.iso()
    width = len(criteria)
    # Pairs are stored with c1 < c2 in string order, which is not questionnaire order.
    upper = np.array([[a < b for b in criteria] for a in criteria])
    totals: list[tuple[Any, ...]] = []
    counts: list[tuple[Any, ...]] = []
    pairs: list[tuple[Any, ...]] = []
    for index, code in enumerate(layout.agencies):
        mine = drawn.agency == index
        day, values, comment = drawn.day[mine], drawn.values[mine], drawn.comment[mine]
        # Ids are chronological, so one agency's responses are already sorted by day.
        days, starts, sizes = np.unique(day, return_index=True, return_counts=True)
        commented: list[int] = (
            np.add.reduceat(comment.astype(np.int64), starts).tolist() if len(days) else []
        )
        totals += [
            (code, QUESTIONNAIRE, iso[d], int(n), int(c))
            for d, n, c in zip(days.tolist(), sizes.tolist(), commented, strict=True)
        ]
        keys = (day[:, None] * width + np.arange(width)) * VALUES + values
        table = np.bincount(keys.ravel(), minlength=layout.days * width * VALUES)
        table = table.reshape(layout.days, width, VALUES)
        d, c, v = np.nonzero(table)
        counts += [
            (code, QUESTIONNAIRE, iso[dd], criteria[cc], vv, nn)
            for dd, cc, vv, nn in zip(
                d.tolist(), c.tolist(), v.tolist(), table[d, c, v].tolist(), strict=True
            )
        ]
        satisfied = (values >= 4).astype(np.int64)
        valid = (values >= 1).astype(np.int64)
        moments = np.zeros((len(days), 4, width, width), dtype=np.int64)
        for k, (start, size) in enumerate(zip(starts.tolist(), sizes.tolist(), strict=True)):
            s, v_ = satisfied[start : start + size], valid[start : start + size]
            moments[k] = (s.T @ s, s.T @ v_, v_.T @ s, v_.T @ v_)
        # A pair both sides of which were never valid together that day has no row.
        which, rows, cols = np.nonzero(upper & (moments[:, 3] > 0))
        chosen = moments[which, :, rows, cols].tolist()
        pairs += [
            (code, QUESTIONNAIRE, iso[days[kk]], criteria[ii], criteria[jj], *m)
            for kk, ii, jj, m in zip(
                which.tolist(), rows.tolist(), cols.tolist(), chosen, strict=True
            )
        ]
    return totals, counts, pairs


def _fill(path: Path, layout: Layout, responses: int, seed: int) -> None:
    questionnaire = load_catalogue()[QUESTIONNAIRE]
    criteria = list(questionnaire.criterion_ids)
    position = len(steps(questionnaire))
    drawn = _draw(layout, responses, criteria, seed)
    totals, counts, pairs = _aggregate_rows(drawn, layout, criteria)
    iso = layout.iso()
    clock = [f"T{(450 + m) // 60:02d}:{(450 + m) % 60:02d}:00+07:00" for m in range(600)]
    count = len(drawn.day)
    ids = range(1, count + 1)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        # Bench data can be rebuilt at will: no journal, no fsync, a big cache for the indexes.
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-400000")
        connection.execute("PRAGMA temp_store=MEMORY")
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO agencies (code, name, questionnaire) VALUES (?, ?, ?)",
            [
                (code, f"UBND xã {code.rsplit('_', 1)[-1]}", QUESTIONNAIRE)
                for code in layout.agencies
            ],
        )
        stamps = [
            iso[d] + clock[m]
            for d, m in zip(drawn.day.tolist(), drawn.minute.tolist(), strict=True)
        ]
        agencies = [layout.agencies[a] for a in drawn.agency.tolist()]
        connection.executemany(
            "INSERT INTO responses (id, respondent, agency, questionnaire, channel, status, "
            "position, started_at, updated_at, completed_at, day) "
            f"VALUES (?, NULL, ?, '{QUESTIONNAIRE}', '{CHANNEL}', 'completed', {position}, "
            "?, ?, ?, ?)",
            ((i, a, s, s, s, s[:10]) for i, a, s in zip(ids, agencies, stamps, strict=True)),
        )
        # One text of digits per response, spread into 19 answer rows by SQLite itself: the
        # cross join emits them in primary-key order, so the B-tree is only appended to.
        connection.execute("CREATE TEMP TABLE drawn (id INTEGER PRIMARY KEY, answers TEXT)")
        connection.execute(
            "CREATE TEMP TABLE criteria (criterion TEXT PRIMARY KEY, at INTEGER) WITHOUT ROWID"
        )
        connection.executemany(
            "INSERT INTO temp.criteria VALUES (?, ?)",
            [(c, i + 1) for i, c in enumerate(criteria)],
        )
        digits = (drawn.values + ord("0")).view(f"S{len(criteria)}").ravel().astype(str)
        connection.executemany(
            "INSERT INTO temp.drawn VALUES (?, ?)", zip(ids, digits.tolist(), strict=True)
        )
        connection.execute(
            "INSERT INTO answers (response_id, criterion, value) "
            "SELECT d.id, c.criterion, CAST(substr(d.answers, c.at, 1) AS INTEGER) "
            "FROM temp.drawn AS d CROSS JOIN temp.criteria AS c"
        )
        connection.execute("DROP TABLE temp.drawn")
        connection.executemany(
            "INSERT INTO extras (response_id, field, value) VALUES (?, 'comment', ?)",
            ((int(i) + 1, COMMENT) for i in np.nonzero(drawn.comment)[0]),
        )
        connection.executemany(
            "INSERT INTO daily_responses (agency, questionnaire, day, responses, comments) "
            "VALUES (?, ?, ?, ?, ?)",
            totals,
        )
        connection.executemany(
            "INSERT INTO daily_counts (agency, questionnaire, day, criterion, value, count) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            counts,
        )
        connection.executemany(
            "INSERT INTO daily_pairs (agency, questionnaire, day, c1, c2, ss, sv, vs, vv) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            pairs,
        )
        for statement in ROLLUP_STATEMENTS:
            connection.execute(statement)
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode=WAL")  # what the bot sets; persistent
    finally:
        connection.close()


async def build(path: Path, layout: Layout, responses: int, seed: int) -> float:
    """Create the schema (the real migrations), then fill it; returns the seconds taken."""
    start = perf_counter()
    database = await Database.open(path)
    try:
        await migrate(database)
    finally:
        await database.close()
    await asyncio.to_thread(_fill, path, layout, responses, seed)
    return perf_counter() - start


async def cached(label: str, layout: Layout, responses: int, seed: int = 2026) -> Built:
    """The database for `label` from bench/.data, built first if missing (or stale)."""
    shape = f"{len(layout.agencies)}x{layout.first_day}+{layout.days}"
    key = f"{label}-{shape}-m{len(MIGRATIONS)}-v{VERSION}"
    path = DATA / f"{key}.sqlite"
    info = DATA / f"{key}.json"
    if path.exists() and info.exists():
        seconds = float(json.loads(info.read_text(encoding="utf-8"))["seconds"])
        return Built(path, responses, seconds, cached=True)
    DATA.mkdir(parents=True, exist_ok=True)
    # Builds of this label under an older key (schema or builder changed) are dead weight.
    for stale in DATA.glob(f"{label}-*"):
        stale.unlink()
    partial = path.with_suffix(".partial")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    seconds = await build(partial, layout, responses, seed)
    partial.rename(path)  # only a complete build is ever found under the cache name
    info.write_text(json.dumps({"seconds": seconds, "responses": responses}), encoding="utf-8")
    return Built(path, responses, seconds, cached=False)


def _tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall())
            for table in AGGREGATES
        }


async def verify() -> int:
    """Build a small database and check its aggregates equal `add_to_aggregates`'s own.

    Returns the number of aggregate rows compared. Raises BenchError on any difference.
    """
    layout = Layout(("agency_a", "agency_b", "agency_c"), date(2025, 3, 1), 45)
    with tempfile.TemporaryDirectory(prefix="sipas-bench-") as name:
        path = Path(name) / "verify.sqlite"
        await build(path, layout, 3000, seed=7)
        numpy_rows = await asyncio.to_thread(_tables, path)
        database = await Database.open(path)
        try:
            async with database.transaction() as connection:
                for table in AGGREGATES:
                    await connection.execute(f"DELETE FROM {table}")
                ids = [row[0] for row in await database.fetch_all("SELECT id FROM responses")]
                await add_to_aggregates(connection, ids, +1)
        finally:
            await database.close()
        storage_rows = await asyncio.to_thread(_tables, path)
    for table in AGGREGATES:
        if numpy_rows[table] and not storage_rows[table]:
            raise BenchError(
                f"add_to_aggregates left {table} empty: wire add_to_monthly into add_to_aggregates"
            )
        if numpy_rows[table] != storage_rows[table]:
            extra = set(numpy_rows[table]) ^ set(storage_rows[table])
            raise BenchError(
                f"bulk builder's {table} differs from add_to_aggregates: {sorted(extra)[:5]}"
            )
    return sum(len(rows) for rows in numpy_rows.values())
