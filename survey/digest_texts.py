"""The weekly digest's phrases in Vietnamese and English, filled in by `survey.digest`."""

from __future__ import annotations

from survey.models import Language

_VI: dict[str, str] = {
    "title": "Bản tin SIPAS hằng tuần – {name}",
    "scope_all": "Tất cả cơ quan",
    "scope_some": "{count} cơ quan",
    "week": "Tuần {start} – {end}",
    "period": "Kỳ {start} – {end}",
    "sipas": "SIPAS: {value} (n={n}; KTC 95%: {ci})",
    "sipas_pooled": "SIPAS chung: {value} (n={n}; KTC 95%: {ci})",
    "sipas_none": "SIPAS: chưa có câu trả lời hợp lệ.",
    "suppressed": "SIPAS: chưa đủ phiếu (n={n}; cần ít nhất {min}).",
    "change_week": "So với tuần trước: {delta} điểm %, {verdict}.",
    "change_period": "So với kỳ trước: {delta} điểm %, {verdict}.",
    "larger": "lớn hơn sai số (±{margin})",
    "within": "trong phạm vi sai số (±{margin})",
    "no_margin": "chưa ước lượng được sai số",
    "no_change_week": "Tuần trước: chưa đủ số liệu để so sánh.",
    "no_change_period": "Kỳ trước: chưa đủ số liệu để so sánh.",
    "elements": "Các yếu tố (n; KTC 95%):",
    "figure": "{value} (n={n}; {ci})",
    "no_answers": "chưa có câu trả lời hợp lệ",
    "weakest": "Tiêu chí yếu nhất:",
    "criterion": "Câu {number}",
    "comments": "Góp ý mới: {count}",
    "not_pooled": "SIPAS chung không gồm {names} (dùng mẫu phiếu khác).",
    "ranking": "Xếp hạng (SIPAS; n):",
    "group_sipas": "■ {name} – SIPAS chung: {value} (n={n})",
    "group_suppressed": "■ {name} – SIPAS chung: chưa đủ phiếu (n={n})",
    "group_none": "■ {name} – SIPAS chung: chưa có câu trả lời hợp lệ",
    "group_not_pooled": "SIPAS chung của nhóm không gồm {names} (dùng mẫu phiếu khác).",
    "ungrouped": "■ Cơ quan không thuộc nhóm nào",
    "flag_suppressed": "chưa đủ phiếu (n={n})",
    "flag_no_value": "chưa có câu trả lời hợp lệ (n={n})",
    "ranking_note": "Cần ít nhất {min} phiếu để được xếp hạng.",
    "alert_one": "Cảnh báo: SIPAS dưới ngưỡng {threshold}.",
    "alert_many": "Dưới ngưỡng cảnh báo {threshold}: {names}.",
    "alert_none": "Không có cơ quan nào dưới ngưỡng cảnh báo {threshold}.",
    "chart_elements": "Các yếu tố (KTC 95%)",
    "chart_trend": "SIPAS {count} tuần gần nhất (KTC 95%)",
    "chart_trend_periods": "SIPAS {count} kỳ gần nhất (KTC 95%)",
    "chart_threshold": "Ngưỡng cảnh báo {threshold}",
    "chart_empty": "Chưa đủ phiếu (n={n})",
}

_EN: dict[str, str] = {
    "title": "Weekly SIPAS digest – {name}",
    "scope_all": "All agencies",
    "scope_some": "{count} agencies",
    "week": "Week {start} – {end}",
    "period": "Period {start} – {end}",
    "sipas": "SIPAS: {value} (n={n}; 95% CI: {ci})",
    "sipas_pooled": "Pooled SIPAS: {value} (n={n}; 95% CI: {ci})",
    "sipas_none": "SIPAS: no valid answers yet.",
    "suppressed": "SIPAS: not enough responses (n={n}; at least {min} needed).",
    "change_week": "Change vs the week before: {delta} pp, {verdict}.",
    "change_period": "Change vs the period before: {delta} pp, {verdict}.",
    "larger": "larger than its uncertainty (±{margin})",
    "within": "within its uncertainty (±{margin})",
    "no_margin": "its uncertainty cannot be estimated",
    "no_change_week": "Week before: not enough data to compare.",
    "no_change_period": "Period before: not enough data to compare.",
    "elements": "Elements (n; 95% CI):",
    "figure": "{value} (n={n}; {ci})",
    "no_answers": "no valid answers yet",
    "weakest": "Weakest criteria:",
    "criterion": "Q{number}",
    "comments": "New comments: {count}",
    "not_pooled": "The pooled SIPAS leaves out {names} (another questionnaire).",
    "ranking": "Ranking (SIPAS; n):",
    "group_sipas": "■ {name} – pooled SIPAS: {value} (n={n})",
    "group_suppressed": "■ {name} – pooled SIPAS: not enough responses (n={n})",
    "group_none": "■ {name} – pooled SIPAS: no valid answers yet",
    "group_not_pooled": "The group's pooled SIPAS leaves out {names} (another questionnaire).",
    "ungrouped": "■ Agencies in no group",
    "flag_suppressed": "not enough responses (n={n})",
    "flag_no_value": "no valid answers yet (n={n})",
    "ranking_note": "An agency needs at least {min} responses to be ranked.",
    "alert_one": "Alert: SIPAS below the {threshold} threshold.",
    "alert_many": "Below the {threshold} alert threshold: {names}.",
    "alert_none": "No agency below the {threshold} alert threshold.",
    "chart_elements": "Elements (95% CI)",
    "chart_trend": "SIPAS over the last {count} weeks (95% CI)",
    "chart_trend_periods": "SIPAS over the last {count} periods (95% CI)",
    "chart_threshold": "Alert threshold {threshold}",
    "chart_empty": "Not enough responses (n={n})",
}

_TEXTS: dict[Language, dict[str, str]] = {"vi": _VI, "en": _EN}


def say(language: Language, key: str, **values: object) -> str:
    """The digest phrase ``key`` in ``language``, with ``values`` filled in."""
    return _TEXTS[language][key].format(**values)


def keys(language: Language) -> frozenset[str]:
    return frozenset(_TEXTS[language])
