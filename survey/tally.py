"""Sufficient statistics of survey answers: per-criterion value counts and per-pair moments.

Storage keeps these per day so an index query adds up a few aggregate rows instead of scanning
raw answers. For one respondent and criterion c, ``s_c`` is 1 for a satisfied answer (4 or 5)
and ``v_c`` is 1 for any valid answer (1-5); "not applicable" (None, stored as value 0) has
both 0. The pair moments are what the respondent-clustered variance in `survey.index` needs:
they are sums of products of those indicators over respondents, and they add across days.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from survey.models import SATISFIED_VALUES, SCALE_VALUES

NOT_APPLICABLE = 0
"""The stored value of a "not applicable" answer."""

_STORED_VALUES = frozenset((NOT_APPLICABLE, *SCALE_VALUES))


@dataclass(frozen=True)
class PairMoments:
    """Sums over respondents for an ordered pair of criteria ``c1 < c2`` (string order)."""

    ss: int  # Σ s_c1·s_c2
    sv: int  # Σ s_c1·v_c2
    vs: int  # Σ v_c1·s_c2
    vv: int  # Σ v_c1·v_c2

    def __add__(self, other: PairMoments) -> PairMoments:
        return PairMoments(
            self.ss + other.ss, self.sv + other.sv, self.vs + other.vs, self.vv + other.vv
        )

    def swapped(self) -> PairMoments:
        """The same moments seen from ``(c2, c1)``."""
        return PairMoments(self.ss, self.vs, self.sv, self.vv)

    @property
    def is_zero(self) -> bool:
        return self.ss == self.sv == self.vs == self.vv == 0


ZERO_PAIR = PairMoments(0, 0, 0, 0)


@dataclass(frozen=True)
class Tallies:
    """Everything the index needs about a set of completed responses.

    ``counts`` maps criterion → stored value (0 = not applicable, 1-5) → number of answers;
    ``pairs`` holds only keys with ``c1 < c2``. Missing entries mean zero.
    """

    responses: int
    counts: Mapping[str, Mapping[int, int]]
    pairs: Mapping[tuple[str, str], PairMoments]

    def __post_init__(self) -> None:
        if self.responses < 0:
            raise ValueError(f"responses must be >= 0, got {self.responses}")
        for criterion, by_value in self.counts.items():
            for value, count in by_value.items():
                if value not in _STORED_VALUES or count < 0:
                    raise ValueError(f"bad count {criterion!r}[{value!r}] = {count!r}")
        for c1, c2 in self.pairs:
            if not c1 < c2:
                raise ValueError(f"pair keys must be ordered c1 < c2, got {(c1, c2)!r}")

    def valid(self, criterion: str) -> int:
        """N_c: the number of answers 1-5 to a criterion."""
        by_value = self.counts.get(criterion, {})
        return sum(by_value.get(value, 0) for value in SCALE_VALUES)

    def satisfied(self, criterion: str) -> int:
        """S_c: the number of answers 4 or 5 to a criterion."""
        by_value = self.counts.get(criterion, {})
        return sum(by_value.get(value, 0) for value in SATISFIED_VALUES)

    def moments(self, c1: str, c2: str) -> PairMoments:
        """The pair moments for ``(c1, c2)`` in either order, including ``c1 == c2``."""
        if c1 == c2:
            # s·s = s·v = s and v·v = v for 0/1 indicators, so the diagonal comes from counts.
            satisfied = self.satisfied(c1)
            return PairMoments(satisfied, satisfied, satisfied, self.valid(c1))
        if c1 < c2:
            return self.pairs.get((c1, c2), ZERO_PAIR)
        return self.pairs.get((c2, c1), ZERO_PAIR).swapped()


EMPTY = Tallies(responses=0, counts={}, pairs={})


def _stored(criterion: str, answer: int | None) -> int:
    if answer is None:
        return NOT_APPLICABLE
    # bool is an int subclass and 4.0 == 4: neither may pass as an answer unnoticed.
    if type(answer) is not int or answer not in SCALE_VALUES:
        raise ValueError(f"answer to {criterion!r} must be 1-5 or None, got {answer!r}")
    return answer


def response_counts(answers: Mapping[str, int | None]) -> list[tuple[str, int]]:
    """The (criterion, stored value 0-5) count rows one response adds, one per criterion."""
    return [(criterion, _stored(criterion, answer)) for criterion, answer in answers.items()]


def response_pairs(answers: Mapping[str, int | None]) -> list[tuple[str, str, PairMoments]]:
    """The pair-moment rows one response adds; pairs with an NA side are all zero and omitted."""
    stored = response_counts(answers)
    valid = sorted(
        (criterion, value in SATISFIED_VALUES)
        for criterion, value in stored
        if value != NOT_APPLICABLE
    )
    rows: list[tuple[str, str, PairMoments]] = []
    for i, (c1, s1) in enumerate(valid):
        for c2, s2 in valid[i + 1 :]:
            rows.append((c1, c2, PairMoments(int(s1 and s2), int(s1), int(s2), 1)))
    return rows


def tally(responses: Iterable[Mapping[str, int | None]]) -> Tallies:
    """Tallies computed from raw responses: the reference for storage and for import."""
    count = 0
    counts: dict[str, dict[int, int]] = {}
    # Plain int lists in the hot loop: building a PairMoments per response per pair is the
    # dominant cost when simulations tally hundreds of thousands of responses.
    pairs: dict[tuple[str, str], list[int]] = {}
    for answers in responses:
        count += 1
        valid: list[tuple[str, int]] = []
        for criterion, answer in answers.items():
            value = _stored(criterion, answer)
            by_value = counts.setdefault(criterion, {})
            by_value[value] = by_value.get(value, 0) + 1
            if value != NOT_APPLICABLE:
                valid.append((criterion, int(value in SATISFIED_VALUES)))
        valid.sort()
        for i, (c1, s1) in enumerate(valid):
            for c2, s2 in valid[i + 1 :]:
                acc = pairs.get((c1, c2))
                if acc is None:
                    acc = pairs[(c1, c2)] = [0, 0, 0, 0]
                acc[0] += s1 & s2
                acc[1] += s1
                acc[2] += s2
                acc[3] += 1
    return Tallies(
        responses=count,
        counts=counts,
        pairs={key: PairMoments(*acc) for key, acc in pairs.items()},
    )


def merge(parts: Iterable[Tallies]) -> Tallies:
    """The tallies of the union of disjoint sets of responses (e.g. several days)."""
    responses = 0
    counts: dict[str, dict[int, int]] = {}
    pairs: dict[tuple[str, str], PairMoments] = {}
    for part in parts:
        responses += part.responses
        for criterion, by_value in part.counts.items():
            for value, number in by_value.items():
                if number:
                    merged = counts.setdefault(criterion, {})
                    merged[value] = merged.get(value, 0) + number
        for key, moments in part.pairs.items():
            if not moments.is_zero:
                pairs[key] = pairs.get(key, ZERO_PAIR) + moments
    return Tallies(responses=responses, counts=counts, pairs=pairs)
