"""Tests for survey.tally and survey.index: hand-computed fixtures, brute force and properties."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.index import (
    Change,
    Estimate,
    IndexResult,
    compare,
    compute_index,
    rank,
    weakest_criteria,
)
from survey.models import element_of
from survey.tally import (
    EMPTY,
    PairMoments,
    Tallies,
    merge,
    response_counts,
    response_pairs,
    tally,
)

Response = Mapping[str, int | None]

# Four respondents, three criteria (None = not applicable):
#   R1: access_1=5  access_2=4     procedures_1=2
#   R2: access_1=4  access_2=NA    procedures_1=5
#   R3: access_1=3  access_2=2     procedures_1=4
#   R4: access_1=1  access_2=5     procedures_1=NA
HAND: list[dict[str, int | None]] = [
    {"access_1": 5, "access_2": 4, "procedures_1": 2},
    {"access_1": 4, "access_2": None, "procedures_1": 5},
    {"access_1": 3, "access_2": 2, "procedures_1": 4},
    {"access_1": 1, "access_2": 5, "procedures_1": None},
]
HAND_ORDER = ("access_1", "access_2", "procedures_1")
CRITERIA = ("access_1", "access_2", "procedures_1", "procedures_2", "results_1")
ANSWERS = st.sampled_from([None, 1, 2, 3, 4, 5])
RESPONSES = st.lists(st.fixed_dictionaries(dict.fromkeys(CRITERIA, ANSWERS)), max_size=25)


def _index(responses: Sequence[Response]) -> IndexResult:
    return compute_index(tally(responses), CRITERIA, min_responses=1)


def _estimate(value: float, se: float = 1.0) -> Estimate:
    return Estimate(value=value, n=100, low=value - 1.96 * se, high=value + 1.96 * se, se=se)


def _result(sipas: float | None, *, se: float = 1.0, suppressed: bool = False) -> IndexResult:
    estimate = None if sipas is None else _estimate(sipas, se)
    return IndexResult(
        responses=100, suppressed=suppressed, sipas=estimate, elements={}, criteria={}
    )


def _brute_force_se(responses: Sequence[Response], weights: Mapping[str, float]) -> float:
    """se in percentage points from each respondent's influence value, the definition itself."""
    n = len(responses)
    valid = {c: sum(r.get(c) is not None for r in responses) for c in weights}
    satisfied = {c: sum((r.get(c) or 0) >= 4 for r in responses) for c in weights}
    p = {c: satisfied[c] / valid[c] for c in weights}
    influences = [
        sum(
            w * (((r.get(c) or 0) >= 4) - p[c] * (r.get(c) is not None)) / valid[c]
            for c, w in weights.items()
        )
        for r in responses
    ]
    return 100 * math.sqrt(n / (n - 1) * sum(z * z for z in influences))


def _weights_used(
    responses: Sequence[Response],
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per-element and SIPAS criterion weights as the method defines them (equal weights)."""
    answered = [c for c in CRITERIA if any(r.get(c) is not None for r in responses)]
    groups: dict[str, list[str]] = {}
    for c in answered:
        groups.setdefault(element_of(c), []).append(c)
    elements = {e: {c: 1 / len(cs) for c in cs} for e, cs in groups.items()}
    sipas = {c: w / len(groups) for ws in elements.values() for c, w in ws.items()}
    return elements, sipas


def test_hand_computed_criteria_use_valid_answers_only() -> None:
    result = compute_index(tally(HAND), HAND_ORDER, min_responses=4)
    # access_1: 4 valid, satisfied R1, R2 → 2/4 = 50 %.
    # access_2: R2 is NA → 3 valid (R1, R3, R4), satisfied R1, R4 → 2/3 = 66.67 %.
    # procedures_1: R4 is NA → 3 valid, satisfied R2, R3 → 2/3 = 66.67 %.
    assert list(result.criteria) == list(HAND_ORDER)
    assert result.criteria["access_1"].value == pytest.approx(50.0)
    assert result.criteria["access_1"].n == 4
    assert result.criteria["access_2"].value == pytest.approx(200 / 3)
    assert result.criteria["access_2"].n == 3
    assert result.criteria["procedures_1"].value == pytest.approx(200 / 3)
    assert result.criteria["procedures_1"].n == 3


def test_hand_computed_wilson_interval() -> None:
    result = compute_index(tally(HAND), HAND_ORDER, min_responses=1)
    # access_1: p = 0.5, N = 4, z² = 3.8416; centre = (0.5 + 3.8416/8) / (1 + 3.8416/4) = 0.5;
    # half = 1.96 / 1.9604 · sqrt(0.25/4 + 3.8416/64) = 0.99980 · 0.350036 = 0.349965.
    estimate = result.criteria["access_1"]
    assert estimate.low == pytest.approx(15.0035, abs=1e-3)
    assert estimate.high == pytest.approx(84.9965, abs=1e-3)
    # Binomial se at p̂: sqrt(0.5 · 0.5 / 4) = 0.25.
    assert estimate.se == pytest.approx(25.0)


def test_hand_computed_elements_and_sipas() -> None:
    result = compute_index(tally(HAND), HAND_ORDER, min_responses=1)
    # access = (50 + 66.667) / 2 = 58.333, n = max(4, 3) = 4; procedures = 66.667, n = 3.
    assert list(result.elements) == ["access", "procedures"]
    assert result.elements["access"].value == pytest.approx(175 / 3)
    assert result.elements["access"].n == 4
    assert result.elements["procedures"].value == pytest.approx(200 / 3)
    assert result.elements["procedures"].n == 3
    # SIPAS = (58.333 + 66.667) / 2 = 62.5, n = 4 responses.
    assert result.sipas is not None
    assert result.sipas.value == pytest.approx(62.5)
    assert result.sipas.n == 4


def test_hand_computed_clustered_se_of_single_criterion_element() -> None:
    result = compute_index(tally(HAND), HAND_ORDER, min_responses=1)
    # procedures: w = 1, p = 2/3, N = 3; z_i = (s_i − p·v_i) / N:
    # R1 = (0 − 2/3)/3 = −2/9, R2 = R3 = (1 − 2/3)/3 = 1/9, R4 (NA) = 0.
    # Σz² = 4/81 + 1/81 + 1/81 = 2/27; Var = 4/3 · 2/27 = 8/81; se = 0.314270.
    estimate = result.elements["procedures"]
    assert estimate.se == pytest.approx(100 * math.sqrt(8 / 81))
    assert estimate.low == pytest.approx(200 / 3 - 1.96 * 100 * math.sqrt(8 / 81))
    assert estimate.high == 100.0  # 66.67 + 61.60 clipped


def test_hand_computed_weights() -> None:
    result = compute_index(
        tally(HAND), HAND_ORDER, min_responses=1, weights={"access": 3, "procedures": 1}
    )
    # (3 · 58.333 + 1 · 66.667) / 4 = (175 + 66.667) / 4 = 60.4167.
    assert result.sipas is not None
    assert result.sipas.value == pytest.approx((175 + 200 / 3) / 4)


def test_weights_are_renormalised_over_elements_with_a_value() -> None:
    responses = [{**r, "results_1": None} for r in HAND]
    order = (*HAND_ORDER, "results_1")
    result = compute_index(
        tally(responses),
        order,
        min_responses=1,
        weights={"access": 1, "procedures": 1, "results": 10, "feedback": 5},
    )
    # results has no valid answer, so its weight 10 drops out: (58.333 + 66.667) / 2.
    assert "results" not in result.elements
    assert "results_1" not in result.criteria
    assert result.sipas is not None
    assert result.sipas.value == pytest.approx(62.5)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"access": 1}, "no weight for element"),
        ({"access": 1, "procedures": -1}, "finite number > 0"),
        ({"access": 1, "procedures": 0}, "finite number > 0"),
        ({"access": 1, "procedures": math.nan}, "finite number > 0"),
    ],
)
def test_bad_weights_are_refused(weights: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compute_index(tally(HAND), HAND_ORDER, min_responses=1, weights=weights)


def test_criterion_without_valid_answers_is_left_out_of_element_mean() -> None:
    responses = [{**r, "access_2": None} for r in HAND]
    result = compute_index(tally(responses), HAND_ORDER, min_responses=1)
    # access_2 has no valid answer: access = access_1 alone = 50, not (50 + 0) / 2.
    assert "access_2" not in result.criteria
    assert result.elements["access"].value == pytest.approx(50.0)
    assert result.elements["access"].n == 4


@pytest.mark.parametrize(("min_responses", "suppressed"), [(5, True), (4, False), (0, False)])
def test_suppression_below_min_responses(min_responses: int, suppressed: bool) -> None:
    result = compute_index(tally(HAND), HAND_ORDER, min_responses=min_responses)
    assert result.responses == 4
    assert result.suppressed is suppressed
    if suppressed:
        assert result.sipas is None
        assert result.elements == {}
        assert result.criteria == {}
    else:
        assert result.sipas is not None


def test_no_responses_at_all_give_no_figures() -> None:
    result = compute_index(EMPTY, HAND_ORDER, min_responses=0)
    assert not result.suppressed
    assert result.sipas is None
    assert result.elements == {}
    assert result.criteria == {}


def test_single_respondent_has_unbounded_interval() -> None:
    result = compute_index(tally(HAND[:1]), HAND_ORDER, min_responses=1)
    assert result.sipas is not None
    assert math.isinf(result.sipas.se)
    assert (result.sipas.low, result.sipas.high) == (0.0, 100.0)


def test_elements_follow_questionnaire_order_not_alphabet() -> None:
    order = ("results_1", "access_1", "results_2")
    responses = [{"results_1": 5, "access_1": 4, "results_2": 1}] * 3
    result = compute_index(tally(responses), order, min_responses=1)
    assert list(result.elements) == ["results", "access"]
    assert list(result.criteria) == list(order)


def test_reference_element_aggregation_equal_weights() -> None:
    # SIPAS 2023 element values (sipas-method §4.1): mean of 83.00, 83.02, 83.12, 83.03, 82.27
    # = 414.44 / 5 = 82.888. One criterion per element, 10 000 answers each.
    satisfied = {
        "access_1": 8300,
        "procedures_1": 8302,
        "civil_servants_1": 8312,
        "results_1": 8303,
        "feedback_1": 8227,
    }
    tallies = Tallies(
        responses=10_000,
        counts={c: {5: s, 2: 10_000 - s} for c, s in satisfied.items()},
        pairs={},
    )
    result = compute_index(tallies, list(satisfied), min_responses=10)
    assert [e.value for e in result.elements.values()] == pytest.approx(
        [83.00, 83.02, 83.12, 83.03, 82.27]
    )
    assert result.sipas is not None
    assert result.sipas.value == pytest.approx(82.888)


def test_clustered_se_matches_hand_rolled_brute_force_on_random_data() -> None:
    generator = random.Random(20261031)
    responses = [
        {c: generator.choice([None, 1, 2, 3, 4, 5, 5, 4]) for c in CRITERIA} for _ in range(60)
    ]
    result = _index(responses)
    element_weights, sipas_weights = _weights_used(responses)
    for element, weights in element_weights.items():
        assert result.elements[element].se == pytest.approx(_brute_force_se(responses, weights))
    assert result.sipas is not None
    assert result.sipas.se == pytest.approx(_brute_force_se(responses, sipas_weights))


@settings(max_examples=150, deadline=None)
@given(RESPONSES.filter(lambda rs: len(rs) >= 2))
def test_clustered_se_equals_respondent_level_computation(responses: list[Response]) -> None:
    result = _index(responses)
    element_weights, sipas_weights = _weights_used(responses)
    for element, weights in element_weights.items():
        expected = _brute_force_se(responses, weights)
        assert result.elements[element].se == pytest.approx(expected, abs=1e-6)
    if sipas_weights:
        assert result.sipas is not None
        assert result.sipas.se == pytest.approx(
            _brute_force_se(responses, sipas_weights), abs=1e-6
        )


@settings(max_examples=150, deadline=None)
@given(RESPONSES)
def test_every_index_is_within_0_100_and_its_interval(responses: list[Response]) -> None:
    result = _index(responses)
    estimates = [*result.criteria.values(), *result.elements.values()]
    if result.sipas is not None:
        estimates.append(result.sipas)
    for estimate in estimates:
        assert 0.0 <= estimate.low <= estimate.value <= estimate.high <= 100.0
        assert estimate.se >= 0.0


@settings(max_examples=100, deadline=None)
@given(RESPONSES, st.randoms(use_true_random=False))
def test_permuting_respondents_changes_nothing(
    responses: list[Response], generator: random.Random
) -> None:
    shuffled = list(responses)
    generator.shuffle(shuffled)
    assert tally(shuffled) == tally(responses)
    assert _index(shuffled) == _index(responses)


@settings(max_examples=150, deadline=None)
@given(RESPONSES, st.sampled_from(CRITERIA), st.sampled_from([4, 5]))
def test_adding_a_satisfied_answer_never_lowers_that_criterion(
    responses: list[Response], criterion: str, answer: int
) -> None:
    before = _index(responses).criteria.get(criterion)
    after = _index([*responses, {criterion: answer}]).criteria[criterion]
    assert before is None or after.value >= before.value


@settings(max_examples=100, deadline=None)
@given(RESPONSES)
def test_tally_equals_sum_of_per_response_rows(responses: list[Response]) -> None:
    counts: dict[str, dict[int, int]] = {}
    pairs: dict[tuple[str, str], PairMoments] = {}
    for response in responses:
        for criterion, value in response_counts(response):
            counts.setdefault(criterion, {})
            counts[criterion][value] = counts[criterion].get(value, 0) + 1
        for c1, c2, moments in response_pairs(response):
            assert c1 < c2
            assert not moments.is_zero
            pairs[(c1, c2)] = pairs.get((c1, c2), PairMoments(0, 0, 0, 0)) + moments
    assert tally(responses) == Tallies(len(responses), counts, pairs)


@settings(max_examples=100, deadline=None)
@given(RESPONSES, st.lists(st.integers(min_value=0, max_value=25), max_size=4))
def test_merge_of_parts_equals_tally_of_all(responses: list[Response], cuts: list[int]) -> None:
    bounds = [0, *sorted(min(cut, len(responses)) for cut in cuts), len(responses)]
    parts = [tally(responses[a:b]) for a, b in pairwise(bounds)]
    assert merge(parts) == tally(responses)
    assert merge([]) == EMPTY


def test_response_pairs_hand_computed() -> None:
    # access_1=5 (s=1, v=1), access_2=2 (s=0, v=1), procedures_1=NA (all pairs with it are 0).
    rows = response_pairs({"procedures_1": None, "access_2": 2, "access_1": 5})
    assert rows == [("access_1", "access_2", PairMoments(ss=0, sv=1, vs=0, vv=1))]


def test_tallies_moments_are_symmetric_and_diagonal_from_counts() -> None:
    tallies = tally(HAND)
    # access_1 ↔ procedures_1, both valid for R1..R3; s(access_1) = R1, R2; s(proc_1) = R2, R3.
    forward = tallies.moments("access_1", "procedures_1")
    assert forward == PairMoments(ss=1, sv=2, vs=2, vv=3)
    assert tallies.moments("procedures_1", "access_1") == forward.swapped()
    assert tallies.moments("access_2", "access_2") == PairMoments(2, 2, 2, 3)


@pytest.mark.parametrize("answer", [0, 6, -1, True, 4.0])
def test_tally_rejects_answers_outside_the_scale(answer: object) -> None:
    with pytest.raises(ValueError, match="must be 1-5 or None"):
        tally([{"access_1": answer}])  # type: ignore[dict-item]


def test_tallies_refuse_unordered_pair_keys() -> None:
    with pytest.raises(ValueError, match="c1 < c2"):
        Tallies(responses=1, counts={}, pairs={("b_1", "a_1"): PairMoments(0, 0, 0, 1)})


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        # delta 5, se = sqrt(1 + 1) = 1.414, 1.96 · 1.414 = 2.77 < 5 → significant.
        (85.0, 80.0, Change(delta=5.0, se=math.sqrt(2), significant=True)),
        # delta −2, |−2| < 2.77 → not significant.
        (78.0, 80.0, Change(delta=-2.0, se=math.sqrt(2), significant=False)),
    ],
)
def test_compare_significance(current: float, previous: float, expected: Change) -> None:
    change = compare(_result(current), _result(previous))
    assert change is not None
    assert change.delta == pytest.approx(expected.delta)
    assert change.se == pytest.approx(expected.se)
    assert change.significant is expected.significant


@pytest.mark.parametrize(
    ("current", "previous"),
    [
        (_result(80.0, suppressed=True), _result(70.0)),
        (_result(80.0), _result(70.0, suppressed=True)),
        (_result(None), _result(70.0)),
        (_result(80.0), _result(None)),
    ],
)
def test_compare_needs_two_sipas_values(current: IndexResult, previous: IndexResult) -> None:
    assert compare(current, previous) is None


def test_rank_orders_by_sipas_with_shared_ranks_and_unranked_last() -> None:
    results = {
        "xa_a": _result(80.0),
        "xa_b": _result(90.0),
        "xa_c": _result(80.0),
        "xa_d": _result(None, suppressed=True),
        "xa_e": _result(70.0),
        "xa_f": _result(None),
        "xa_g": _result(0.1 + 0.2 + 79.7),  # 80 up to float rounding: a tie
    }
    ranking = [(row.rank, row.key) for row in rank(results)]
    assert ranking == [
        (1, "xa_b"),
        (2, "xa_a"),
        (2, "xa_c"),
        (2, "xa_g"),
        (5, "xa_e"),
        (0, "xa_d"),
        (0, "xa_f"),
    ]
    assert rank({}) == []


def test_weakest_criteria_lowest_first_ties_in_questionnaire_order() -> None:
    criteria = {
        "access_1": _estimate(90.0),
        "access_2": _estimate(60.0),
        "procedures_1": _estimate(75.0),
        "results_1": _estimate(60.0),
    }
    result = IndexResult(
        responses=50, suppressed=False, sipas=_estimate(70.0), elements={}, criteria=criteria
    )
    weakest = weakest_criteria(result)
    assert [key for key, _ in weakest] == ["access_2", "results_1", "procedures_1"]
    everything = sorted(criteria.items(), key=lambda item: item[1].value)
    assert weakest_criteria(result, count=10) == everything
    assert weakest_criteria(_result(None, suppressed=True)) == []
