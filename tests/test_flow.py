"""The survey state machine: what each input does at each step, without storage or clock."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

import pytest

from bot.questionnaires import load_catalogue
from survey.flow import (
    EDIT,
    Action,
    Back,
    Declined,
    ExtraAnswer,
    Invalid,
    Moved,
    Outcome,
    Pick,
    Progress,
    ScaleAnswer,
    Stale,
    Status,
    Typed,
    advance,
    current_step,
    held_field,
    moved_on,
    send_value,
    steps,
)
from survey.models import Questionnaire

CATALOGUE = load_catalogue()
SIPAS = CATALOGUE["sipas-2023"]
COUNTER = CATALOGUE["counter-5"]
# sipas-2023: consent, 19 statements, then procedure, sex, age_group, education, comment.
FIRST_STATEMENT, LAST_STATEMENT = 1, 19
PROCEDURE, SEX, AGE, EDUCATION, COMMENT = 20, 21, 22, 23, 24
NO_NA = Questionnaire.model_validate(
    {**COUNTER.model_dump(mode="python"), "id": "no-na", "not_applicable": False}
)


def _at(
    position: int, questionnaire: Questionnaire = SIPAS, status: Status = "in_progress"
) -> Progress:
    return Progress(
        response_id=7,
        agency="ubnd_xa_a",
        questionnaire=questionnaire.id,
        position=position,
        status=status,
    )


def _do(position: int, action: Action, questionnaire: Questionnaire = SIPAS) -> Outcome:
    return advance(questionnaire, _at(position, questionnaire), position, action)


def test_a_survey_is_consent_then_statements_then_optional_steps() -> None:
    kinds = [step.kind for step in steps(SIPAS)]
    assert kinds == ["consent"] + ["scale"] * 19 + ["choice"] * 4 + ["text"]
    keys = [step.key for step in steps(SIPAS)]
    assert keys[FIRST_STATEMENT] == "access_1"
    assert keys[LAST_STATEMENT] == "feedback_3"
    assert keys[PROCEDURE:] == ["procedure", "sex", "age_group", "education", "comment"]


@pytest.mark.parametrize(
    "action",
    [Pick("yes"), Typed("đồng ý"), Typed("Dong y"), Typed(" agree "), Typed("YES"), Typed("có")],
)
def test_agreeing_opens_the_first_statement_and_records_nothing(action: Action) -> None:
    assert _do(0, action) == Moved(FIRST_STATEMENT, None, completed=False)


@pytest.mark.parametrize("action", [Pick("no"), Typed("không"), Typed("khong"), Typed("No")])
def test_declining_ends_the_survey(action: Action) -> None:
    assert _do(0, action) == Declined()


@pytest.mark.parametrize("action", [Pick("5"), Pick("skip"), Typed("maybe"), Typed("")])
def test_anything_else_at_consent_asks_again(action: Action) -> None:
    outcome = _do(0, action)
    assert isinstance(outcome, Invalid)
    assert outcome.step.kind == "consent"


@pytest.mark.parametrize(
    ("action", "value"),
    [
        *[(Pick(str(n)), n) for n in range(1, 6)],
        (Pick("na"), None),
        (Typed("4"), 4),
        (Typed(" 2 "), 2),
        (Typed("５"), 5),
        (Typed("năm"), 5),
        (Typed("0"), None),
        (Typed("NA"), None),
        (Typed("không áp dụng"), None),
        (Typed("Khong ap dung"), None),
    ],
)
def test_a_statement_takes_a_scale_value_or_not_applicable(
    action: Action, value: int | None
) -> None:
    assert _do(FIRST_STATEMENT, action) == Moved(
        FIRST_STATEMENT + 1, ScaleAnswer("access_1", value), completed=False
    )


@pytest.mark.parametrize(
    "action", [Pick("6"), Pick("0x"), Pick("yes"), Pick("skip"), Typed("6"), Typed("very good")]
)
def test_a_statement_refuses_anything_off_the_scale(action: Action) -> None:
    outcome = _do(FIRST_STATEMENT, action)
    assert isinstance(outcome, Invalid)
    assert outcome.step.kind == "scale"


@pytest.mark.parametrize("action", [Pick("na"), Typed("0"), Typed("na")])
def test_not_applicable_is_refused_where_the_questionnaire_does_not_allow_it(
    action: Action,
) -> None:
    assert isinstance(_do(FIRST_STATEMENT, action, NO_NA), Invalid)


@pytest.mark.parametrize(
    ("position", "action", "record"),
    [
        (PROCEDURE, Pick("land"), ExtraAnswer("procedure", "land")),
        (SEX, Pick("female"), ExtraAnswer("sex", "female")),
        (SEX, Typed("Nữ"), ExtraAnswer("sex", "female")),
        (SEX, Typed("male"), ExtraAnswer("sex", "male")),
        (AGE, Pick("over_60"), ExtraAnswer("age_group", "over_60")),
        (EDUCATION, Pick("other"), ExtraAnswer("education", "other")),
        (PROCEDURE, Pick("skip"), ExtraAnswer("procedure", None)),
        (EDUCATION, Pick("skip"), ExtraAnswer("education", None)),
        (COMMENT, Typed("  Cần thêm ghế chờ.  "), ExtraAnswer("comment", "Cần thêm ghế chờ.")),
        (COMMENT, Pick("skip"), ExtraAnswer("comment", None)),
    ],
)
def test_optional_steps_take_an_answer_or_a_skip(
    position: int, action: Action, record: ExtraAnswer
) -> None:
    outcome = _do(position, action)
    assert isinstance(outcome, Moved)
    assert outcome.record == record
    assert outcome.position == position + 1


@pytest.mark.parametrize(
    ("position", "action"),
    [
        (SEX, Pick("other")),
        (SEX, Typed("5")),
        (AGE, Typed("45")),
        (COMMENT, Pick("5")),
        (COMMENT, Typed("   ")),
    ],
)
def test_optional_steps_refuse_what_they_do_not_offer(position: int, action: Action) -> None:
    assert isinstance(_do(position, action), Invalid)


def test_a_comment_may_be_as_long_as_the_limit_and_no_longer() -> None:
    comment = steps(SIPAS)[COMMENT].optional
    assert comment is not None
    limit = comment.max_length
    at_limit = _do(COMMENT, Typed("a" * limit))
    assert isinstance(at_limit, Moved)
    assert at_limit.record == ExtraAnswer("comment", "a" * limit)
    assert isinstance(_do(COMMENT, Typed("a" * (limit + 1))), Invalid)


@pytest.mark.parametrize(
    ("questionnaire", "last"), [(SIPAS, COMMENT), (COUNTER, len(steps(COUNTER)) - 1)]
)
def test_only_the_last_step_completes_the_survey(questionnaire: Questionnaire, last: int) -> None:
    before_last = advance(questionnaire, _at(last - 1, questionnaire), last - 1, Pick("skip"))
    at_last = advance(questionnaire, _at(last, questionnaire), last, Pick("skip"))
    assert isinstance(at_last, Moved)
    assert at_last.completed
    assert at_last.position == last + 1
    assert not (isinstance(before_last, Moved) and before_last.completed)


def test_a_survey_without_optional_steps_completes_at_its_last_statement() -> None:
    bare = Questionnaire.model_validate({**COUNTER.model_dump(mode="python"), "optional": ()})
    outcome = advance(bare, _at(5, bare), 5, Pick("4"))
    assert outcome == Moved(6, ScaleAnswer("feedback_1", 4), completed=True)


@pytest.mark.parametrize("position", [2, LAST_STATEMENT, PROCEDURE, COMMENT])
def test_back_returns_to_the_previous_step_without_recording(position: int) -> None:
    assert _do(position, Back()) == Moved(position - 1, None, completed=False)


@pytest.mark.parametrize("position", [0, FIRST_STATEMENT])
def test_there_is_no_going_back_before_the_first_statement(position: int) -> None:
    assert _do(position, Back()) == Stale()


@pytest.mark.parametrize("pressed_at", [0, FIRST_STATEMENT, 4, 6, 30])
def test_an_input_for_another_step_counts_nothing(pressed_at: int) -> None:
    assert advance(SIPAS, _at(5), pressed_at, Pick("5")) == Stale()
    assert advance(SIPAS, _at(5), pressed_at, Back()) == Stale()


@pytest.mark.parametrize("status", ["completed", "cancelled"])
def test_a_closed_response_takes_no_more_answers(status: Status) -> None:
    progress = _at(5, status=status)
    assert current_step(SIPAS, progress) is None
    assert advance(SIPAS, progress, 5, Pick("5")) == Stale()


def test_a_response_past_its_last_step_takes_no_more_answers() -> None:
    progress = _at(len(steps(SIPAS)))
    assert current_step(SIPAS, progress) is None
    assert advance(SIPAS, progress, progress.position, Pick("skip")) == Stale()


def test_the_current_step_is_the_one_at_the_position() -> None:
    step = current_step(SIPAS, _at(3))
    assert step is not None
    assert step.key == "access_3"
    assert step.criterion is not None
    assert step.criterion.id == "access_3"


@pytest.mark.parametrize(
    ("position", "typed", "expected"),
    [
        pytest.param(0, "đồng ý", Moved(1, None, completed=False), id="consent"),
        pytest.param(1, "không áp dụng", ScaleAnswer("access_1", None), id="not-applicable"),
        pytest.param(SEX, "Nữ", ExtraAnswer("sex", "female"), id="option"),
    ],
)
def test_decomposed_vietnamese_is_understood_like_composed(
    position: int, typed: str, expected: Moved | ScaleAnswer | ExtraAnswer
) -> None:
    outcome = _do(position, Typed(unicodedata.normalize("NFD", typed)))
    assert isinstance(outcome, Moved)
    assert expected in (outcome, outcome.record)


HELD = "gọi 0912 345 678"


def _held(draft: str | None = HELD) -> Progress:
    extras = {} if draft is None else {held_field("comment"): draft}
    return replace(_at(COMMENT), extras=extras)


@pytest.mark.parametrize(
    ("draft", "action", "outcome"),
    [
        # A comment with a phone or ID-card number is held at the same step, not recorded.
        (None, Typed(HELD), Moved(COMMENT, ExtraAnswer("comment_held", HELD), False)),
        (
            None,
            Typed("CMND 182345678"),
            Moved(COMMENT, ExtraAnswer("comment_held", "CMND 182345678"), False),
        ),
        # Sending it as is records it and completes; editing drops the draft; skip skips.
        (HELD, Pick(send_value(HELD)), Moved(COMMENT + 1, ExtraAnswer("comment", HELD), True)),
        (HELD, Pick(EDIT), Moved(COMMENT, ExtraAnswer("comment_held", None), False)),
        (HELD, Pick("skip"), Moved(COMMENT + 1, ExtraAnswer("comment", None), True)),
        # A new text replaces the draft; one without a number is the comment.
        (HELD, Typed("Rất tốt"), Moved(COMMENT + 1, ExtraAnswer("comment", "Rất tốt"), True)),
        # The send button of another draft, or with no draft: nothing is sent.
        (HELD, Pick(send_value("gọi 0987 654 321")), Stale()),
        (None, Pick(send_value(HELD)), Stale()),
        (None, Pick(EDIT), Stale()),
        # A number off the confirmation's list is a slip, not a comment.
        (HELD, Typed("3"), Invalid(steps(SIPAS)[COMMENT], "choice")),
        # Only invisible characters: no comment, asked again.
        (None, Typed("\u200b\u200b \ufeff"), Invalid(steps(SIPAS)[COMMENT], "empty")),
    ],
)
def test_a_comment_with_a_personal_number_waits_for_confirmation(
    draft: str | None, action: Action, outcome: Outcome
) -> None:
    progress = _held(draft)
    assert advance(SIPAS, progress, COMMENT, action) == outcome


def test_a_stored_answer_replaces_the_held_draft() -> None:
    held = moved_on(_held(None), Moved(COMMENT, ExtraAnswer("comment_held", HELD), False))
    assert held.extras == {"comment_held": HELD}
    assert held.position == COMMENT
    edited = moved_on(held, Moved(COMMENT, ExtraAnswer("comment_held", None), False))
    assert edited.extras == {}
    sent = moved_on(held, Moved(COMMENT + 1, ExtraAnswer("comment", HELD), True))
    assert sent.extras == {"comment": HELD}
    assert sent.status == "completed"
