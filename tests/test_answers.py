"""Typed input, the same on every channel: scale answers, choice numbers, command words."""

from __future__ import annotations

import unicodedata

import pytest

from survey.answers import read_command_word, read_number, read_scale_answer

KEYCAP = "\ufe0f\u20e3"


SCALE_FORMS = [
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
]


@pytest.mark.parametrize(("typed", "value"), SCALE_FORMS)
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


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        *SCALE_FORMS,  # every form of a scale answer is also a choice number
        *[(str(n), n) for n in (0, 6, 7, 8, 9, 12)],
        *[(chr(0xFF10 + n), n) for n in (0, 6, 9)],  # full-width digits
        *[(f"{n}{KEYCAP}", n) for n in (0, 6, 9)],  # keycap emoji
    ],
)
def test_typed_choice_numbers_are_read_the_same_on_every_channel(typed: str, number: int) -> None:
    assert read_number(typed) == number


@pytest.mark.parametrize(
    "typed",
    ["", "  ", "100", "-1", "4.5", "1,5", "5 sao", "năm sao", "sáu", "⭐", "1 2", "một hai", "x"],
)
def test_other_text_is_not_a_choice_number(typed: str) -> None:
    assert read_number(typed) is None


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("quay lại", "back"),
        ("Quay lai", "back"),
        ("QUAY LẠI", "back"),
        ("trở lại", "back"),
        ("back", "back"),
        ("bỏ qua", "skip"),
        ("bo qua", "skip"),
        ("Bỏ qua.", "skip"),
        ("skip", "skip"),
        ("hủy", "cancel"),
        ("huỷ", "cancel"),
        ("huy", "cancel"),
        ("cancel", "cancel"),
        ("hướng dẫn", "help"),
        ("help", "help"),
        (unicodedata.normalize("NFD", "quay lại"), "back"),
    ],
)
def test_typed_command_words(typed: str, word: str) -> None:
    assert read_command_word(typed) == word


@pytest.mark.parametrize(
    "typed", ["quay", "bỏ", "không", "tốt", "quay lại đi", "", "đúng", "dung", "Đúng rồi"]
)
def test_other_words_are_not_commands(typed: str) -> None:
    assert read_command_word(typed) is None
