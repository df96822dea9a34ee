"""The officials' weekly digest: what it holds, its text per language, its chart's data.

One recipient's scope for one period (normally the last full week): SIPAS with n and 95%
interval, the change and whether it exceeds the uncertainty, the elements, the weakest
criteria, new comments, agencies below the alert threshold; a pooled scope gets a ranking.
Suppressed results show their n, never a figure. Pure; `bot.digest.chart` draws the chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from survey.digest_texts import say
from survey.index import Z95, Estimate, IndexResult, Ranked, weakest_criteria
from survey.models import Language
from survey.numbers import format_date, format_interval, format_number, format_percent
from survey.period import Period
from survey.scorecard import GroupRanking, Scorecard, shorten

TREND_WEEKS = 8
WEAKEST = 3
DEFAULT_ALERT_BELOW = 70.0
WEEK_DAYS = 7


@dataclass(frozen=True)
class TrendPoint:
    """One period of the trend; a suppressed result is a gap in the line."""

    period: Period
    result: IndexResult


@dataclass(frozen=True)
class RenderedDigest:
    """A digest ready to send: the full text, a short caption and the chart."""

    text: str
    caption: str
    png: bytes


@dataclass(frozen=True)
class Digest:
    """One recipient's digest before rendering: figures only, no language.

    ``card`` is the scope's index for the period: one agency's, or with ``card.agency`` None
    the scope's agencies pooled, in which case ``ranking`` lists every agency of the scope.
    ``trend`` holds the periods up to and including ``card.period``, oldest first.
    ``not_pooled`` names the scope's agencies on another questionnaire than the pooled card's:
    they are ranked but not in the pooled figures, since criteria of different forms do not add.
    ``groups``, when the agencies are grouped, ranks them within each group with the group's
    pooled result instead of in one table (``ranking`` still lists them all, for the alerts).
    """

    card: Scorecard
    trend: tuple[TrendPoint, ...]
    ranking: tuple[tuple[str, Ranked], ...] = ()
    scope_size: int = 1
    sees_all: bool = False
    alert_below: float = DEFAULT_ALERT_BELOW
    not_pooled: tuple[str, ...] = ()
    groups: tuple[GroupRanking, ...] = ()

    @property
    def period(self) -> Period:
        return self.card.period

    @property
    def pooled(self) -> bool:
        return self.card.agency is None


def _sipas(result: IndexResult) -> Estimate | None:
    return None if result.suppressed else result.sipas


def alerts(digest: Digest) -> list[tuple[str, Estimate]]:
    """(agency name, SIPAS) of the agencies below the alert threshold, lowest first.

    The point estimate decides: the digest is a prompt to look closer, and the interval shown
    next to it tells how sure that is. Suppressed agencies are never on the list.
    """
    if digest.pooled:
        rows = [(name, _sipas(ranked.result)) for name, ranked in digest.ranking]
    else:
        rows = [(digest.card.name, _sipas(digest.card.result))]
    below = [(name, s) for name, s in rows if s is not None and s.value < digest.alert_below]
    return sorted(below, key=lambda row: row[1].value)


def _count(n: int, language: Language) -> str:
    return format_number(n, language, digits=0)


def _threshold(value: float, language: Language) -> str:
    return format_percent(value, language, digits=0 if float(value).is_integer() else 1)


def _figure(estimate: Estimate, language: Language) -> str:
    return say(
        language,
        "figure",
        value=format_percent(estimate.value, language),
        n=_count(estimate.n, language),
        ci=format_interval(estimate.low, estimate.high, language),
    )


def scope_name(digest: Digest, language: Language) -> str:
    """The agency's name, or "all agencies" / "N agencies" for a pooled scope."""
    if not digest.pooled:
        return digest.card.name
    if digest.sees_all:
        return say(language, "scope_all")
    return say(language, "scope_some", count=_count(digest.scope_size, language))


def _is_week(period: Period) -> bool:
    return period.days == WEEK_DAYS


def _period_line(period: Period, language: Language) -> str:
    key = "week" if _is_week(period) else "period"
    start, end = format_date(period.start, language), format_date(period.end, language)
    return say(language, key, start=start, end=end)


def _headline(digest: Digest, language: Language) -> str:
    result = digest.card.result
    if result.suppressed:
        n, least = _count(result.responses, language), _count(digest.card.min_responses, language)
        return say(language, "suppressed", n=n, min=least)
    sipas = result.sipas
    if sipas is None:
        return say(language, "sipas_none")
    return say(
        language,
        "sipas_pooled" if digest.pooled else "sipas",
        value=format_percent(sipas.value, language),
        n=_count(sipas.n, language),
        ci=format_interval(sipas.low, sipas.high, language),
    )


def _change(digest: Digest, language: Language) -> str:
    suffix = "week" if _is_week(digest.period) else "period"
    change = digest.card.change
    if change is None:
        return say(language, f"no_change_{suffix}")
    margin = Z95 * change.se
    if math.isfinite(margin):
        key = "larger" if change.significant else "within"
        verdict = say(language, key, margin=format_number(margin, language))
    else:
        verdict = say(language, "no_margin")
    delta = format_number(change.delta, language, sign=True)
    return say(language, f"change_{suffix}", delta=delta, verdict=verdict)


def _group_heading(group: GroupRanking, language: Language) -> list[str]:
    if group.group is None or group.result is None:
        return [say(language, "ungrouped")]
    result, name = group.result, group.name
    n = _count(result.responses, language)
    if result.suppressed:
        heading = say(language, "group_suppressed", name=name, n=n)
    elif result.sipas is None:
        heading = say(language, "group_none", name=name)
    else:
        value = format_percent(result.sipas.value, language)
        heading = say(language, "group_sipas", name=name, value=value, n=n)
    if not group.not_pooled:
        return [heading]
    return [heading, say(language, "group_not_pooled", names=", ".join(group.not_pooled))]


def _ranking(digest: Digest, language: Language) -> list[str]:
    lines = [say(language, "ranking")]
    if digest.groups:
        any_suppressed = False
        for group in digest.groups:
            lines += _group_heading(group, language)
            any_suppressed = _rows(group.rows, language, lines) or any_suppressed
    else:
        any_suppressed = _rows(digest.ranking, language, lines)
    if any_suppressed:
        least = _count(digest.card.min_responses, language)
        lines.append(say(language, "ranking_note", min=least))
    return lines


def _rows(rows: Sequence[tuple[str, Ranked]], language: Language, lines: list[str]) -> bool:
    """Append one line per agency to ``lines``; True when an agency was suppressed."""
    any_suppressed = False
    for name, ranked in rows:
        sipas = _sipas(ranked.result)
        if ranked.rank and sipas is not None:
            value, n = format_percent(sipas.value, language), _count(sipas.n, language)
            lines.append(f"{ranked.rank}. {name}: {value} (n={n})")
            continue
        any_suppressed = any_suppressed or ranked.result.suppressed
        flag = "flag_suppressed" if ranked.result.suppressed else "flag_no_value"
        n = _count(ranked.result.responses, language)
        lines.append(f"– {name}: {say(language, flag, n=n)}")
    return any_suppressed


def _alert_lines(digest: Digest, language: Language) -> list[str]:
    threshold = _threshold(digest.alert_below, language)
    found = alerts(digest)
    if not digest.pooled:
        return [say(language, "alert_one", threshold=threshold)] if found else []
    if not found:
        return [say(language, "alert_none", threshold=threshold)]
    names = ", ".join(f"{name} ({format_percent(s.value, language)})" for name, s in found)
    return [say(language, "alert_many", threshold=threshold, names=names)]


def _details(digest: Digest, language: Language) -> list[str]:
    """Elements and weakest criteria; nothing when the result is suppressed."""
    card, result = digest.card, digest.card.result
    if result.suppressed:
        return []
    lines = ["", say(language, "elements")]
    for element in card.questionnaire.elements:
        estimate = result.elements.get(element.id)
        figure = say(language, "no_answers") if estimate is None else _figure(estimate, language)
        lines.append(f"• {element.title.in_(language)}: {figure}")
    weakest = weakest_criteria(result, WEAKEST)
    if weakest:
        numbers = {c: i for i, c in enumerate(card.questionnaire.criterion_ids, start=1)}
        lines += ["", say(language, "weakest")]
        for criterion_id, estimate in weakest:
            label = say(language, "criterion", number=numbers[criterion_id])
            text = shorten(card.questionnaire.criterion(criterion_id).text.in_(language))
            lines += [f"• {label}: {text}", f"  {_figure(estimate, language)}"]
    return lines


def render_caption(digest: Digest, language: Language) -> str:
    """The short form that goes under the chart when the whole text is too long for it."""
    return "\n".join(
        [
            say(language, "title", name=scope_name(digest, language)),
            _period_line(digest.period, language),
            _headline(digest, language),
        ]
    )


def render_digest(digest: Digest, language: Language) -> str:
    """The digest as plain text (no markup), lines in reading order."""
    lines = [render_caption(digest, language)]
    if not digest.card.result.suppressed:
        lines.append(_change(digest, language))
    if digest.pooled and digest.not_pooled:
        lines.append(say(language, "not_pooled", names=", ".join(digest.not_pooled)))
    if digest.pooled:
        lines += ["", *_ranking(digest, language)]
    lines += _details(digest, language)
    lines += ["", say(language, "comments", count=_count(digest.card.comments, language))]
    lines += _alert_lines(digest, language)
    return "\n".join(lines)


@dataclass(frozen=True)
class Bar:
    """One element of the chart: its label, its estimate (None: no valid answer) and value."""

    label: str
    estimate: Estimate | None
    value_text: str


@dataclass(frozen=True)
class TrendMark:
    """One period of the trend line; ``estimate`` None is a gap labelled ``gap_text``."""

    label: str
    estimate: Estimate | None
    gap_text: str


@dataclass(frozen=True)
class ChartSpec:
    """Everything the chart shows, already in the reader's language."""

    title: str
    elements_title: str
    trend_title: str
    bars: tuple[Bar, ...]
    empty_note: str | None
    trend: tuple[TrendMark, ...]
    threshold: float
    threshold_label: str


def _short_date(day: date, language: Language) -> str:
    if language == "vi":
        return f"{day.day:02d}/{day.month:02d}"
    return f"{day.month:02d}-{day.day:02d}"


def chart_spec(digest: Digest, language: Language) -> ChartSpec:
    """The chart's content: element indices with intervals and the SIPAS trend with gaps."""
    card, result = digest.card, digest.card.result
    bars: tuple[Bar, ...] = ()
    empty_note = None
    if result.suppressed:
        empty_note = say(language, "chart_empty", n=_count(result.responses, language))
    else:
        bars = tuple(
            Bar(
                label=element.title.in_(language),
                estimate=result.elements.get(element.id),
                value_text=_bar_text(result.elements.get(element.id), language),
            )
            for element in card.questionnaire.elements
        )
    trend = tuple(
        TrendMark(
            label=_short_date(point.period.start, language),
            estimate=_sipas(point.result),
            gap_text=f"n={_count(point.result.responses, language)}",
        )
        for point in digest.trend
    )
    count = _count(len(digest.trend), language)
    trend_key = "chart_trend" if _is_week(digest.period) else "chart_trend_periods"
    threshold = _threshold(digest.alert_below, language)
    return ChartSpec(
        title=f"{scope_name(digest, language)} · {_period_line(digest.period, language)}",
        elements_title=say(language, "chart_elements"),
        trend_title=say(language, trend_key, count=count),
        bars=bars,
        empty_note=empty_note,
        trend=trend,
        threshold=digest.alert_below,
        threshold_label=say(language, "chart_threshold", threshold=threshold),
    )


def _bar_text(estimate: Estimate | None, language: Language) -> str:
    if estimate is None:
        return "–"
    return format_percent(estimate.value, language, digits=1)
