"""The per-day aggregate tables: completed responses added (or taken back) as sufficient
statistics, so that index queries never scan raw answers. Monthly rollups follow in the same
transaction (storage/rollups.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiosqlite

from storage.rollups import add_to_monthly
from survey.tally import tally

NA_CODE = 0  # how "not applicable" is stored in answers.value
_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit

Key = tuple[str, str, str]  # agency, questionnaire, day


@dataclass
class _Completed:
    """What the aggregates need of some completed responses, read in one pass."""

    heads: dict[int, Key] = field(default_factory=dict)
    answers: dict[int, dict[str, int | None]] = field(default_factory=lambda: defaultdict(dict))
    commented: set[int] = field(default_factory=set)


async def add_to_aggregates(
    connection: aiosqlite.Connection, response_ids: Sequence[int], sign: int
) -> None:
    """Add (sign=+1) or remove (sign=-1) completed responses' share of the daily tables.

    Responses are grouped by (agency, questionnaire, day) and tallied once per group, so a
    bulk import writes each aggregate row once instead of once per response.
    """
    completed = await _read_completed(connection, response_ids)
    groups: dict[Key, list[int]] = defaultdict(list)
    for response_id in response_ids:
        groups[completed.heads[response_id]].append(response_id)
    totals, counts, pairs = [], [], []
    for key, members in groups.items():
        part = tally(completed.answers[member] for member in members)
        comments = sum(member in completed.commented for member in members)
        totals.append((*key, sign * part.responses, sign * comments))
        counts += [
            (*key, criterion, value, sign * count)
            for criterion, by_value in part.counts.items()
            for value, count in by_value.items()
        ]
        pairs += [
            (*key, c1, c2, sign * m.ss, sign * m.sv, sign * m.vs, sign * m.vv)
            for (c1, c2), m in part.pairs.items()
        ]
    await _upsert_daily(connection, totals, counts, pairs)
    await add_to_monthly(connection, totals, counts, pairs)


async def _read_completed(
    connection: aiosqlite.Connection, response_ids: Sequence[int]
) -> _Completed:
    found = _Completed()
    for start in range(0, len(response_ids), _CHUNK):
        chunk = list(response_ids[start : start + _CHUNK])
        marks = ", ".join("?" * len(chunk))
        async with connection.execute(
            f"SELECT id, agency, questionnaire, day FROM responses WHERE id IN ({marks})", chunk
        ) as cursor:
            for response_id, agency, questionnaire, day in await cursor.fetchall():
                found.heads[response_id] = (agency, questionnaire, day)
        async with connection.execute(
            f"SELECT response_id, criterion, value FROM answers WHERE response_id IN ({marks})",
            chunk,
        ) as cursor:
            for response_id, criterion, value in await cursor.fetchall():
                found.answers[response_id][criterion] = None if value == NA_CODE else value
        async with connection.execute(
            f"SELECT response_id FROM extras WHERE response_id IN ({marks}) "
            "AND field = 'comment' AND value IS NOT NULL",
            chunk,
        ) as cursor:
            found.commented.update(row[0] for row in await cursor.fetchall())
    return found


async def _upsert_daily(
    connection: aiosqlite.Connection,
    totals: Sequence[tuple[object, ...]],
    counts: Sequence[tuple[object, ...]],
    pairs: Sequence[tuple[object, ...]],
) -> None:
    await connection.executemany(
        "INSERT INTO daily_responses (agency, questionnaire, day, responses, comments) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (agency, questionnaire, day) DO UPDATE SET "
        "responses = daily_responses.responses + excluded.responses, "
        "comments = daily_responses.comments + excluded.comments",
        totals,
    )
    await connection.executemany(
        "INSERT INTO daily_counts (agency, questionnaire, day, criterion, value, count) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (agency, questionnaire, day, criterion, value) "
        "DO UPDATE SET count = daily_counts.count + excluded.count",
        counts,
    )
    await connection.executemany(
        "INSERT INTO daily_pairs (agency, questionnaire, day, c1, c2, ss, sv, vs, vv) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (agency, questionnaire, day, c1, c2) "
        "DO UPDATE SET ss = daily_pairs.ss + excluded.ss, sv = daily_pairs.sv + excluded.sv, "
        "vs = daily_pairs.vs + excluded.vs, vv = daily_pairs.vv + excluded.vv",
        pairs,
    )
