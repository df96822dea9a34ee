"""Index queries as data grows: `/score` and the all-agency report at 10k, 100k and 1M responses.

`/score` is `Scores.scorecard` for one agency and one quarter, the report `Scores.ranking` over
a quarter. The baseline, in the same run on the same database, computes the same counts the
plain way: GROUP BY over the raw answers joined to responses. Timings are warm (the database
was read once before), as on a bot that has been serving for a while.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from time import perf_counter
from typing import Any

from bench import bulk
from bench.common import QUESTIONNAIRE, Figure, agency_codes, figure, median
from bot.questionnaires import load_catalogue
from handlers.scores import Scores
from storage.database import Database
from storage.tallies import TallyStore
from survey.agencies import Agencies, Agency
from survey.period import Period

log = logging.getLogger(__name__)

# 12 agencies × 8 quarters: one agency's quarter holds about 1/100 of the data at every size.
LAYOUT = bulk.Layout(tuple(agency_codes(12)), date(2024, 1, 1), 731)
QUARTER = Period(date(2025, 4, 1), date(2025, 6, 30))
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
AGENCY = LAYOUT.agencies[0]

SCORE_BASELINE = (
    "SELECT a.criterion, a.value, COUNT(*) FROM responses AS r "
    "JOIN answers AS a ON a.response_id = r.id "
    "WHERE r.agency = ? AND r.questionnaire = ? AND r.status = 'completed' "
    "AND r.day BETWEEN ? AND ? GROUP BY a.criterion, a.value"
)
REPORT_BASELINE = (
    "SELECT r.agency, a.criterion, a.value, COUNT(*) FROM responses AS r "
    "JOIN answers AS a ON a.response_id = r.id "
    "WHERE r.agency IN (SELECT code FROM agencies) AND r.questionnaire = ? "
    "AND r.status = 'completed' AND r.day BETWEEN ? AND ? "
    "GROUP BY r.agency, a.criterion, a.value"
)


@dataclass
class Timings:
    score: float
    score_baseline: float
    report: float
    report_baseline: float


async def _ms(call: Callable[[], Awaitable[Any]]) -> float:
    start = perf_counter()
    await call()
    return (perf_counter() - start) * 1000


def scores_for(database: Database) -> Scores:
    return Scores(
        TallyStore(database),
        load_catalogue(),
        Agencies(Agency(code, code, QUESTIONNAIRE) for code in LAYOUT.agencies),
        default_questionnaire=QUESTIONNAIRE,
        min_responses=10,
        weights={},
    )


async def time_queries(database: Database, runs: int) -> Timings:
    scores = scores_for(database)
    days = (QUARTER.start.isoformat(), QUARTER.end.isoformat())
    queries: dict[str, Callable[[], Awaitable[Any]]] = {
        "score": lambda: scores.scorecard(AGENCY, QUARTER),
        "score_baseline": lambda: database.fetch_all(
            SCORE_BASELINE, (AGENCY, QUESTIONNAIRE, *days)
        ),
        "report": lambda: scores.ranking(QUARTER),
        "report_baseline": lambda: database.fetch_all(REPORT_BASELINE, (QUESTIONNAIRE, *days)),
    }
    for call in queries.values():
        await call()  # warm the page cache and SQLite's statement cache
    samples: dict[str, list[float]] = {name: [] for name in queries}
    for _ in range(runs):
        # Interleaved, so a disturbance on the machine hits the figure and its baseline alike.
        for name, call in queries.items():
            samples[name].append(await _ms(call))
    return Timings(**{name: median(values) for name, values in samples.items()})


async def run(quick: bool) -> list[Figure]:
    runs = 5 if quick else 9
    sizes = {k: v for k, v in SIZES.items() if not (quick and k == "1m")}
    checked = await bulk.verify()
    print(f"  bulk builder: aggregates equal add_to_aggregates ({checked} rows compared)")
    out: list[Figure] = []
    found: dict[str, Timings] = {}
    for label, responses in sizes.items():
        built = await bulk.cached(f"responses-{label}", LAYOUT, responses)
        note = "cached" if built.cached else "built now"
        print(f"  {label}: {built.path.name} ({note}, build {built.seconds:.1f} s)")
        out.append(figure(f"queries.build@{label}", built.seconds, "s", runs=1))
        database = await Database.open(built.path)
        try:
            timings = found[label] = await time_queries(database, runs)
        finally:
            await database.close()
        out += [
            figure(
                f"queries.score@{label}",
                timings.score,
                "ms",
                runs=runs,
                baseline=("GROUP BY raw answers, one agency-quarter (ms)", timings.score_baseline),
                target="<= 50" if label == "1m" else None,
            ),
            figure(
                f"queries.report@{label}",
                timings.report,
                "ms",
                runs=runs,
                baseline=(
                    "GROUP BY raw answers, all agencies, quarter (ms)",
                    timings.report_baseline,
                ),
            ),
        ]
    smallest, largest = next(iter(found)), list(found)[-1]
    for query in ("score", "report"):
        out.append(
            figure(
                f"queries.{query}.growth_{largest}_vs_{smallest}",
                getattr(found[largest], query),
                "ms",
                runs=runs,
                baseline=(f"{query} at {smallest} (ms)", getattr(found[smallest], query)),
                target="ratio <= 1.5",
            )
        )
    return out
