"""Numbered text for channels without buttons: the Zalo UI contract, and typed input forms."""

from __future__ import annotations

import re
import unicodedata

import pytest

from bot.questionnaires import load_catalogue
from survey.actions import Answer, GoBack, decode
from survey.answers import read_command_word, read_number
from survey.flow import Progress, steps
from survey.models import Language
from survey.numbered import HELP, render_numbered
from survey.screens import (
    AgencyEntry,
    Choice,
    Screen,
    agency_screen,
    consent_screen,
    resume_screen,
    step_screen,
)

KEYCAP = "\ufe0f\u20e3"
CATALOGUE = load_catalogue()
LINE = re.compile(r"^(\d+) – (.+)$", re.MULTILINE)


def listed(text: str) -> dict[int, str]:
    return {int(number): label for number, label in LINE.findall(text)}


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        *[(str(n), n) for n in range(10)],
        ("12", 12),
        (" 3 ", 3),
        *[(chr(0xFF10 + n), n) for n in range(10)],  # full-width digits
        *[(f"{n}{KEYCAP}", n) for n in range(10)],  # keycap emoji
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
        ("NĂM", 5),
        (unicodedata.normalize("NFD", "bốn"), 4),
        ("five", 5),
    ],
)
def test_typed_numbers_are_read_the_same_on_every_channel(typed: str, number: int) -> None:
    assert read_number(typed) == number


@pytest.mark.parametrize(
    "typed",
    ["", "  ", "100", "-1", "4.5", "1,5", "5 sao", "năm sao", "sáu", "⭐", "1 2", "một hai", "x"],
)
def test_other_text_is_not_a_number(typed: str) -> None:
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
        ("dừng", "cancel"),
        ("cancel", "cancel"),
        ("hướng dẫn", "help"),
        ("help", "help"),
        (unicodedata.normalize("NFD", "quay lại"), "back"),
    ],
)
def test_typed_command_words(typed: str, word: str) -> None:
    assert read_command_word(typed) == word


@pytest.mark.parametrize("typed", ["quay", "bỏ", "không", "tốt", "quay lại đi", ""])
def test_other_words_are_not_commands(typed: str) -> None:
    assert read_command_word(typed) is None


def every_screen(questionnaire_id: str, language: Language) -> list[Screen]:
    questionnaire = CATALOGUE[questionnaire_id]
    shown = [consent_screen(questionnaire, 7, "UBND xã A", language)]
    for position in range(1, len(steps(questionnaire)) - 1):
        progress = Progress(7, "ubnd_xa_a", questionnaire_id, position)
        shown.append(step_screen(questionnaire, progress, language, typed=True))
    shown.append(
        resume_screen(questionnaire, Progress(7, "a", questionnaire_id, 3), "A", language)
    )
    return shown


@pytest.mark.parametrize("questionnaire_id", ["sipas-2023", "sipas-2017", "counter-5"])
@pytest.mark.parametrize("language", ["vi", "en"])
def test_only_statements_list_one_to_five_and_one_moves_forward_elsewhere(
    questionnaire_id: str, language: Language
) -> None:
    statements = 0
    for screen in every_screen(questionnaire_id, language):
        numbered = render_numbered(screen, language)
        shown = listed(numbered.text)
        menu = dict(numbered.menu)
        assert set(shown) == set(menu)
        if set(shown) in ({1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5}):
            statements += 1
            for value in range(1, 6):  # the number is the scale value itself
                action = decode(menu[value])
                assert isinstance(action, Answer)
                assert action.value == str(value)
            continue
        assert not isinstance(decode(menu[1]), GoBack)  # `1` moves forward
    assert statements == len(CATALOGUE[questionnaire_id].criteria)


def test_back_is_typed_not_numbered_and_said_so() -> None:
    questionnaire = CATALOGUE["sipas-2023"]
    numbered = render_numbered(
        step_screen(questionnaire, Progress(7, "a", "sipas-2023", 2), "vi", typed=True), "vi"
    )
    assert set(listed(numbered.text)) == {0, 1, 2, 3, 4, 5}
    assert "quay lại" in numbered.text
    assert listed(numbered.text)[5] == "Rất hài lòng"  # no doubled digit from the button label


@pytest.mark.parametrize("options", [3, 4, 5, 6])
def test_a_choice_step_never_looks_like_a_scale(options: int) -> None:
    choices = [Choice(f"Option {n}", Answer(7, 21, f"o{n}")) for n in range(options)]
    skip = Choice("Bỏ qua", Answer(7, 21, "skip"))
    numbered = render_numbered(Screen("Which?", (*((c,) for c in choices), (skip,))), "vi")
    shown = set(listed(numbered.text))
    assert shown not in ({1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5})
    assert dict(numbered.menu)[1] == "1|a|7|21|o0"
    assert dict(numbered.menu)[0] == "1|a|7|21|skip"
    if options == 5:
        assert dict(numbered.menu)[9] == HELP


@pytest.mark.parametrize("count", [1, 4, 5, 6, 13])
def test_an_agency_list_never_looks_like_a_scale(count: int) -> None:
    entries = [AgencyEntry(f"a{n}", f"Agency {n}") for n in range(count)]
    numbered = render_numbered(agency_screen(entries, 0, "vi", "Chọn:"), "vi")
    shown = set(listed(numbered.text))
    assert shown not in ({1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5})
    assert dict(numbered.menu)[1] == "1|g|a0"


def test_a_screen_without_choices_lists_none() -> None:
    numbered = render_numbered(Screen("Cảm ơn Ông/Bà!"), "vi")
    assert numbered.menu == ()
    assert numbered.text == "Cảm ơn Ông/Bà!"
