"""Simulation: the 95% intervals of survey.index cover the true value about 95% of the time."""

from __future__ import annotations

import random
from bisect import bisect
from statistics import NormalDist

import pytest

from survey.index import IndexResult, compute_index
from survey.tally import tally

RESPONDENTS = 200
DRAWS = 1500
SEED = 20261005

# Each respondent has a latent mood m ~ N(0, 1) shared by all criteria, which is what makes
# answers correlated within a respondent (the case a naive independent-criteria variance gets
# wrong). Criterion c's latent score is y = location_c + MOOD·m + e with e ~ N(0, NOISE²),
# cut at THRESHOLDS into 1..5; the answer is "not applicable" with probability na_c,
# independently of y.
MOOD = 0.8
NOISE = 0.6
THRESHOLDS = (-1.6, -0.9, 0.0, 1.0)  # y > 0.0 ⇔ answer 4 or 5
CRITERIA = {  # criterion: (location, NA probability)
    "access_1": (1.0, 0.02),
    "access_2": (0.7, 0.25),
    "procedures_1": (0.9, 0.0),
    "procedures_2": (0.3, 0.10),
    "results_1": (1.2, 0.05),
}
WILSON_CRITERION = "procedures_2"


def _true_criterion_index(location: float) -> float:
    # y ~ N(location, MOOD² + NOISE²) marginally; satisfied ⇔ y > THRESHOLDS[2].
    spread = (MOOD**2 + NOISE**2) ** 0.5
    return 100 * (1 - NormalDist(location, spread).cdf(THRESHOLDS[2]))


def _true_values() -> tuple[float, float]:
    """The true criterion index of WILSON_CRITERION and the true SIPAS (equal weights)."""
    truth = {c: _true_criterion_index(location) for c, (location, _) in CRITERIA.items()}
    elements: dict[str, list[float]] = {}
    for criterion, value in truth.items():
        elements.setdefault(criterion.rsplit("_", 1)[0], []).append(value)
    element_values = [sum(values) / len(values) for values in elements.values()]
    return truth[WILSON_CRITERION], sum(element_values) / len(element_values)


def _draw(generator: random.Random) -> IndexResult:
    gauss, uniform = generator.gauss, generator.random
    plan = [(c, location, na) for c, (location, na) in CRITERIA.items()]
    responses: list[dict[str, int | None]] = []
    for _ in range(RESPONDENTS):
        mood = MOOD * gauss(0.0, 1.0)
        responses.append(
            {
                c: None
                if uniform() < na
                else 1 + bisect(THRESHOLDS, location + mood + gauss(0.0, NOISE))
                for c, location, na in plan
            }
        )
    return compute_index(tally(responses), list(CRITERIA), min_responses=10)


@pytest.fixture(scope="module")
def draws() -> list[IndexResult]:
    generator = random.Random(SEED)
    return [_draw(generator) for _ in range(DRAWS)]


def test_simulated_estimates_centre_on_the_true_values(draws: list[IndexResult]) -> None:
    # Guards the analytic truth below: if it were wrong, coverage failures would mislead.
    criterion_truth, sipas_truth = _true_values()
    criterion_mean = sum(r.criteria[WILSON_CRITERION].value for r in draws) / len(draws)
    sipas_mean = sum(r.sipas.value for r in draws if r.sipas) / len(draws)
    assert criterion_mean == pytest.approx(criterion_truth, abs=0.3)
    assert sipas_mean == pytest.approx(sipas_truth, abs=0.2)


def test_wilson_interval_of_a_criterion_covers_about_95_percent(
    draws: list[IndexResult],
) -> None:
    truth, _ = _true_values()
    covered = sum(
        r.criteria[WILSON_CRITERION].low <= truth <= r.criteria[WILSON_CRITERION].high
        for r in draws
    )
    assert 0.93 <= covered / len(draws) <= 0.97


def test_clustered_sipas_interval_covers_about_95_percent(draws: list[IndexResult]) -> None:
    _, truth = _true_values()
    covered = sum(r.sipas is not None and r.sipas.low <= truth <= r.sipas.high for r in draws)
    assert 0.93 <= covered / len(draws) <= 0.97


def test_clustered_se_matches_the_spread_of_estimates(draws: list[IndexResult]) -> None:
    # The mean reported se should match the empirical standard deviation across draws.
    values = [r.sipas.value for r in draws if r.sipas]
    mean = sum(values) / len(values)
    spread = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    reported = sum(r.sipas.se for r in draws if r.sipas) / len(draws)
    assert reported == pytest.approx(spread, rel=0.08)
