"""Typed scale answers: digits, full-width digits, keycaps and number words mean 1–5."""

from __future__ import annotations

import unicodedata

import pytest

from survey.answers import read_scale_answer

KEYCAP = "\ufe0f\u20e3"


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        *[(str(n), n) for n in range(1, 6)],
        (" 3 ", 3),
        ("4\n", 4),
        *[(chr(0xFF10 + n), n) for n in range(1, 6)],
        *[(f"{n}{KEYCAP}", n) for n in range(1, 6)],
        ("5\u20e3", 5),
        ("một", 1),
        ("mot", 1),
        ("hai", 2),
        ("ba", 3),
        ("bốn", 4),
        ("bon", 4),
        ("tư", 4),
        ("tu", 4),
        ("năm", 5),
        ("nam", 5),
        ("Năm", 5),
        ("NĂM", 5),
        (unicodedata.normalize("NFD", "năm"), 5),
        (unicodedata.normalize("NFD", "bốn"), 4),
        ("one", 1),
        ("two", 2),
        ("three", 3),
        ("four", 4),
        ("five", 5),
        ("Five", 5),
        (" FOUR ", 4),
    ],
)
def test_typed_answers_are_understood(typed: str, value: int) -> None:
    assert read_scale_answer(typed) == value


@pytest.mark.parametrize(
    "typed",
    [
        "0",
        "6",
        "12",
        "55",
        "-1",
        "4.5",
        "five stars",
        "năm sao",
        "",
        "   ",
        f"0{KEYCAP}",
        f"6{KEYCAP}",
        "０",
        "six",
        "sáu",
        "⭐⭐⭐⭐⭐",
        "không",
    ],
)
def test_anything_else_is_not_an_answer(typed: str) -> None:
    assert read_scale_answer(typed) is None
