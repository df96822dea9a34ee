"""Numbered text for channels without buttons: the Zalo UI contract, and typed input forms."""

from __future__ import annotations

import re

import pytest

from bot.questionnaires import load_catalogue
from survey.actions import Answer, GoBack, decode
from survey.agencies import Agency
from survey.flow import Progress, steps
from survey.models import Language
from survey.numbered import HELP, render_numbered
from survey.screens import (
    Choice,
    Screen,
    agency_screen,
    consent_screen,
    resume_screen,
    step_screen,
)

CATALOGUE = load_catalogue()
LINE = re.compile(r"^(\d+) – (.+)$", re.MULTILINE)


def listed(text: str) -> dict[int, str]:
    return {int(number): label for number, label in LINE.findall(text)}


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
    entries = [Agency(f"a{n}", f"Agency {n}", "sipas-2023") for n in range(count)]
    numbered = render_numbered(agency_screen(entries, 0, "vi", "Chọn:"), "vi")
    shown = set(listed(numbered.text))
    assert shown not in ({1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5})
    assert dict(numbered.menu)[1] == "1|g|a0"


def test_a_screen_without_choices_lists_none() -> None:
    numbered = render_numbered(Screen("Cảm ơn Ông/Bà!"), "vi")
    assert numbered.menu == ()
    assert numbered.text == "Cảm ơn Ông/Bà!"
