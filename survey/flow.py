"""The survey as a pure state machine: consent → statements → optional steps → done.

The caller owns time and storage: it loads a `Progress`, asks `advance` what an input means at
the step the input was made for, stores the returned `Record` together with the new position
(atomically, guarded by the old one), and only then replies.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from survey.answers import read_number, read_scale_answer
from survey.comments import clean_comment, personal_number_in
from survey.models import Criterion, OptionalStep, Questionnaire

Status = Literal["in_progress", "completed", "cancelled"]
CONSENT = "consent"
NOT_APPLICABLE = "na"
SKIP = "skip"
AGREE = "yes"
DECLINE = "no"
EDIT = "edit"
_SEND = "send_"
_HELD = "_held"


@dataclass(frozen=True)
class Step:
    """One screen of the survey: consent, a scale statement, a choice or a free text."""

    key: str
    kind: Literal["consent", "scale", "choice", "text"]
    criterion: Criterion | None = None
    optional: OptionalStep | None = None


def steps(questionnaire: Questionnaire) -> tuple[Step, ...]:
    """Every step of a questionnaire in the order a citizen meets them."""
    # Asked several times per answer; a questionnaire is immutable and lives as long as the
    # process, so its steps are built once (keyed by identity: hashing the form costs more).
    cached = _STEPS.get(id(questionnaire))
    if cached is not None and cached[0] is questionnaire:
        return cached[1]
    consent = Step(CONSENT, "consent")
    statements = tuple(Step(c.id, "scale", criterion=c) for c in questionnaire.criteria)
    extras = tuple(Step(s.id, s.kind, optional=s) for s in questionnaire.optional)
    built = (consent, *statements, *extras)
    if len(_STEPS) >= 64:  # a process has a handful of forms; tests may make thousands
        _STEPS.clear()
    _STEPS[id(questionnaire)] = (questionnaire, built)
    return built


_STEPS: dict[int, tuple[Questionnaire, tuple[Step, ...]]] = {}


@dataclass(frozen=True)
class Progress:
    """Where one response stands: what the citizen has answered and which step is current."""

    response_id: int
    agency: str
    questionnaire: str
    position: int
    status: Status = "in_progress"
    answers: Mapping[str, int | None] = field(default_factory=dict)
    extras: Mapping[str, str | None] = field(default_factory=dict)


# What a citizen did, at the step they did it for.
@dataclass(frozen=True)
class Pick:
    """A button pressed: a scale value, `na`, `yes`/`no`, an option id, or `skip`."""

    value: str


@dataclass(frozen=True)
class Typed:
    """Free text typed where the survey expected an answer."""

    text: str


@dataclass(frozen=True)
class Back:
    """Go back one step to change the previous answer."""


Action = Pick | Typed | Back


# What the survey makes of it.
@dataclass(frozen=True)
class ScaleAnswer:
    criterion: str
    value: int | None  # None = not applicable


@dataclass(frozen=True)
class ExtraAnswer:
    field: str
    value: str | None  # None = skipped


Record = ScaleAnswer | ExtraAnswer


@dataclass(frozen=True)
class Moved:
    """Accepted: store `record` (if any) and move to `position`; `completed` past the end."""

    position: int
    record: Record | None
    completed: bool


@dataclass(frozen=True)
class Declined:
    """The citizen did not consent (or is not eligible): end politely and store nothing."""


@dataclass(frozen=True)
class Stale:
    """The input was for another step, or the response is closed: count nothing."""


@dataclass(frozen=True)
class Invalid:
    """The input makes no sense at this step: re-ask with a hint (`reason` for a text)."""

    step: Step
    reason: Literal["empty", "too_long", "choice"] | None = None


Outcome = Moved | Declined | Stale | Invalid


def moved_on(progress: Progress, moved: Moved) -> Progress:
    """The progress once `moved` is stored (what storage would read back)."""
    answers, extras = dict(progress.answers), dict(progress.extras)
    if isinstance(moved.record, ScaleAnswer):
        answers[moved.record.criterion] = moved.record.value
    elif isinstance(moved.record, ExtraAnswer):
        field_, value = moved.record.field, moved.record.value
        # An answer replaces its held draft; a held draft of None is no draft (as stored).
        extras.pop(field_ if is_held(field_) else held_field(field_), None)
        if value is not None or not is_held(field_):
            extras[field_] = value
    status: Status = "completed" if moved.completed else "in_progress"
    return replace(
        progress, position=moved.position, status=status, answers=answers, extras=extras
    )


def current_step(questionnaire: Questionnaire, progress: Progress) -> Step | None:
    """The step waiting for an answer, or None once the response is closed."""
    all_steps = steps(questionnaire)
    if progress.status != "in_progress" or progress.position >= len(all_steps):
        return None
    return all_steps[progress.position]


def advance(
    questionnaire: Questionnaire, progress: Progress, position: int, action: Action
) -> Outcome:
    """Decide what `action`, made at step `position`, does to `progress`."""
    step = current_step(questionnaire, progress)
    if step is None or position != progress.position:
        return Stale()
    if isinstance(action, Back):
        if position <= 1:  # nothing to go back to before the first statement
            return Stale()
        return Moved(position - 1, None, completed=False)
    record = _read(step, questionnaire, action, progress.extras)
    if isinstance(record, Declined | Invalid | Stale):
        return record
    if isinstance(record, ExtraAnswer) and is_held(record.field):
        return Moved(position, record, completed=False)  # asked to confirm (or to edit) first
    last = len(steps(questionnaire)) - 1
    return Moved(position + 1, record, completed=position == last)


def _read(
    step: Step,
    questionnaire: Questionnaire,
    action: Pick | Typed,
    extras: Mapping[str, str | None],
) -> Record | Declined | Invalid | Stale | None:
    """The record an input makes at a step; None for consent, which records nothing itself."""
    if step.kind == "consent":
        answer = action.value if isinstance(action, Pick) else _consent_word(action.text)
        if answer == AGREE:
            return None
        if answer == DECLINE:
            return Declined()
        return Invalid(step)
    if step.kind == "scale":
        assert step.criterion is not None
        value = _scale_value(action, questionnaire.not_applicable)
        if value is None:
            return Invalid(step)
        return ScaleAnswer(step.criterion.id, None if value == NOT_APPLICABLE else int(value))
    assert step.optional is not None
    if isinstance(action, Pick) and action.value == SKIP:
        return ExtraAnswer(step.optional.id, None)
    if step.kind == "choice":
        option = _option(step.optional, action)
        return Invalid(step) if option is None else ExtraAnswer(step.optional.id, option)
    return _comment(step, step.optional, action, extras.get(held_field(step.optional.id)))


def _comment(
    step: Step, optional: OptionalStep, action: Pick | Typed, held: str | None
) -> Record | Invalid | Stale:
    """Free text, cleaned; one that seems to carry a phone or ID-card number is held (stored
    as a draft, not as the comment) until the citizen sends it as is or edits it."""
    if isinstance(action, Pick):
        if held is not None and action.value == send_value(held):
            return ExtraAnswer(optional.id, held)
        if held is not None and action.value == EDIT:
            return ExtraAnswer(held_field(optional.id), None)
        if action.value.startswith(_SEND) or action.value == EDIT:
            return Stale()  # a button of an earlier draft: never send what it did not show
        return Invalid(step)
    if held is not None and read_number(action.text) is not None:
        return Invalid(step, "choice")  # a number not on the confirmation's list: not a comment
    text = clean_comment(action.text)
    if not text:
        return Invalid(step, "empty")  # only invisible characters: no comment
    if len(text) > optional.max_length:
        return Invalid(step, "too_long")
    if personal_number_in(text) is not None:
        return ExtraAnswer(held_field(optional.id), text)
    return ExtraAnswer(optional.id, text)


def held_field(field_: str) -> str:
    """Where a free-text answer waits for the citizen's confirmation (an extras field)."""
    return f"{field_}{_HELD}"


def is_held(field_: str) -> bool:
    """Whether an extras field is a held draft rather than an answer."""
    return field_.endswith(_HELD)


def send_value(held: str) -> str:
    """The "send as is" button's value, naming the draft it was shown for."""
    return _SEND + hashlib.sha256(held.encode()).hexdigest()[:8]


def _scale_value(action: Pick | Typed, allow_na: bool) -> str | None:
    raw = action.value if isinstance(action, Pick) else action.text
    if allow_na and _normal(raw) == NOT_APPLICABLE:
        return NOT_APPLICABLE
    value = read_scale_answer(raw)
    if value is None:
        return NOT_APPLICABLE if allow_na and value_is_na(raw) else None
    return str(value)


def _normal(text: str) -> str:
    """Typed text compared as composed, case-folded words (some keyboards send NFD)."""
    return unicodedata.normalize("NFC", " ".join(text.split())).casefold()


def value_is_na(raw: str) -> bool:
    """Whether typed text means "not applicable" (`0`, `na`, `không áp dụng`)."""
    return _normal(raw) in {"0", "na", "n/a", "không áp dụng", "khong ap dung"}


def _option(step: OptionalStep, action: Pick | Typed) -> str | None:
    if isinstance(action, Pick):
        return action.value if any(o.id == action.value for o in step.options) else None
    wanted = _normal(action.text)
    for option in step.options:
        if wanted in {_normal(option.text.vi), _normal(option.text.en)}:
            return option.id
    return None


def _consent_word(text: str) -> str | None:
    word = _normal(text)
    if word in {"đồng ý", "dong y", "agree", "yes", "có", "co"}:
        return AGREE
    if word in {"không", "khong", "no", "decline"}:
        return DECLINE
    return None
