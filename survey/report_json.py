"""The index for programs: `report --json` in the product spec's shape (§6)."""

from __future__ import annotations

from survey.index import Estimate
from survey.scorecard import Scorecard


def _rounded(value: float) -> float:
    return round(value, 2)


def _json_figure(estimate: Estimate | None, suppressed: bool) -> dict[str, object]:
    if estimate is None:
        return {"value": None, "n": None if suppressed else 0, "ci95": None}
    return {
        "value": _rounded(estimate.value),
        "n": estimate.n,
        "ci95": [_rounded(estimate.low), _rounded(estimate.high)],
    }


def report_json(card: Scorecard) -> dict[str, object]:
    """The index in the JSON shape of the product spec (§6), values rounded to 2 decimals.

    Every element and criterion of the questionnaire is listed, so consumers always see the
    same keys, each as ``{"value", "n", "ci95"}``. A group's card (`Scorecard.group`) adds
    ``"group": "<id>"`` next to ``"agency": null``. A figure without a valid answer has
    ``value`` and ``ci95`` null and ``n`` 0. A suppressed result has ``sipas``, ``ci95`` and
    every ``value``, ``n`` and ``ci95`` null: suppression means no figure is computed or shown,
    and ``responses`` still tells how many there were.
    """
    result = card.result
    sipas = None if result.suppressed else result.sipas
    # A group's report adds "group" after "agency" (null) and keeps every other key as it is.
    named: dict[str, object] = {"agency": card.agency}
    if card.group is not None:
        named["group"] = card.group
    return {
        **named,
        "from": card.period.start.isoformat(),
        "to": card.period.end.isoformat(),
        "questionnaire": card.questionnaire.id,
        "responses": result.responses,
        "suppressed": result.suppressed,
        "sipas": None if sipas is None else _rounded(sipas.value),
        "ci95": None if sipas is None else [_rounded(sipas.low), _rounded(sipas.high)],
        "elements": {
            element.id: _json_figure(result.elements.get(element.id), result.suppressed)
            for element in card.questionnaire.elements
        },
        "criteria": {
            criterion_id: _json_figure(result.criteria.get(criterion_id), result.suppressed)
            for criterion_id in card.questionnaire.criterion_ids
        },
    }
