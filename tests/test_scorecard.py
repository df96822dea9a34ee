"""Tests for survey.scorecard: the texts in vi and en, suppression, and the report JSON shape."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date

from survey.index import Change, Estimate, IndexResult, rank
from survey.models import Questionnaire
from survey.period import Period
from survey.report_json import report_json
from survey.scorecard import (
    Scorecard,
    render_criteria,
    render_index_line,
    render_ranking,
    render_score,
    shorten,
)

QUESTIONNAIRE = Questionnaire.model_validate(
    {
        "id": "test-3",
        "title": {"vi": "Phiếu thử", "en": "Test form"},
        "source": "tests",
        "scale": {str(i): {"vi": f"Mức {i}", "en": f"Level {i}"} for i in range(1, 6)},
        "elements": [
            {
                "id": "access",
                "title": {"vi": "Tiếp cận", "en": "Access"},
                "criteria": [
                    {
                        "id": "access_1",
                        "text": {"vi": "Thông tin dễ hiểu.", "en": "Information is clear."},
                    },
                    {
                        "id": "access_2",
                        "text": {
                            "vi": "Trụ sở cơ quan tiếp nhận hồ sơ, trả kết quả giải quyết thủ "
                            "tục hành chính có biển hiệu rõ ràng.",
                            "en": "The office that receives dossiers and returns the results "
                            "of procedures has clear signs.",
                        },
                    },
                ],
            },
            {
                "id": "procedures",
                "title": {"vi": "Thủ tục", "en": "Procedures"},
                "criteria": [
                    {
                        "id": "procedures_1",
                        "text": {"vi": "Phí đúng quy định.", "en": "Fees are as prescribed."},
                    }
                ],
            },
        ],
    }
)
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
RESULT = IndexResult(
    responses=1234,
    suppressed=False,
    sipas=Estimate(value=82.6649, n=1234, low=80.1, high=85.0, se=1.25),
    elements={
        "access": Estimate(value=83.0, n=1230, low=79.0, high=86.5, se=1.9),
        "procedures": Estimate(value=82.33333, n=118, low=76.6, high=89.7, se=3.3),
    },
    criteria={
        "access_1": Estimate(value=84.2, n=1200, low=76.6, high=89.7, se=3.4),
        "access_2": Estimate(value=81.8, n=110, low=74.0, high=88.004, se=3.6),
        "procedures_1": Estimate(value=82.33333, n=118, low=76.6, high=89.7, se=3.3),
    },
)
PREVIOUS = IndexResult(
    responses=900,
    suppressed=False,
    sipas=Estimate(value=80.0, n=900, low=77.0, high=83.0, se=1.5),
    elements={},
    criteria={},
)
SUPPRESSED = IndexResult(responses=4, suppressed=True, sipas=None, elements={}, criteria={})
CARD = Scorecard(
    agency="ubnd_xa_a",
    name="UBND xã A",
    questionnaire=QUESTIONNAIRE,
    period=OCTOBER,
    result=RESULT,
    previous=PREVIOUS,
    change=Change(delta=2.6649, se=1.0, significant=True),
    comments=5,
    min_responses=10,
)
SUPPRESSED_CARD = replace(CARD, result=SUPPRESSED, change=None)


def test_score_in_vietnamese_uses_decimal_commas_and_day_first_dates() -> None:
    assert render_score(CARD, "vi") == (
        "Chỉ số hài lòng (SIPAS) – UBND xã A\n"
        "Kỳ: 01/10/2026 – 31/10/2026\n"
        "SIPAS: 82,66% (n=1.234; KTC 95%: 80,10–85,00)\n"
        "\n"
        "Các yếu tố (n; KTC 95%):\n"
        "• Tiếp cận: 83,00% (n=1.230; 79,00–86,50)\n"
        "• Thủ tục: 82,33% (n=118; 76,60–89,70)\n"
        "\n"
        "So với kỳ trước (31/08/2026 – 30/09/2026): +2,66 điểm %, lớn hơn sai số (±1,96).\n"
        "Số góp ý: 5"
    )


def test_score_in_english() -> None:
    assert render_score(CARD, "en") == (
        "Satisfaction index (SIPAS) – UBND xã A\n"
        "Period: 2026-10-01 – 2026-10-31\n"
        "SIPAS: 82.66% (n=1,234; 95% CI: 80.10–85.00)\n"
        "\n"
        "Elements (n; 95% CI):\n"
        "• Access: 83.00% (n=1,230; 79.00–86.50)\n"
        "• Procedures: 82.33% (n=118; 76.60–89.70)\n"
        "\n"
        "Change vs the previous period (2026-08-31 – 2026-09-30): +2.66 pp, "
        "larger than its uncertainty (±1.96).\n"
        "Comments: 5"
    )


def test_a_change_within_its_uncertainty_says_so() -> None:
    card = replace(CARD, change=Change(delta=-1.5, se=2.0, significant=False))
    assert "-1,50 điểm %, trong phạm vi sai số (±3,92)." in render_score(card, "vi")
    assert "-1.50 pp, within its uncertainty (±3.92)." in render_score(card, "en")
    unknown = replace(CARD, change=Change(delta=1.0, se=float("inf"), significant=False))
    assert "+1,00 điểm %, chưa ước lượng được sai số." in render_score(unknown, "vi")


def test_no_change_when_the_previous_period_has_no_index() -> None:
    card = replace(CARD, previous=SUPPRESSED, change=None)
    assert "Kỳ trước (31/08/2026 – 30/09/2026): chưa đủ số liệu để so sánh." in render_score(
        card, "vi"
    )
    assert "Previous period (2026-08-31 – 2026-09-30): not enough data to compare." in (
        render_score(card, "en")
    )
    assert "previous" not in render_score(replace(card, previous=None), "en").lower()


def test_an_element_without_valid_answers_is_named_without_a_number() -> None:
    result = replace(RESULT, elements={"access": RESULT.elements["access"]})
    text = render_score(replace(CARD, result=result), "vi")
    assert "• Thủ tục: chưa có câu trả lời hợp lệ\n" in text


def test_pooled_cards_are_titled_all_agencies() -> None:
    card = replace(CARD, agency=None, name="")
    assert render_score(card, "vi").startswith("Chỉ số hài lòng (SIPAS) – Tất cả cơ quan\n")
    assert render_criteria(card, "en").startswith("Criteria from weakest to strongest – All")


def test_a_suppressed_score_shows_the_sentence_and_no_figure() -> None:
    vi = render_score(SUPPRESSED_CARD, "vi")
    en = render_score(SUPPRESSED_CARD, "en")
    assert vi == (
        "Chỉ số hài lòng (SIPAS) – UBND xã A\n"
        "Kỳ: 01/10/2026 – 31/10/2026\n"
        "Chưa đủ phiếu để tính chỉ số (n=4; cần ít nhất 10)."
    )
    assert en.endswith("\nNot enough responses (n=4; at least 10 needed).")
    for text in (vi, en, render_criteria(SUPPRESSED_CARD, "vi")):
        body = text.split("\n", 2)[2]  # below the title and the dates
        assert re.findall(r"\d+", body) == ["4", "10"]
        assert "%" not in text


def test_criteria_from_weakest_to_strongest_with_short_statements() -> None:
    assert render_criteria(CARD, "vi") == (
        "Tiêu chí từ yếu nhất đến mạnh nhất – UBND xã A\n"
        "Kỳ: 01/10/2026 – 31/10/2026\n"
        "(n; KTC 95%)\n"
        "• Câu 2: Trụ sở cơ quan tiếp nhận hồ sơ, trả kết quả giải quyết thủ…\n"
        "  81,80% (n=110; 74,00–88,00)\n"
        "• Câu 3: Phí đúng quy định.\n"
        "  82,33% (n=118; 76,60–89,70)\n"
        "• Câu 1: Thông tin dễ hiểu.\n"
        "  84,20% (n=1.200; 76,60–89,70)"
    )
    assert render_criteria(CARD, "en").splitlines()[3:5] == [
        "• Q2: The office that receives dossiers and returns the results…",
        "  81.80% (n=110; 74.00–88.00)",
    ]


def test_criteria_without_valid_answers_are_listed_last() -> None:
    criteria = {k: v for k, v in RESULT.criteria.items() if k != "access_1"}
    card = replace(CARD, result=replace(RESULT, criteria=criteria))
    assert render_criteria(card, "vi").endswith("\nChưa có câu trả lời hợp lệ: Câu 1.")
    assert render_criteria(card, "en").endswith("\nNo valid answers yet: Q1.")


def test_shorten_cuts_at_a_word_and_marks_the_cut() -> None:
    assert shorten("Phí đúng quy định.") == "Phí đúng quy định."
    assert shorten("một hai ba bốn năm", limit=12) == "một hai ba…"
    assert shorten("x" * 80, limit=10) == "xxxxxxxxx…"


def _result(value: float | None, responses: int, *, suppressed: bool = False) -> IndexResult:
    sipas = None if value is None else Estimate(value, responses, value - 5, value + 5, 2.5)
    return IndexResult(responses, suppressed, None if suppressed else sipas, {}, {})


def test_ranking_puts_ties_together_and_flags_agencies_without_an_index() -> None:
    results = {
        "a": _result(82.6649, 1234),
        "b": _result(75.0, 40),
        "c": _result(75.0, 41),
        "d": _result(None, 4, suppressed=True),
        "e": _result(None, 12),
    }
    names = {"a": "UBND xã A", "b": "Sở B", "c": "Sở C", "d": "UBND huyện D", "e": "Phòng E"}
    rows = [(names[r.key], r) for r in rank(results)]
    assert render_ranking(rows, OCTOBER, "vi", 10) == (
        "Xếp hạng chỉ số hài lòng (SIPAS) (n; KTC 95%)\n"
        "Kỳ: 01/10/2026 – 31/10/2026\n"
        "1. UBND xã A\n"
        "   82,66% (n=1.234; 77,66–87,66)\n"
        "2. Sở B\n"
        "   75,00% (n=40; 70,00–80,00)\n"
        "2. Sở C\n"
        "   75,00% (n=41; 70,00–80,00)\n"
        "– UBND huyện D: chưa đủ phiếu (n=4)\n"
        "– Phòng E: chưa có câu trả lời hợp lệ (n=12)\n"
        "Cần ít nhất 10 phiếu để được xếp hạng."
    )
    en = render_ranking(rows, OCTOBER, "en", 10)
    assert "– UBND huyện D: not enough responses (n=4)" in en
    assert en.endswith("An agency needs at least 10 responses to be ranked.")
    assert all(len(line) <= 50 for line in en.splitlines()[2:-1])


def test_an_empty_ranking_says_so() -> None:
    assert render_ranking([], OCTOBER, "en", 10).endswith("\nNo agency in scope.")


def test_index_line_for_the_thank_you_message() -> None:
    assert render_index_line("UBND xã A", RESULT, 90, "vi") == (
        "Chỉ số hài lòng của UBND xã A trong 90 ngày qua: 82,66% (1.234 phiếu)."
    )
    assert render_index_line("UBND xã A", RESULT, 90, "en") == (
        "Satisfaction index of UBND xã A over the last 90 days: 82.66% (1,234 responses)."
    )
    assert render_index_line("UBND xã A", SUPPRESSED, 90, "vi") is None


TOP_KEYS = {
    "agency",
    "from",
    "to",
    "questionnaire",
    "responses",
    "suppressed",
    "sipas",
    "ci95",
    "elements",
    "criteria",
}
FIGURE_KEYS = {"value", "n", "ci95"}


def test_report_json_has_exactly_the_spec_shape_with_rounded_values() -> None:
    report = report_json(CARD)
    assert set(report) == TOP_KEYS
    assert report["agency"] == "ubnd_xa_a"
    assert (report["from"], report["to"]) == ("2026-10-01", "2026-10-31")
    assert report["questionnaire"] == "test-3"
    assert report["responses"] == 1234
    assert report["suppressed"] is False
    assert report["sipas"] == 82.66
    assert report["ci95"] == [80.1, 85.0]
    assert report["elements"] == {
        "access": {"value": 83.0, "n": 1230, "ci95": [79.0, 86.5]},
        "procedures": {"value": 82.33, "n": 118, "ci95": [76.6, 89.7]},
    }
    criteria = report["criteria"]
    assert isinstance(criteria, dict)
    assert set(criteria) == {"access_1", "access_2", "procedures_1"}
    assert criteria["access_2"] == {"value": 81.8, "n": 110, "ci95": [74.0, 88.0]}
    for figure in criteria.values():
        assert set(figure) == FIGURE_KEYS
        assert isinstance(figure["value"], float)
        assert isinstance(figure["n"], int)
        assert all(isinstance(bound, float) for bound in figure["ci95"])
    assert json.loads(json.dumps(report)) == report


def test_report_json_of_a_pooled_card_has_a_null_agency() -> None:
    assert report_json(replace(CARD, agency=None, name=""))["agency"] is None


def test_report_json_keeps_a_figure_without_valid_answers_with_n_zero() -> None:
    criteria = {k: v for k, v in RESULT.criteria.items() if k != "access_1"}
    report = report_json(replace(CARD, result=replace(RESULT, criteria=criteria)))
    assert report["criteria"]["access_1"] == {"value": None, "n": 0, "ci95": None}  # type: ignore[index]


def test_a_suppressed_report_json_has_the_same_keys_and_only_nulls() -> None:
    report = report_json(SUPPRESSED_CARD)
    assert set(report) == TOP_KEYS
    assert report["responses"] == 4
    assert report["suppressed"] is True
    assert report["sipas"] is None
    assert report["ci95"] is None
    empty = {"value": None, "n": None, "ci95": None}
    assert report["elements"] == {"access": empty, "procedures": empty}
    assert report["criteria"] == dict.fromkeys(("access_1", "access_2", "procedures_1"), empty)
