"""Tests for survey.period: the period syntax officials type, and week arithmetic."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest

from survey.period import Period, PeriodError, last_full_week, parse_period, weeks_back

TODAY = date(2026, 10, 15)  # a Thursday


def _period(start: str, end: str) -> Period:
    return Period(date.fromisoformat(start), date.fromisoformat(end))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, _period("2026-10-01", "2026-10-31")),
        ("", _period("2026-10-01", "2026-10-31")),
        ("   ", _period("2026-10-01", "2026-10-31")),
        ("month", _period("2026-10-01", "2026-10-31")),
        ("week", _period("2026-10-12", "2026-10-18")),
        ("quarter", _period("2026-10-01", "2026-12-31")),
        ("year", _period("2026-01-01", "2026-12-31")),
        ("MONTH", _period("2026-10-01", "2026-10-31")),
        ("thang", _period("2026-10-01", "2026-10-31")),
        ("tháng", _period("2026-10-01", "2026-10-31")),
        ("tha\u0301ng", _period("2026-10-01", "2026-10-31")),  # decomposed diacritic
        ("tuan", _period("2026-10-12", "2026-10-18")),
        ("tuần", _period("2026-10-12", "2026-10-18")),
        ("quy", _period("2026-10-01", "2026-12-31")),
        ("Quý", _period("2026-10-01", "2026-12-31")),
        ("nam", _period("2026-01-01", "2026-12-31")),
        ("năm", _period("2026-01-01", "2026-12-31")),
        ("2026-10", _period("2026-10-01", "2026-10-31")),
        ("2026-02", _period("2026-02-01", "2026-02-28")),
        ("2028-02", _period("2028-02-01", "2028-02-29")),
        ("2026-3", _period("2026-03-01", "2026-03-31")),
        ("2026-Q3", _period("2026-07-01", "2026-09-30")),
        ("2026-q1", _period("2026-01-01", "2026-03-31")),
        ("2025-Q4", _period("2025-10-01", "2025-12-31")),
        ("2026", _period("2026-01-01", "2026-12-31")),
        ("2026-10-01..2026-10-31", _period("2026-10-01", "2026-10-31")),
        (" 2026-09-15 .. 2026-10-14 ", _period("2026-09-15", "2026-10-14")),
        ("2026-10-05", _period("2026-10-05", "2026-10-05")),
        ("2026-10-05..2026-10-05", _period("2026-10-05", "2026-10-05")),
    ],
)
def test_parse_period_accepts_every_syntax(text: str | None, expected: Period) -> None:
    assert parse_period(text, TODAY) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 1, 1), _period("2026-01-01", "2026-03-31")),
        (date(2026, 3, 31), _period("2026-01-01", "2026-03-31")),
        (date(2026, 4, 1), _period("2026-04-01", "2026-06-30")),
        (date(2026, 12, 31), _period("2026-10-01", "2026-12-31")),
    ],
)
def test_current_quarter_contains_today(today: date, expected: Period) -> None:
    assert parse_period("quarter", today) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 10, 12), _period("2026-10-12", "2026-10-18")),  # Monday
        (date(2026, 10, 18), _period("2026-10-12", "2026-10-18")),  # Sunday
        (date(2026, 12, 31), _period("2026-12-28", "2027-01-03")),  # across a year end
    ],
)
def test_current_week_runs_monday_to_sunday(today: date, expected: Period) -> None:
    assert parse_period("week", today) == expected


@pytest.mark.parametrize(
    "text",
    [
        "fortnight",
        "2026-13",
        "2026-00",
        "2026-Q5",
        "2026-Q0",
        "2026-02-30",
        "2026-10-31..2026-10-01",
        "2026-10-01..2026-13-01",
        "2000-01-01..2026-12-31",
        "0000",
        "26-10",
        "2026/10",
        "2026-10-01..",
        "month week",
    ],
)
def test_bad_periods_raise_with_an_example(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, TODAY)
    assert caught.value.text == text
    assert "2026-10-01..2026-10-31" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_ten_years_is_within_the_limit() -> None:
    period = parse_period("2016-01-01..2025-12-31", TODAY)
    assert period.days == 3653


@pytest.mark.parametrize(
    ("period", "days", "previous"),
    [
        (_period("2026-10-01", "2026-10-31"), 31, _period("2026-08-31", "2026-09-30")),
        (_period("2026-10-12", "2026-10-18"), 7, _period("2026-10-05", "2026-10-11")),
        (_period("2026-10-05", "2026-10-05"), 1, _period("2026-10-04", "2026-10-04")),
        (_period("2026-01-01", "2026-03-31"), 90, _period("2025-10-03", "2025-12-31")),
    ],
)
def test_previous_has_equal_length_and_ends_the_day_before(
    period: Period, days: int, previous: Period
) -> None:
    assert period.days == days
    assert period.previous() == previous
    assert period.previous().days == days


def test_period_str_and_order() -> None:
    october = _period("2026-10-01", "2026-10-31")
    assert str(october) == "2026-10-01..2026-10-31"
    assert october.previous() < october


def test_period_refuses_end_before_start() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        _period("2026-10-31", "2026-10-01")


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 10, 15), _period("2026-10-05", "2026-10-11")),  # Thursday
        (date(2026, 10, 12), _period("2026-10-05", "2026-10-11")),  # Monday
        (date(2026, 10, 18), _period("2026-10-05", "2026-10-11")),  # Sunday
        (date(2027, 1, 1), _period("2026-12-21", "2026-12-27")),  # across a year end
    ],
)
def test_last_full_week_is_the_week_before_todays(today: date, expected: Period) -> None:
    assert last_full_week(today) == expected
    assert expected.start.weekday() == 0
    assert expected.end.weekday() == 6


def test_weeks_back_lists_consecutive_weeks_oldest_first() -> None:
    last = _period("2026-10-05", "2026-10-11")
    weeks = weeks_back(last, 8)
    assert len(weeks) == 8
    assert weeks[-1] == last
    assert weeks[0] == _period("2026-08-17", "2026-08-23")
    for earlier, later in pairwise(weeks):
        assert later.previous() == earlier


@pytest.mark.parametrize(("count", "length"), [(0, 0), (1, 1)])
def test_weeks_back_small_counts(count: int, length: int) -> None:
    assert len(weeks_back(_period("2026-10-05", "2026-10-11"), count)) == length


def test_weeks_back_refuses_negative_count() -> None:
    with pytest.raises(ValueError, match="count"):
        weeks_back(_period("2026-10-05", "2026-10-11"), -1)
