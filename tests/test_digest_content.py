"""The digest's content and texts (survey.digest): pure, from tallies of made-up responses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest

from bot.questionnaires import load_catalogue
from survey.digest import (
    TREND_WEEKS,
    Digest,
    TrendPoint,
    alerts,
    chart_spec,
    render_caption,
    render_digest,
)
from survey.digest_texts import keys
from survey.index import IndexResult, compare, compute_index, rank
from survey.models import LANGUAGES
from survey.period import Period, weeks_back
from survey.scorecard import Scorecard
from survey.tally import tally

SIPAS = load_catalogue()["sipas-2023"]
CRITERIA = SIPAS.criterion_ids
WEEK = Period(date(2026, 9, 28), date(2026, 10, 4))
MIN = 10


Answers = dict[str, int | None]


def responses(satisfied: int, total: int, mixed: Sequence[str] = ()) -> list[Answers]:
    """``satisfied`` citizens answer 5 to everything, the others 2.

    Everyone answers the ``mixed`` criteria 4 and 2 in turn: exactly half are satisfied.
    """
    made: list[Answers] = []
    for i in range(total):
        answers: Answers = dict.fromkeys(CRITERIA, 5 if i < satisfied else 2)
        for criterion in mixed:
            answers[criterion] = 2 if i % 2 else 4
        made.append(answers)
    return made


def index(satisfied: int, total: int, mixed: Sequence[str] = ()) -> IndexResult:
    return compute_index(tally(responses(satisfied, total, mixed)), CRITERIA, min_responses=MIN)


def card(
    current: IndexResult,
    previous: IndexResult,
    *,
    agency: str | None = "ubnd_xa_a",
    name: str = "UBND xã A",
    comments: int = 3,
) -> Scorecard:
    return Scorecard(
        agency=agency,
        name=name if agency else "",
        questionnaire=SIPAS,
        period=WEEK,
        result=current,
        previous=previous,
        change=compare(current, previous),
        comments=comments,
        min_responses=MIN,
    )


def trend(*results: IndexResult) -> tuple[TrendPoint, ...]:
    weeks = weeks_back(WEEK, len(results))
    return tuple(TrendPoint(week, result) for week, result in zip(weeks, results, strict=True))


CURRENT = index(33, 40, mixed=("access_3", "procedures_2"))
PREVIOUS = index(20, 30)
ONE_AGENCY = Digest(card(CURRENT, PREVIOUS), trend(PREVIOUS, CURRENT))

EXPECTED_VI = """\
Bản tin SIPAS hằng tuần – UBND xã A
Tuần 28/09/2026 – 04/10/2026
SIPAS: 79,25% (n=40; KTC 95%: 68,30–90,20)
So với tuần trước: +12,58 điểm %, trong phạm vi sai số (±20,35).

Các yếu tố (n; KTC 95%):
• Tiếp cận dịch vụ hành chính công: 74,37% (n=40; 64,37–84,38)
• Thủ tục hành chính: 74,37% (n=40; 64,37–84,38)
• Công chức trực tiếp giải quyết công việc: 82,50% (n=40; 70,57–94,43)
• Kết quả giải quyết thủ tục hành chính: 82,50% (n=40; 70,57–94,43)
• Tiếp nhận, xử lý phản ánh, kiến nghị: 82,50% (n=40; 70,57–94,43)

Tiêu chí yếu nhất:
• Câu 3: Trụ sở cơ quan tiếp nhận hồ sơ, trả kết quả giải quyết thủ…
  50,00% (n=40; 35,20–64,80)
• Câu 6: Thành phần hồ sơ người dân phải nộp là đúng quy định.
  50,00% (n=40; 35,20–64,80)
• Câu 1: Cơ quan cung cấp thông tin về việc giải quyết thủ tục hành…
  82,50% (n=40; 68,05–91,25)

Góp ý mới: 3"""


def test_the_vietnamese_digest_of_one_agency_reads_as_expected() -> None:
    assert render_digest(ONE_AGENCY, "vi") == EXPECTED_VI


def test_english_uses_english_words_and_numbers() -> None:
    text = render_digest(ONE_AGENCY, "en")
    assert text.startswith("Weekly SIPAS digest – UBND xã A\nWeek 2026-09-28 – 2026-10-04\n")
    assert "SIPAS: 79.25% (n=40; 95% CI: 68.30–90.20)" in text
    assert "Change vs the week before: +12.58 pp, within its uncertainty (±20.35)." in text
    assert "• Q3: The office that receives dossiers" in text
    assert text.endswith("New comments: 3")


def test_a_change_beyond_the_uncertainty_is_called_so() -> None:
    digest = Digest(card(index(38, 40), index(10, 40)), ())
    assert "+70,00 điểm %, lớn hơn sai số (±" in render_digest(digest, "vi")


def test_a_suppressed_week_shows_its_n_and_no_figure() -> None:
    digest = Digest(card(index(3, 3), PREVIOUS), trend(PREVIOUS, index(3, 3)))
    text = render_digest(digest, "vi")
    assert "SIPAS: chưa đủ phiếu (n=3; cần ít nhất 10)." in text
    assert "%" not in text.replace("điểm %", "")
    assert "So với tuần trước" not in text
    assert "Các yếu tố" not in text
    assert "Tiêu chí yếu nhất" not in text
    assert text.endswith("Góp ý mới: 3")


def test_one_agency_below_the_threshold_gets_an_alert_line() -> None:
    low = Digest(card(index(20, 40), PREVIOUS), ())
    assert render_digest(low, "vi").endswith("Cảnh báo: SIPAS dưới ngưỡng 70%.")
    assert [name for name, _ in alerts(low)] == ["UBND xã A"]
    stricter = Digest(ONE_AGENCY.card, (), alert_below=82.5)
    assert render_digest(stricter, "vi").endswith("Cảnh báo: SIPAS dưới ngưỡng 82,5%.")
    assert not alerts(ONE_AGENCY)


def wide_scope(sees_all: bool = True) -> Digest:
    results = {
        "ubnd_xa_a": CURRENT,
        "so_tu_phap": index(15, 25),
        "ubnd_xa_c": index(3, 3),
        "so_y_te": index(36, 40),
    }
    names = {
        "ubnd_xa_a": "UBND xã A",
        "so_tu_phap": "Sở Tư pháp",
        "ubnd_xa_c": "UBND xã C",
        "so_y_te": "Sở Y tế",
    }
    pooled = index(87, 108, mixed=("access_3",))
    return Digest(
        card(pooled, index(50, 90), agency=None, comments=12),
        trend(index(50, 90), pooled),
        ranking=tuple((names[r.key], r) for r in rank(results)),
        scope_size=4,
        sees_all=sees_all,
    )


def test_a_wide_scope_gets_a_ranking_table_with_flags_and_alerts() -> None:
    text = render_digest(wide_scope(), "vi")
    assert text.startswith("Bản tin SIPAS hằng tuần – Tất cả cơ quan\n")
    assert "SIPAS chung: 79,03% (n=108; KTC 95%: 71,88–86,18)" in text
    ranking = text[text.index("Xếp hạng") :].split("\n\n")[0].splitlines()
    assert ranking == [
        "Xếp hạng (SIPAS; n):",
        "1. Sở Y tế: 90,00% (n=40)",
        "2. UBND xã A: 79,25% (n=40)",
        "3. Sở Tư pháp: 60,00% (n=25)",
        "– UBND xã C: chưa đủ phiếu (n=3)",
        "Cần ít nhất 10 phiếu để được xếp hạng.",
    ]
    assert text.endswith("Góp ý mới: 12\nDưới ngưỡng cảnh báo 70%: Sở Tư pháp (60,00%).")
    assert "Tiêu chí yếu nhất:\n• Câu 3:" in text


def test_a_wide_scope_without_alerts_says_so_and_names_its_size() -> None:
    digest = wide_scope(sees_all=False)
    calm = Digest(digest.card, digest.trend, digest.ranking, 4, False, alert_below=50.0)
    text = render_digest(calm, "en")
    assert text.startswith("Weekly SIPAS digest – 4 agencies\n")
    assert "Pooled SIPAS: 79.03%" in text
    assert text.endswith("No agency below the 50% alert threshold.")


def test_the_caption_is_the_head_of_the_text_and_fits_telegram() -> None:
    for digest in (ONE_AGENCY, wide_scope()):
        for language in LANGUAGES:
            caption = render_caption(digest, language)
            assert render_digest(digest, language).startswith(caption)
            assert len(caption) <= 1024
            assert caption.count("\n") == 2


def test_the_chart_spec_holds_elements_and_the_trend_with_gaps() -> None:
    weeks = [PREVIOUS] * (TREND_WEEKS - 3) + [index(2, 4), PREVIOUS, CURRENT]
    digest = Digest(ONE_AGENCY.card, trend(*weeks))
    spec = chart_spec(digest, "vi")
    assert spec.title == "UBND xã A · Tuần 28/09/2026 – 04/10/2026"
    assert [bar.label for bar in spec.bars] == [e.title.vi for e in SIPAS.elements]
    assert [bar.value_text for bar in spec.bars][:2] == ["74,4%", "74,4%"]
    assert len(spec.trend) == TREND_WEEKS
    assert spec.trend[0].label == "10/08"
    assert spec.trend[-1].label == "28/09"
    assert spec.trend[-1].estimate == CURRENT.sipas
    gap = spec.trend[-3]
    assert gap.estimate is None
    assert gap.gap_text == "n=4"
    assert spec.trend_title == "SIPAS 8 tuần gần nhất (KTC 95%)"
    assert spec.threshold == 70.0
    assert spec.threshold_label == "Ngưỡng cảnh báo 70%"
    assert chart_spec(digest, "en").trend[0].label == "08-10"


def test_a_suppressed_chart_has_no_bars_but_a_note() -> None:
    digest = Digest(card(index(3, 3), PREVIOUS), trend(PREVIOUS, index(3, 3)))
    spec = chart_spec(digest, "vi")
    assert spec.bars == ()
    assert spec.empty_note == "Chưa đủ phiếu (n=3)"


@pytest.mark.parametrize(("days", "word"), [(7, "Tuần"), (31, "Kỳ")])
def test_a_period_other_than_a_week_is_called_a_period(days: int, word: str) -> None:
    period = Period(date(2026, 10, 1), date(2026, 10, days))
    other = Scorecard("a", "A", SIPAS, period, CURRENT, PREVIOUS, None, 0, MIN)
    text = render_digest(Digest(other, ()), "vi")
    assert text.splitlines()[1].startswith(f"{word} 01/10/2026")
    assert ("Kỳ trước: chưa đủ" in text) == (word == "Kỳ")


def test_both_languages_have_every_phrase() -> None:
    assert keys("vi") == keys("en")


def test_agencies_left_out_of_the_pooled_figure_are_named() -> None:
    digest = wide_scope()
    mixed = Digest(digest.card, digest.trend, digest.ranking, 4, True, not_pooled=("Sở Y tế",))
    text = render_digest(mixed, "vi")
    assert "\nSIPAS chung không gồm Sở Y tế (dùng mẫu phiếu khác).\n" in text
    assert "mẫu phiếu khác" not in render_digest(digest, "vi")
