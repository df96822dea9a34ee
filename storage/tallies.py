"""Index queries: sums of the per-day aggregate tables over a period, as `Tallies`.

Every query adds up daily rows in SQL (GROUP BY criterion/value or pair), so Python receives at
most criteria × 6 count rows and criteria² pair rows per group, however many responses there
are. Each query searches the primary keys ``(agency, questionnaire, day, …)``: an explicit agency
list is an IN on the leading column, and "all agencies" is ``agency IN (SELECT code FROM
agencies)``, which keeps the same key search without another index. That covers every agency
with data, because a daily row comes from a response and responses reference ``agencies``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from storage.database import Database
from survey.period import Period
from survey.tally import EMPTY, PairMoments, Tallies

_ONE_BUCKET = 0
_ALL_IN_ONE = str(_ONE_BUCKET)  # the group expression that puts every row in one group


@dataclass
class _Sums:
    """Running sums for one group while the rows of the three queries come in."""

    responses: int = 0
    comments: int = 0
    counts: dict[str, dict[int, int]] = field(default_factory=dict)
    pairs: dict[tuple[str, str], PairMoments] = field(default_factory=dict)

    def tallies(self) -> Tallies:
        return Tallies(responses=self.responses, counts=self.counts, pairs=self.pairs)


@dataclass(frozen=True)
class _Query:
    """The shared WHERE clause and the expression that names each row's group."""

    where: str
    params: tuple[Any, ...]
    group: str
    group_params: tuple[Any, ...]


class TallyStore:
    """Reads the tallies and comment counts of completed responses for any period and scope."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def tallies(
        self, questionnaire: str, period: Period, agencies: Sequence[str] | None = None
    ) -> Tallies:
        """The responses to ``questionnaire`` completed in ``period`` (inclusive), pooled."""
        groups = await self._sums(self._query(questionnaire, period, agencies, _ALL_IN_ONE))
        return groups[_ONE_BUCKET].tallies() if _ONE_BUCKET in groups else EMPTY

    async def comments(
        self, questionnaire: str, period: Period, agencies: Sequence[str] | None = None
    ) -> int:
        """How many of those responses carry a free-text comment."""
        query = self._query(questionnaire, period, agencies, _ALL_IN_ONE)
        value = await self._db.fetch_value(
            f"SELECT SUM(comments) FROM daily_responses WHERE {query.where}", query.params
        )
        return int(value or 0)

    async def weekly(
        self, questionnaire: str, weeks: Sequence[Period], agencies: Sequence[str] | None = None
    ) -> list[Tallies]:
        """One `Tallies` per period in ``weeks`` (any disjoint periods), in the same order.

        One pass over the days from the first start to the last end: each daily row is put in
        its period by a CASE expression, so eight weeks cost three queries, not twenty-four.
        """
        if not weeks:
            return []
        ordered = sorted(weeks)
        for earlier, later in pairwise(ordered):
            if later.start <= earlier.end:
                raise ValueError(f"periods {earlier} and {later} overlap")
        cases = " ".join(f"WHEN day BETWEEN ? AND ? THEN {i}" for i in range(len(weeks)))
        bounds = tuple(day for week in weeks for day in _days(week))
        span = Period(ordered[0].start, ordered[-1].end)
        query = self._query(questionnaire, span, agencies, f"CASE {cases} END", *bounds)
        groups = await self._sums(query)
        return [groups[i].tallies() if i in groups else EMPTY for i in range(len(weeks))]

    async def per_agency(
        self, questionnaire: str, period: Period, agencies: Sequence[str] | None = None
    ) -> dict[str, Tallies]:
        """The tallies of each agency with responses to ``questionnaire`` in ``period``."""
        groups = await self._sums(self._query(questionnaire, period, agencies, "agency"))
        return {str(agency): sums.tallies() for agency, sums in groups.items()}

    def _query(
        self,
        questionnaire: str,
        period: Period,
        agencies: Sequence[str] | None,
        group: str,
        *group_params: Any,
    ) -> _Query:
        codes: tuple[str, ...] = ()
        if agencies is None:
            scope = "(SELECT code FROM agencies)"
        else:
            codes = tuple(sorted(set(agencies)))
            # SQLite accepts an empty IN list (it matches nothing), so no special case is needed.
            scope = f"({', '.join('?' * len(codes))})"
        return _Query(
            where=f"questionnaire = ? AND day BETWEEN ? AND ? AND agency IN {scope}",
            params=(questionnaire, *_days(period), *codes),
            group=group,
            group_params=tuple(group_params),
        )

    async def _sums(self, query: _Query) -> dict[Hashable, _Sums]:
        """Run the three aggregate queries and collect their rows by group."""
        params = (*query.group_params, *query.params)
        groups: dict[Hashable, _Sums] = {}
        # Rows of groups outside every requested period have a NULL group: HAVING drops them.
        for row in await self._db.fetch_all(
            f"SELECT {query.group} AS g, SUM(responses) AS responses, SUM(comments) AS comments "
            f"FROM daily_responses WHERE {query.where} "
            "GROUP BY g HAVING g IS NOT NULL AND SUM(responses) != 0",
            params,
        ):
            sums = groups.setdefault(row["g"], _Sums())
            sums.responses, sums.comments = row["responses"], row["comments"]
        # Forgotten responses leave rows summing to zero: drop them, as `tally` never makes them.
        for row in await self._db.fetch_all(
            f"SELECT {query.group} AS g, criterion, value, SUM(count) AS n "
            f"FROM daily_counts WHERE {query.where} "
            "GROUP BY g, criterion, value HAVING g IS NOT NULL AND n != 0",
            params,
        ):
            counts = groups.setdefault(row["g"], _Sums()).counts
            counts.setdefault(row["criterion"], {})[row["value"]] = row["n"]
        # s ≤ v for every answer, so a pair whose vv sums to 0 has all four moments 0.
        for row in await self._db.fetch_all(
            f"SELECT {query.group} AS g, c1, c2, SUM(ss) AS ss, SUM(sv) AS sv, SUM(vs) AS vs, "
            f"SUM(vv) AS vv FROM daily_pairs WHERE {query.where} "
            "GROUP BY g, c1, c2 HAVING g IS NOT NULL AND SUM(vv) != 0",
            params,
        ):
            moments = PairMoments(row["ss"], row["sv"], row["vs"], row["vv"])
            groups.setdefault(row["g"], _Sums()).pairs[(row["c1"], row["c2"])] = moments
        return groups


def _days(period: Period) -> tuple[str, str]:
    """The period's first and last day as stored: ISO text, which sorts like the dates."""
    return period.start.isoformat(), period.end.isoformat()
