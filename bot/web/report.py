"""The HTML report: the figures of `report --json` (same code, same rounding) laid out to print."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from bot.web.charts import bars, buckets, line
from bot.web.pages import render
from handlers.scores import Scores
from survey.index import IndexResult, Ranked
from survey.models import Language
from survey.numbers import format_date
from survey.period import Period
from survey.report_json import report_json
from survey.scorecard import Scorecard


@dataclass(frozen=True)
class Figure:
    """One row of a table: a label and the JSON figure (value None: none shown)."""

    label: str
    value: float | None
    n: int | None
    low: float | None
    high: float | None
    detail: str = ""


@dataclass(frozen=True)
class ReportView:
    """Everything a report page shows, gathered once."""

    card: Scorecard
    figures: dict[str, Any]
    unit: str
    trend: list[tuple[Period, IndexResult]]
    ranking: list[tuple[str, Ranked]]


async def gather(
    scores: Scores,
    agency: str | None,
    period: Period,
    scope: Sequence[str] | None,
    *,
    trend: bool = True,
    ranking: bool = True,
) -> ReportView:
    """The scorecard (as `report --json` makes it), its trend and the ranking in `scope`.

    Raises:
        UnknownAgency: `agency` is not configured or not in `scope`.
    """
    card = await scores.scorecard(agency, period, scope)
    unit, periods = buckets(period)
    found = await scores.trend(card, periods, scope) if trend else []
    rows = await scores.ranking(period, scope) if ranking else []
    return ReportView(card, report_json(card), unit, list(zip(periods, found, strict=False)), rows)


def _figure(label: str, json_figure: dict[str, Any], detail: str = "") -> Figure:
    ci = json_figure["ci95"]
    return Figure(
        label,
        json_figure["value"],
        json_figure["n"],
        None if ci is None else ci[0],
        None if ci is None else ci[1],
        detail,
    )


def _sipas(result: IndexResult) -> float | None:
    if result.suppressed or result.sipas is None:
        return None
    return round(result.sipas.value, 2)  # report_json's rounding


def report_html(
    environment: jinja2.Environment,
    view: ReportView,
    language: Language,
    *,
    title: str,
    public: bool = False,
) -> str:
    """One self-contained page: inline CSS and SVG, no script, nothing fetched."""
    card, figures = view.card, view.figures
    questionnaire = card.questionnaire
    elements = [
        _figure(element.title.in_(language), figures["elements"][element.id])
        for element in questionnaire.elements
    ]
    criteria = [
        _figure(str(number), figures["criteria"][criterion.id], criterion.text.in_(language))
        for number, criterion in enumerate(questionnaire.criteria, start=1)
    ]
    trend = [
        (
            format_date(period.start, language),
            _sipas(result),
            result.responses,
        )
        for period, result in view.trend
    ]
    ranking = [
        (ranked.rank, name, _sipas(ranked.result), ranked.result.responses)
        for name, ranked in view.ranking
    ]
    return render(
        environment,
        "report.html",
        language=language,
        title=title,
        public=public,
        period=card.period,
        figures=figures,
        min_responses=card.min_responses,
        elements=elements,
        element_bars=bars([(f.label, f.value, f.low, f.high) for f in elements]),
        criteria=criteria,
        criterion_bars=bars([(f.label, f.value, f.low, f.high) for f in criteria]),
        unit=view.unit,
        trend=trend,
        trend_points=line([(label, value) for label, value, _ in trend]),
        ranking=ranking,
    )
