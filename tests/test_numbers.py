"""Tests for survey.numbers: Vietnamese and English number, percent, interval and date formats."""

from __future__ import annotations

from datetime import date

import pytest

from survey.numbers import format_date, format_interval, format_number, format_percent


@pytest.mark.parametrize(
    ("value", "language", "digits", "expected"),
    [
        (82.66, "vi", 2, "82,66%"),
        (82.66, "en", 2, "82.66%"),
        (82.666, "vi", 2, "82,67%"),
        (82.888, "vi", 1, "82,9%"),
        (100.0, "vi", 2, "100,00%"),
        (0.0, "en", 0, "0%"),
        (-0.001, "vi", 2, "0,00%"),
    ],
)
def test_format_percent(value: float, language: str, digits: int, expected: str) -> None:
    assert format_percent(value, language, digits) == expected


@pytest.mark.parametrize(
    ("value", "language", "digits", "expected"),
    [
        (1234.5, "vi", 1, "1.234,5"),
        (1234.5, "en", 1, "1,234.5"),
        (1234567.891, "vi", 2, "1.234.567,89"),
        (1234567.891, "en", 2, "1,234,567.89"),
        (36525, "vi", 0, "36.525"),
        (-2.5, "vi", 2, "-2,50"),
        (0.5, "en", 3, "0.500"),
    ],
)
def test_format_number(value: float, language: str, digits: int, expected: str) -> None:
    assert format_number(value, language, digits) == expected


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [(1.5, "vi", "+1,50%"), (-1.5, "en", "-1.50%"), (0.001, "vi", "0,00%")],
)
def test_signed_change(value: float, language: str, expected: str) -> None:
    assert format_percent(value, language, sign=True) == expected


@pytest.mark.parametrize(
    ("low", "high", "language", "expected"),
    [
        (80.1, 85.0, "vi", "80,10–85,00"),
        (80.1, 85.0, "en", "80.10–85.00"),
        (0.0, 100.0, "vi", "0,00–100,00"),
    ],
)
def test_format_interval(low: float, high: float, language: str, expected: str) -> None:
    assert format_interval(low, high, language) == expected


@pytest.mark.parametrize(
    ("day", "language", "expected"),
    [
        (date(2026, 10, 31), "vi", "31/10/2026"),
        (date(2026, 10, 31), "en", "2026-10-31"),
        (date(2026, 1, 5), "vi", "05/01/2026"),
        (date(2026, 1, 5), "en", "2026-01-05"),
    ],
)
def test_format_date(day: date, language: str, expected: str) -> None:
    assert format_date(day, language) == expected


def test_negative_digits_are_refused() -> None:
    with pytest.raises(ValueError, match="digits"):
        format_number(1.0, "vi", -1)
