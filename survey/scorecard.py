"""Index figures written for people and programs: score, criteria, ranking texts and JSON.

Every text here exists in Vietnamese and English; numbers and dates go through `survey.numbers`
so vi reads 82,66% and 31/10/2026. A suppressed result (fewer than ``min_responses``) shows one
sentence with its n and never a figure of the index. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from survey.index import Z95, Change, Estimate, IndexResult, Ranked
from survey.models import Language, Questionnaire
from survey.numbers import format_date, format_interval, format_number, format_percent
from survey.period import Period

SHORT_TEXT = 60
"""Criterion statements are cut to about this many characters in the criteria list."""

_VI: dict[str, str] = {
    "title": "Chỉ số hài lòng (SIPAS) – {name}",
    "criteria_title": "Tiêu chí từ yếu nhất đến mạnh nhất – {name}",
    "ranking_title": "Xếp hạng chỉ số hài lòng (SIPAS)",
    "group_sipas": "SIPAS chung của nhóm: {figure}",
    "group_suppressed": "SIPAS chung của nhóm: chưa đủ phiếu (n={n}; cần ít nhất {min}).",
    "group_none": "SIPAS chung của nhóm: chưa có câu trả lời hợp lệ.",
    "group_not_pooled": "SIPAS chung của nhóm không gồm {names} (dùng mẫu phiếu khác).",
    "ungrouped": "Cơ quan không thuộc nhóm nào",
    "all_agencies": "Tất cả cơ quan",
    "period": "Kỳ: {start} – {end}",
    "suppressed": "Chưa đủ phiếu để tính chỉ số (n={n}; cần ít nhất {min}).",
    "sipas": "SIPAS: {value} (n={n}; KTC 95%: {ci})",
    "sipas_none": "SIPAS: chưa có câu trả lời hợp lệ.",
    "elements": "Các yếu tố {legend}:",
    "figure": "{value} (n={n}; {ci})",
    "no_answers": "chưa có câu trả lời hợp lệ",
    "change": "So với kỳ trước ({start} – {end}): {delta} điểm %, {verdict}.",
    "larger": "lớn hơn sai số (±{margin})",
    "within": "trong phạm vi sai số (±{margin})",
    "no_margin": "chưa ước lượng được sai số",
    "no_change": "Kỳ trước ({start} – {end}): chưa đủ số liệu để so sánh.",
    "comments": "Số góp ý: {count}",
    "criterion": "Câu {number}",
    "legend": "(n; KTC 95%)",
    "unanswered": "Chưa có câu trả lời hợp lệ: {numbers}.",
    "flag_suppressed": "chưa đủ phiếu (n={n})",
    "flag_no_value": "chưa có câu trả lời hợp lệ (n={n})",
    "ranking_note": "Cần ít nhất {min} phiếu để được xếp hạng.",
    "ranking_empty": "Chưa có cơ quan nào trong phạm vi.",
    "index_line": "Chỉ số hài lòng của {name} trong {days} ngày qua: {value} ({n} phiếu).",
}

_EN: dict[str, str] = {
    "title": "Satisfaction index (SIPAS) – {name}",
    "criteria_title": "Criteria from weakest to strongest – {name}",
    "ranking_title": "Satisfaction index (SIPAS) ranking",
    "group_sipas": "The group's pooled SIPAS: {figure}",
    "group_suppressed": "The group's pooled SIPAS: not enough responses (n={n}; at least {min} "
    "needed).",
    "group_none": "The group's pooled SIPAS: no valid answers yet.",
    "group_not_pooled": "The group's pooled SIPAS leaves out {names} (another questionnaire).",
    "ungrouped": "Agencies in no group",
    "all_agencies": "All agencies",
    "period": "Period: {start} – {end}",
    "suppressed": "Not enough responses (n={n}; at least {min} needed).",
    "sipas": "SIPAS: {value} (n={n}; 95% CI: {ci})",
    "sipas_none": "SIPAS: no valid answers yet.",
    "elements": "Elements {legend}:",
    "figure": "{value} (n={n}; {ci})",
    "no_answers": "no valid answers yet",
    "change": "Change vs the previous period ({start} – {end}): {delta} pp, {verdict}.",
    "larger": "larger than its uncertainty (±{margin})",
    "within": "within its uncertainty (±{margin})",
    "no_margin": "its uncertainty cannot be estimated",
    "no_change": "Previous period ({start} – {end}): not enough data to compare.",
    "comments": "Comments: {count}",
    "criterion": "Q{number}",
    "legend": "(n; 95% CI)",
    "unanswered": "No valid answers yet: {numbers}.",
    "flag_suppressed": "not enough responses (n={n})",
    "flag_no_value": "no valid answers yet (n={n})",
    "ranking_note": "An agency needs at least {min} responses to be ranked.",
    "ranking_empty": "No agency in scope.",
    "index_line": (
        "Satisfaction index of {name} over the last {days} days: {value} ({n} responses)."
    ),
}

_TEXTS: dict[Language, dict[str, str]] = {"vi": _VI, "en": _EN}


def _say(language: Language, key: str, **values: object) -> str:
    return _TEXTS[language][key].format(**values)


@dataclass(frozen=True)
class Scorecard:
    """One agency-period's index with what is needed to present it.

    ``agency`` is None for several agencies pooled; their card's ``name`` is not shown (the
    texts say "all agencies") unless they are the group ``group``, whose name it is.
    ``previous`` is the period of equal length before ``period``.
    """

    agency: str | None
    name: str
    questionnaire: Questionnaire
    period: Period
    result: IndexResult
    previous: IndexResult | None
    change: Change | None
    comments: int
    min_responses: int
    group: str | None = None


@dataclass(frozen=True)
class GroupRanking:
    """One group's agencies ranked, with their pooled result; ``group`` None: those in no group.

    ``rows`` are (agency name, `Ranked`) as `survey.index.rank` orders them; ``not_pooled``
    names the group's agencies on another form than the pooled one (ranked, not pooled).
    """

    group: str | None
    name: str
    result: IndexResult | None
    rows: Sequence[tuple[str, Ranked]]
    not_pooled: tuple[str, ...] = ()


def _count(n: int, language: Language) -> str:
    return format_number(n, language, digits=0)


def _figure(estimate: Estimate, language: Language) -> str:
    return _say(
        language,
        "figure",
        value=format_percent(estimate.value, language),
        n=_count(estimate.n, language),
        ci=format_interval(estimate.low, estimate.high, language),
    )


def _dates(period: Period, language: Language) -> dict[str, str]:
    return {"start": format_date(period.start, language), "end": format_date(period.end, language)}


def _period(period: Period, language: Language) -> str:
    return _say(language, "period", **_dates(period, language))


def _name(card: Scorecard, language: Language) -> str:
    if card.agency is None and card.group is None:
        return _say(language, "all_agencies")
    return card.name


def _suppressed(card: Scorecard, language: Language) -> str:
    n = _count(card.result.responses, language)
    return _say(language, "suppressed", n=n, min=_count(card.min_responses, language))


def _change(card: Scorecard, language: Language) -> str:
    before = card.period.previous()
    dates = {
        "start": format_date(before.start, language),
        "end": format_date(before.end, language),
    }
    change = card.change
    if change is None:
        return _say(language, "no_change", **dates)
    margin = Z95 * change.se
    if not math.isfinite(margin):
        verdict = _say(language, "no_margin")
    else:
        key = "larger" if change.significant else "within"
        verdict = _say(language, key, margin=format_number(margin, language))
    delta = format_number(change.delta, language, sign=True)
    return _say(language, "change", delta=delta, verdict=verdict, **dates)


def render_score(card: Scorecard, language: Language) -> str:
    """SIPAS, the element indices, n and 95% CIs, the change and the number of comments."""
    lines = [_say(language, "title", name=_name(card, language)), _period(card.period, language)]
    result = card.result
    if result.suppressed:
        lines.append(_suppressed(card, language))
        return "\n".join(lines)
    sipas = result.sipas
    if sipas is None:
        lines.append(_say(language, "sipas_none"))
    else:
        ci = format_interval(sipas.low, sipas.high, language)
        value = format_percent(sipas.value, language)
        lines.append(_say(language, "sipas", value=value, n=_count(sipas.n, language), ci=ci))
    lines += ["", _say(language, "elements", legend=_say(language, "legend"))]
    for element in card.questionnaire.elements:
        estimate = result.elements.get(element.id)
        figure = _say(language, "no_answers") if estimate is None else _figure(estimate, language)
        lines.append(f"• {element.title.in_(language)}: {figure}")
    if card.previous is not None:
        lines += ["", _change(card, language)]
    lines.append(_say(language, "comments", count=_count(card.comments, language)))
    return "\n".join(lines)


def shorten(text: str, limit: int = SHORT_TEXT) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, marked with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # Cut at the last space unless that would throw away most of the text (one long word).
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:–-") + "…"


def render_criteria(card: Scorecard, language: Language) -> str:
    """The criteria from weakest to strongest: number, short statement, value, n and CI."""
    name = _name(card, language)
    lines = [_say(language, "criteria_title", name=name), _period(card.period, language)]
    result = card.result
    if result.suppressed:
        lines.append(_suppressed(card, language))
        return "\n".join(lines)
    lines.append(_say(language, "legend"))
    numbers = {c: i for i, c in enumerate(card.questionnaire.criterion_ids, start=1)}
    # sorted() is stable, so criteria with equal values keep questionnaire order.
    for criterion_id, estimate in sorted(result.criteria.items(), key=lambda kv: kv[1].value):
        label = _say(language, "criterion", number=numbers[criterion_id])
        text = shorten(card.questionnaire.criterion(criterion_id).text.in_(language))
        lines.append(f"• {label}: {text}")
        lines.append(f"  {_figure(estimate, language)}")
    missing = [
        _say(language, "criterion", number=number)
        for criterion_id, number in numbers.items()
        if criterion_id not in result.criteria
    ]
    if missing:
        lines.append(_say(language, "unanswered", numbers=", ".join(missing)))
    return "\n".join(lines)


def render_ranking(
    rows: Sequence[tuple[str, Ranked]], period: Period, language: Language, min_responses: int
) -> str:
    """A ranking, best first; agencies without an index last, flagged with their n.

    ``rows`` are (agency name, `Ranked`) in the order `survey.index.rank` returns them.
    """
    lines = [
        f"{_say(language, 'ranking_title')} {_say(language, 'legend')}",
        _period(period, language),
    ]
    if not rows:
        lines.append(_say(language, "ranking_empty"))
        return "\n".join(lines)
    any_suppressed = _ranking_rows(rows, language, lines)
    if any_suppressed:
        lines.append(_say(language, "ranking_note", min=_count(min_responses, language)))
    return "\n".join(lines)


def _group_sipas(group: GroupRanking, language: Language, min_responses: int) -> str:
    result = group.result
    if result is None:
        return ""
    if result.suppressed:
        n, least = _count(result.responses, language), _count(min_responses, language)
        return _say(language, "group_suppressed", n=n, min=least)
    if result.sipas is None:
        return _say(language, "group_none")
    return _say(language, "group_sipas", figure=_figure(result.sipas, language))


def render_group_rankings(
    groups: Sequence[GroupRanking], period: Period, language: Language, min_responses: int
) -> str:
    """Each group's ranking under its name and pooled SIPAS; ranks restart in every group."""
    lines = [
        f"{_say(language, 'ranking_title')} {_say(language, 'legend')}",
        _period(period, language),
    ]
    if not groups:
        lines.append(_say(language, "ranking_empty"))
        return "\n".join(lines)
    any_suppressed = False
    for group in groups:
        name = group.name if group.group is not None else _say(language, "ungrouped")
        lines += ["", f"■ {name}"]
        if group.result is not None:
            lines.append(_group_sipas(group, language, min_responses))
        if group.not_pooled:
            names = ", ".join(group.not_pooled)
            lines.append(_say(language, "group_not_pooled", names=names))
        any_suppressed = _ranking_rows(group.rows, language, lines) or any_suppressed
    if any_suppressed:
        lines += ["", _say(language, "ranking_note", min=_count(min_responses, language))]
    return "\n".join(lines)


def _ranking_rows(
    rows: Sequence[tuple[str, Ranked]], language: Language, lines: list[str]
) -> bool:
    """Append the ranking lines to ``lines``; True when an agency was suppressed."""
    any_suppressed = False
    for name, ranked in rows:
        result = ranked.result
        sipas = None if result.suppressed else result.sipas
        if ranked.rank and sipas is not None:
            # Two short lines per agency: names are long and a phone screen is narrow.
            lines += [f"{ranked.rank}. {name}", f"   {_figure(sipas, language)}"]
            continue
        any_suppressed = any_suppressed or result.suppressed
        flag = "flag_suppressed" if result.suppressed else "flag_no_value"
        lines.append(f"– {name}: {_say(language, flag, n=_count(result.responses, language))}")
    return any_suppressed


def render_index_line(name: str, result: IndexResult, days: int, language: Language) -> str | None:
    """One sentence with the SIPAS for a citizen's thank-you, or None when there is none."""
    if result.suppressed or result.sipas is None:
        return None
    return _say(
        language,
        "index_line",
        name=name,
        days=days,
        value=format_percent(result.sipas.value, language),
        n=_count(result.responses, language),
    )
