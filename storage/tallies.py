"""Index queries: sums of the aggregate tables over a period, as `Tallies`.

A period is read as its whole calendar months, from the monthly rollups (`storage.rollups`), plus
its edge days, from the daily tables: a UNION ALL of one SELECT per key range, summed by one
GROUP BY in SQL (by criterion/value or pair). So a quarter costs three rows per key instead of
about ninety, and Python receives at most criteria × 6 count rows and criteria² pair rows per
group, however many responses there are. Each SELECT searches its table's primary key
``(agency, questionnaire, month or day, …)``: an explicit agency list is an IN on the leading
column, and "all agencies" is ``agency IN (SELECT code FROM agencies)``, which keeps the same
key search without another index. That covers every agency with data, because an aggregate row
comes from a response and responses reference ``agencies``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

from storage.database import Database
from storage.rollups import month_key, split_period
from survey.period import Period
from survey.tally import EMPTY, PairMoments, Tallies

_ONE_BUCKET = 0
_ALL_IN_ONE = str(_ONE_BUCKET)  # the group expression that puts every row in one group
_NOTHING = ("1", "0")  # lo > hi: a key range that matches no row
# Key ranges closer than this share one SELECT (and a CASE for their groups): days closer than
# a month leave no whole month between them, and a few monthly rows cost less than a SELECT.
_DAY_GAP = 28
_MONTH_GAP = 366
_MAX_BRANCHES = 64  # beyond this (many scattered periods), one SELECT per table kind


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
class _Kind:
    """The monthly or the daily tables: their prefix, key column and key text of a day."""

    prefix: str
    column: str
    gap: int

    def key(self, day: date) -> str:
        return month_key(day) if self.column == "month" else day.isoformat()


_MONTHLY = _Kind("monthly", "month", _MONTH_GAP)
_DAILY = _Kind("daily", "day", _DAY_GAP)


@dataclass(frozen=True)
class _Branch:
    """One SELECT of the UNION ALL: a key range of one table kind, and its rows' group."""

    kind: _Kind
    lo: str
    hi: str
    group: str
    group_params: tuple[Any, ...] = ()


@dataclass(frozen=True)
class _Query:
    """The SELECTs that together read a set of periods, and the scope they share."""

    questionnaire: str
    scope: str
    codes: tuple[str, ...]
    branches: tuple[_Branch, ...]

    def rows(self, table: str, columns: str) -> tuple[str, tuple[Any, ...]]:
        """The UNION ALL over ``table`` ('responses', 'counts', 'pairs') of (g, columns)."""
        selects: list[str] = []
        params: list[Any] = []
        for branch in self.branches:
            selects.append(
                f"SELECT {branch.group} AS g, {columns} FROM {branch.kind.prefix}_{table} "
                f"WHERE questionnaire = ? AND {branch.kind.column} BETWEEN ? AND ? "
                f"AND agency IN {self.scope}"
            )
            params += (*branch.group_params, self.questionnaire, branch.lo, branch.hi, *self.codes)
        return " UNION ALL ".join(selects), tuple(params)


class TallyStore:
    """Reads the tallies and comment counts of completed responses for any period and scope."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def tallies(
        self, questionnaire: str, period: Period, agencies: Sequence[str] | None = None
    ) -> Tallies:
        """The responses to ``questionnaire`` completed in ``period`` (inclusive), pooled."""
        groups = await self._sums(self._query(questionnaire, [period], agencies, _ALL_IN_ONE))
        return groups[_ONE_BUCKET].tallies() if _ONE_BUCKET in groups else EMPTY

    async def comments(
        self, questionnaire: str, period: Period, agencies: Sequence[str] | None = None
    ) -> int:
        """How many of those responses carry a free-text comment."""
        query = self._query(questionnaire, [period], agencies, _ALL_IN_ONE)
        rows, params = query.rows("responses", "comments")
        value = await self._db.fetch_value(f"SELECT SUM(comments) FROM ({rows}) AS u", params)
        return int(value or 0)

    async def per_period(
        self, questionnaire: str, periods: Sequence[Period], agencies: Sequence[str] | None = None
    ) -> list[Tallies]:
        """One `Tallies` per period in ``periods`` (any disjoint periods), in the same order.

        One pass over all the periods: each row is put in its period by a CASE expression, so
        eight weeks cost three queries, not twenty-four.
        """
        if not periods:
            return []
        for earlier, later in pairwise(sorted(periods)):
            if later.start <= earlier.end:
                raise ValueError(f"periods {earlier} and {later} overlap")
        groups = await self._sums(self._query(questionnaire, periods, agencies, None))
        return [groups[i].tallies() if i in groups else EMPTY for i in range(len(periods))]

    async def per_agency(
        self, questionnaire: str, period: Period, agencies: Sequence[str] | None = None
    ) -> dict[str, Tallies]:
        """The tallies of each agency with responses to ``questionnaire`` in ``period``."""
        groups = await self._sums(self._query(questionnaire, [period], agencies, "agency"))
        return {str(agency): sums.tallies() for agency, sums in groups.items()}

    def _query(
        self,
        questionnaire: str,
        periods: Sequence[Period],
        agencies: Sequence[str] | None,
        group: str | None,
    ) -> _Query:
        """The SELECTs reading ``periods`` (disjoint); rows are grouped by ``group``, or with
        None by the position of their period in ``periods``."""
        codes: tuple[str, ...] = ()
        if agencies is None:
            scope = "(SELECT code FROM agencies)"
        else:
            codes = tuple(sorted(set(agencies)))
            # An empty list matches nothing; PostgreSQL has no empty IN list, so it is (NULL).
            scope = f"({', '.join('?' * len(codes)) or 'NULL'})"
        return _Query(questionnaire, scope, codes, _branches(periods, group))

    async def _sums(self, query: _Query) -> dict[Hashable, _Sums]:
        """Run the three aggregate queries and collect their rows by group."""
        groups: dict[Hashable, _Sums] = {}
        # Rows of groups outside every requested period have a NULL group: HAVING drops them.
        rows, params = query.rows("responses", "responses, comments")
        for row in await self._db.fetch_all(
            "SELECT g, SUM(responses) AS responses, SUM(comments) AS comments "
            f"FROM ({rows}) AS u GROUP BY g HAVING g IS NOT NULL AND SUM(responses) != 0",
            params,
        ):
            sums = groups.setdefault(row["g"], _Sums())
            sums.responses, sums.comments = row["responses"], row["comments"]
        # Forgotten responses leave rows summing to zero: drop them, as `tally` never makes them.
        rows, params = query.rows("counts", "criterion, value, count")
        for row in await self._db.fetch_all(
            f"SELECT g, criterion, value, SUM(count) AS n FROM ({rows}) AS u "
            "GROUP BY g, criterion, value HAVING g IS NOT NULL AND SUM(count) != 0",
            params,
        ):
            counts = groups.setdefault(row["g"], _Sums()).counts
            counts.setdefault(row["criterion"], {})[row["value"]] = row["n"]
        # s ≤ v for every answer, so a pair whose vv sums to 0 has all four moments 0.
        rows, params = query.rows("pairs", "c1, c2, ss, sv, vs, vv")
        for row in await self._db.fetch_all(
            "SELECT g, c1, c2, SUM(ss) AS ss, SUM(sv) AS sv, SUM(vs) AS vs, SUM(vv) AS vv "
            f"FROM ({rows}) AS u GROUP BY g, c1, c2 HAVING g IS NOT NULL AND SUM(vv) != 0",
            params,
        ):
            moments = PairMoments(row["ss"], row["sv"], row["vs"], row["vv"])
            groups.setdefault(row["g"], _Sums()).pairs[(row["c1"], row["c2"])] = moments
        return groups


def _branches(periods: Sequence[Period], group: str | None) -> tuple[_Branch, ...]:
    """The SELECTs that read ``periods``: their whole months and their edge days.

    There is always at least one SELECT of each kind (an empty range if need be), so every
    query has the same shape, and the same plan, wherever its period falls.
    """
    months: list[tuple[Period, int]] = []
    days: list[tuple[Period, int]] = []
    for index, period in enumerate(periods):
        split = split_period(period)
        if split.months is not None:
            months.append((split.months, index))
        days += [(edge, index) for edge in split.days]
    branches: list[_Branch] = []
    for kind, pieces in ((_MONTHLY, months), (_DAILY, days)):
        clusters = _clusters(pieces, kind.gap)
        if len(clusters) > _MAX_BRANCHES:
            clusters = _clusters(pieces, None)
        branches += [_branch(kind, cluster, group) for cluster in clusters]
        if not clusters:
            branches.append(_Branch(kind, *_NOTHING, group or "NULL"))
    return tuple(branches)


def _clusters(pieces: list[tuple[Period, int]], gap: int | None) -> list[list[tuple[Period, int]]]:
    """Disjoint key ranges in order, those fewer than ``gap`` days apart (None: all) together."""
    clusters: list[list[tuple[Period, int]]] = []
    for piece in sorted(pieces):
        if clusters and (gap is None or (piece[0].start - clusters[-1][-1][0].end).days <= gap):
            clusters[-1].append(piece)
        else:
            clusters.append([piece])
    return clusters


def _branch(kind: _Kind, cluster: list[tuple[Period, int]], group: str | None) -> _Branch:
    """One SELECT over a cluster's key range; a CASE puts each row in its period's group (and
    leaves the rows between the cluster's periods in the NULL group)."""
    lo, hi = kind.key(cluster[0][0].start), kind.key(cluster[-1][0].end)
    values = [str(index) if group is None else group for _, index in cluster]
    if len(cluster) == 1:
        return _Branch(kind, lo, hi, values[0])
    cases = " ".join(f"WHEN {kind.column} BETWEEN ? AND ? THEN {value}" for value in values)
    bounds = tuple(kind.key(day) for period, _ in cluster for day in (period.start, period.end))
    return _Branch(kind, lo, hi, f"CASE {cases} END", bounds)
