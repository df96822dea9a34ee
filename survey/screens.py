"""What the citizen sees at each step, channel-neutral: a text and rows of labelled choices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from survey.actions import AgencyPage, Answer, ButtonAction, ChooseAgency, Forget, GoBack, Resume
from survey.actions import SetLanguage as SetLanguageAction
from survey.agencies import Agencies, Agency
from survey.flow import (
    AGREE,
    DECLINE,
    EDIT,
    NOT_APPLICABLE,
    SKIP,
    ExtraAnswer,
    Progress,
    Record,
    ScaleAnswer,
    Step,
    held_field,
    is_held,
    send_value,
)
from survey.flow import steps as all_steps
from survey.models import Language, Questionnaire
from survey.texts import say

AGENCIES_PER_PAGE = 6


@dataclass(frozen=True)
class Choice:
    label: str
    action: ButtonAction


@dataclass(frozen=True)
class Screen:
    """A message: text plus rows of choices (buttons on Telegram, numbered lines elsewhere)."""

    text: str
    rows: tuple[tuple[Choice, ...], ...] = ()

    @property
    def choices(self) -> tuple[Choice, ...]:
        return tuple(choice for row in self.rows for choice in row)


def step_screen(
    questionnaire: Questionnaire, progress: Progress, language: Language, typed: bool = False
) -> Screen:
    """The screen asking the current step of an open response (`typed`: no buttons)."""
    position = progress.position
    step = all_steps(questionnaire)[position]
    rid = progress.response_id
    back = (Choice(say(language, "back"), GoBack(rid, position)),) if position > 1 else ()
    if step.kind == "scale":
        assert step.criterion is not None
        number = questionnaire.criterion_ids.index(step.criterion.id) + 1
        element = next(e for e in questionnaire.elements if step.criterion in e.criteria)
        text = say(
            language,
            "statement",
            number=number,
            total=len(questionnaire.criteria),
            element=element.title.in_(language),
            text=step.criterion.text.in_(language),
        )
        rows: list[tuple[Choice, ...]] = [
            (
                Choice(
                    scale_label(questionnaire, value, language), Answer(rid, position, str(value))
                ),
            )
            for value in range(1, 6)
        ]
        if questionnaire.not_applicable:
            label = say(language, "not_applicable")
            rows.append((Choice(label, Answer(rid, position, NOT_APPLICABLE)),))
        if back:
            rows.append(back)
        return Screen(text, tuple(rows))
    assert step.optional is not None
    prompt = step.optional.prompt.in_(language)
    skip = Choice(say(language, "skip"), Answer(rid, position, SKIP))
    if step.kind == "text":
        held = progress.extras.get(held_field(step.optional.id))
        if held is not None:
            # Sending as is moves forward, so it comes first (the UI contract); skip stays.
            send = Choice(say(language, "comment_send"), Answer(rid, position, send_value(held)))
            edit = Choice(say(language, "comment_edit"), Answer(rid, position, EDIT))
            confirm = ((send,), (edit,), (skip,), back) if back else ((send,), (edit,), (skip,))
            return Screen(say(language, "comment_personal"), confirm)
        rows_text = ((skip,), back) if back else ((skip,),)
        return Screen(say(language, "optional_text", typed=typed, prompt=prompt), rows_text)
    options = [
        Choice(o.text.in_(language), Answer(rid, position, o.id)) for o in step.optional.options
    ]
    rows = [tuple(options[i : i + 2]) for i in range(0, len(options), 2)]
    rows.append((skip, *back))
    return Screen(say(language, "optional_choice", prompt=prompt), tuple(rows))


def consent_screen(
    questionnaire: Questionnaire, response_id: int, agency_name: str, language: Language
) -> Screen:
    """Greeting naming the agency, with eligibility and consent; agreeing comes first."""
    text = say(language, "consent", agency=agency_name, count=len(questionnaire.criteria))
    agree = Choice(say(language, "agree"), Answer(response_id, 0, AGREE))
    decline = Choice(say(language, "decline"), Answer(response_id, 0, DECLINE))
    return Screen(text, ((agree,), (decline,)))


def scale_label(questionnaire: Questionnaire, value: int, language: Language) -> str:
    """`5 · Rất hài lòng`: scale buttons begin with their digit (the UI contract)."""
    return f"{value} · {questionnaire.scale[value].in_(language)}"


def answered_text(
    questionnaire: Questionnaire, step: Step, record: Record | None, language: Language
) -> str | None:
    """The pressed message rewritten to show the chosen answer, without its buttons."""
    if record is None or step.kind == "consent":
        return None
    if isinstance(record, ExtraAnswer) and is_held(record.field):
        return None if record.value is not None else say(language, "comment_edit")
    if isinstance(record, ScaleAnswer):
        assert step.criterion is not None
        answer = (
            say(language, "not_applicable")
            if record.value is None
            else scale_label(questionnaire, record.value, language)
        )
        return say(language, "answered", text=step.criterion.text.in_(language), answer=answer)
    assert step.optional is not None
    if record.value is None:
        answer = say(language, "skipped")
    else:
        option = next((o for o in step.optional.options if o.id == record.value), None)
        answer = option.text.in_(language) if option else record.value
    return say(language, "answered", text=step.optional.prompt.in_(language), answer=answer)


def agency_screen(
    agencies: Sequence[Agency], page: int, language: Language, header: str
) -> Screen:
    """A page of agencies to choose from, with paging buttons; the first agency comes first."""
    if not agencies:
        return Screen(say(language, "no_agencies"))
    pages = (len(agencies) + AGENCIES_PER_PAGE - 1) // AGENCIES_PER_PAGE
    page = min(max(page, 0), pages - 1)
    shown = agencies[page * AGENCIES_PER_PAGE : (page + 1) * AGENCIES_PER_PAGE]
    rows: list[tuple[Choice, ...]] = [(Choice(a.name, ChooseAgency(a.code)),) for a in shown]
    paging: list[Choice] = []
    if page > 0:
        paging.append(Choice(say(language, "previous"), AgencyPage(page - 1)))
    if page < pages - 1:
        paging.append(Choice(say(language, "more"), AgencyPage(page + 1)))
    if paging:
        rows.append(tuple(paging))
    return Screen(header, tuple(rows))


def agency_search_screen(
    agencies: Agencies, text: str, language: Language, typed: bool = False
) -> Screen:
    """The agencies whose name holds what was typed; the whole list, greeting, when the text
    is no search ("Xin chào", a number, an emoji)."""
    query = " ".join(text.split())[:64]
    found = agencies.search(query)
    if found is None:
        return agency_screen(
            list(agencies), 0, language, say(language, "pick_agency", typed=typed)
        )
    if not found:
        return agency_screen(list(agencies), 0, language, say(language, "no_match", query=query))
    return agency_screen(found, 0, language, say(language, "matches", query=query))


def resume_screen(
    questionnaire: Questionnaire, progress: Progress, agency_name: str, language: Language
) -> Screen:
    """Offer to continue an unfinished response (first) or start over (second)."""
    done = sum(1 for c in questionnaire.criterion_ids if c in progress.answers)
    text = say(
        language,
        "resume",
        agency=agency_name,
        done=done,
        total=len(questionnaire.criteria),
    )
    rid = progress.response_id
    return Screen(
        text,
        (
            (Choice(say(language, "continue"), Resume(rid, "continue")),),
            (Choice(say(language, "restart"), Resume(rid, "restart")),),
        ),
    )


def forget_screen(language: Language) -> Screen:
    return Screen(
        say(language, "forget_confirm"),
        (
            (Choice(say(language, "forget_yes"), Forget(True)),),
            (Choice(say(language, "forget_no"), Forget(False)),),
        ),
    )


def language_screen() -> Screen:
    return Screen(
        say("vi", "language_prompt"),
        (
            (
                Choice("Tiếng Việt", SetLanguageAction("vi")),
                Choice("English", SetLanguageAction("en")),
            ),
        ),
    )
