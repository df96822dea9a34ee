"""The SIPAS index computed from `Tallies`: criterion, element and overall values with 95% CIs.

Method (product spec §4; reference sipas-method §3):

- criterion index = 100 × (answers 4-5) / (valid answers); "not applicable" is left out;
- element index = mean of its criteria's indices, over criteria with at least one valid answer;
- SIPAS = weighted mean of the element indices (default equal weights), renormalised over the
  elements that have a value.

Intervals. A criterion gets the Wilson score interval: a single proportion, and Wilson behaves
well near 0% and 100% and at small n where the Wald interval does not. An element or the SIPAS
is a linear combination ``θ = Σ_c w_c·p_c`` of ratio estimators ``p_c = S_c / N_c``, and every
respondent answers many criteria, so the terms are correlated (one citizen's good or bad day
moves all of them). Its variance is the respondent-clustered linearisation (sandwich) variance:
respondent i's influence is ``z_i = Σ_c w_c·(s_ic − p_c·v_ic) / N_c`` and
``Var = n/(n−1)·Σ_i z_i²``. Expanding the square gives

    Σ_i z_i² = Σ_c Σ_c' w_c·w_c' / (N_c·N_c') · [ss − p_c'·sv − p_c·vs + p_c·p_c'·vv]

where ss, sv, vs, vv are the pair moments kept in `Tallies` (diagonal terms from the counts).
We use this rather than a bootstrap over respondents because it is exact for the estimator
(no Monte Carlo noise, so the same data always give the same interval, with no seed to manage),
it respects the within-respondent correlation just as a cluster bootstrap would, and it costs
O(criteria²) arithmetic on aggregates: a query never loads raw answers and its cost does not
grow with the number of responses. Interval = estimate ± 1.96·se, clipped to [0, 100].

Known limit: if every valid answer in the data is satisfied (or none is), the linearised se is 0
and the element/SIPAS interval collapses to the point; the criteria's Wilson intervals still
show the uncertainty. With fewer than two respondents no variance can be estimated: the se is
infinite and the interval is [0, 100].

Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from survey.models import element_of
from survey.tally import Tallies

Z95 = 1.96
_TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Estimate:
    """One figure: a percentage 0-100 with its n, 95% interval and standard error."""

    value: float
    n: int
    low: float
    high: float
    se: float


@dataclass(frozen=True)
class IndexResult:
    """The index of one agency-period; suppressed results carry no numbers at all."""

    responses: int
    suppressed: bool
    sipas: Estimate | None
    elements: Mapping[str, Estimate]
    criteria: Mapping[str, Estimate]


@dataclass(frozen=True)
class Change:
    """The change of SIPAS between two periods; significant at the 5% level (normal test)."""

    delta: float
    se: float
    significant: bool


@dataclass(frozen=True)
class Ranked:
    """One row of a ranking; rank 0 means "not ranked" (suppressed or no value)."""

    rank: int
    key: str
    result: IndexResult


def _clip(value: float) -> float:
    return min(100.0, max(0.0, value))


def _wilson(satisfied: int, valid: int) -> Estimate:
    p = satisfied / valid
    z2 = Z95 * Z95
    denominator = 1 + z2 / valid
    centre = (p + z2 / (2 * valid)) / denominator
    half = Z95 / denominator * math.sqrt(p * (1 - p) / valid + z2 / (4 * valid * valid))
    value = 100 * p
    # The Wilson interval always contains p̂; min/max only absorbs rounding at p̂ = 0 or 1.
    return Estimate(
        value=value,
        n=valid,
        low=min(value, _clip(100 * (centre - half))),
        high=max(value, _clip(100 * (centre + half))),
        se=100 * math.sqrt(p * (1 - p) / valid),
    )


def _linear(tallies: Tallies, weights: Mapping[str, float], n: int) -> Estimate:
    """Σ w_c·p_c with its respondent-clustered se; ``weights`` sum to 1, every N_c > 0."""
    criteria = list(weights)
    valid = {c: tallies.valid(c) for c in criteria}
    p = {c: tallies.satisfied(c) / valid[c] for c in criteria}
    value = _clip(100 * sum(weights[c] * p[c] for c in criteria))
    responses = tallies.responses
    if responses < 2:
        return Estimate(value=value, n=n, low=0.0, high=100.0, se=math.inf)
    total = 0.0
    for i, c in enumerate(criteria):
        for d in criteria[i:]:
            m = tallies.moments(c, d)
            term = (
                weights[c]
                * weights[d]
                / (valid[c] * valid[d])
                * (m.ss - p[d] * m.sv - p[c] * m.vs + p[c] * p[d] * m.vv)
            )
            # The double sum is symmetric: each off-diagonal pair stands for two terms.
            total += term if c == d else 2 * term
    # Cancellation can leave a tiny negative where the true sum is 0.
    se = 100 * math.sqrt(max(0.0, responses / (responses - 1) * total))
    return Estimate(
        value=value,
        n=n,
        low=_clip(value - Z95 * se),
        high=_clip(value + Z95 * se),
        se=se,
    )


def _element_weights(
    elements: Sequence[str], weights: Mapping[str, float] | None
) -> dict[str, float]:
    if weights is None:
        return dict.fromkeys(elements, 1.0)
    missing = [element for element in elements if element not in weights]
    if missing:
        raise ValueError(f"no weight for element(s) {', '.join(missing)}")
    for element, weight in weights.items():
        # The config's rule too: a zero weight would silently drop an element from the SIPAS.
        if not (math.isfinite(weight) and weight > 0):
            raise ValueError(f"weight of {element!r} must be a finite number > 0, got {weight}")
    return {element: float(weights[element]) for element in elements}


def compute_index(
    tallies: Tallies,
    criteria_order: Sequence[str],
    *,
    min_responses: int,
    weights: Mapping[str, float] | None = None,
) -> IndexResult:
    """The index of the responses in ``tallies`` over the criteria of one questionnaire.

    Criteria without a valid answer are left out of ``criteria`` and of their element's mean;
    an element with no such criterion is left out of ``elements`` and of the SIPAS, whose
    weights are renormalised over the remaining elements. Weights may name elements the
    questionnaire lacks; every element it has needs a weight.
    """
    if len(set(criteria_order)) != len(criteria_order):
        raise ValueError("criteria_order lists a criterion twice")
    groups: dict[str, list[str]] = {}
    for criterion in criteria_order:
        groups.setdefault(element_of(criterion), []).append(criterion)
    element_weights = _element_weights(list(groups), weights)
    if tallies.responses < min_responses:
        return IndexResult(
            tallies.responses, suppressed=True, sipas=None, elements={}, criteria={}
        )

    criteria = {
        c: _wilson(tallies.satisfied(c), tallies.valid(c))
        for c in criteria_order
        if tallies.valid(c) > 0
    }
    elements: dict[str, Estimate] = {}
    members: dict[str, list[str]] = {}
    for element, group in groups.items():
        answered = [c for c in group if c in criteria]
        if answered:
            members[element] = answered
            share = 1 / len(answered)
            elements[element] = _linear(
                tallies,
                dict.fromkeys(answered, share),
                n=max(criteria[c].n for c in answered),
            )

    total_weight = sum(element_weights[element] for element in members)
    sipas = None
    if total_weight > 0:
        combined = {
            c: element_weights[element] / total_weight / len(answered)
            for element, answered in members.items()
            for c in answered
        }
        sipas = _linear(tallies, combined, n=tallies.responses)
    return IndexResult(
        responses=tallies.responses,
        suppressed=False,
        sipas=sipas,
        elements=elements,
        criteria=criteria,
    )


def compare(current: IndexResult, previous: IndexResult) -> Change | None:
    """The SIPAS change from ``previous`` to ``current``; None when either has no SIPAS."""
    if current.suppressed or previous.suppressed:
        return None
    if current.sipas is None or previous.sipas is None:
        return None
    delta = current.sipas.value - previous.sipas.value
    # The periods are disjoint sets of responses, so the two estimates are independent.
    se = math.hypot(current.sipas.se, previous.sipas.se)
    return Change(delta=delta, se=se, significant=abs(delta) > Z95 * se)


def _sipas_value(result: IndexResult) -> float | None:
    if result.suppressed or result.sipas is None:
        return None
    return result.sipas.value


def rank(results: Mapping[str, IndexResult]) -> list[Ranked]:
    """Results by SIPAS, highest first, ties sharing a rank (1, 2, 2, 4); unranked last, rank 0.

    Ties are values equal up to float rounding, so the same data summed in a different order
    still tie; among ties and among the unranked, keys are in alphabetical order.
    """
    scored: list[tuple[float, str]] = []
    unranked: list[str] = []
    for key, result in results.items():
        value = _sipas_value(result)
        if value is None:
            unranked.append(key)
        else:
            scored.append((value, key))
    scored.sort(key=lambda item: (-item[0], item[1]))
    ranking: list[Ranked] = []
    previous: float | None = None
    current_rank = 0
    for position, (value, key) in enumerate(scored, start=1):
        if previous is None or not math.isclose(value, previous, abs_tol=_TIE_TOLERANCE):
            current_rank = position
            previous = value
        ranking.append(Ranked(rank=current_rank, key=key, result=results[key]))
    ranking.extend(Ranked(rank=0, key=key, result=results[key]) for key in sorted(unranked))
    return ranking


def weakest_criteria(result: IndexResult, count: int = 3) -> list[tuple[str, Estimate]]:
    """The ``count`` lowest criteria, weakest first; ties keep questionnaire order."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    return sorted(result.criteria.items(), key=lambda item: item[1].value)[:count]
