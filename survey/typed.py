"""What a line typed on a text-only channel means, read against the list in front of the person.

A number means only what the person has in front of them: the numbered list last sent to them,
if it reached them and before they typed. The reading is pure (the menu, the open question's own
list, the text and the times in; a decision out), so every rule has a table test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from survey.numbered import HELP, typed_before

Meaning = Literal["press", "typed", "ask_again", "resume", "help", "not_listed"]
"""press: the chosen payload; typed: text for the open step; ask_again: the list did not reach
them (or came after they typed), so show the question again; resume: nothing is asked now, bring
them back to where they are; help: the list's help line; not_listed: a number the list lacks."""


@dataclass(frozen=True)
class ShownMenu:
    """The numbered list last sent to the person: number → payload, whether it reached them,
    and when (the channel's clock, seconds)."""

    choices: Mapping[int, str]
    delivered: bool
    sent_at: float | None = None


@dataclass(frozen=True)
class Reading:
    meaning: Meaning
    payload: str | None = None  # with "press": what the chosen line stands for


def needs_open_list(number: int | None, menu: ShownMenu | None) -> bool:
    """Whether `read_typed` looks at the open question's list for this line (reading it costs
    the caller a query, so it is fetched only when it matters)."""
    return menu is None or (number is not None and number not in menu.choices)


def read_typed(
    number: int | None,
    menu: ShownMenu | None,
    open_list: Mapping[int, str] | None,
    *,
    passes: bool,
    sent_at: float | None,
    now: float,
) -> Reading:
    """The meaning of a typed line. `number` is the number it reads as (None: words);
    `open_list` the open question's own numbered list (None: nothing is asked now, {}: a
    question without choices); `passes` whether the line stands for itself wherever the person
    is (pausing, help, or an entry code that starts or resumes a survey)."""
    if menu is None:
        asked = open_list is not None
        if not passes and (number is not None or asked):
            return Reading("resume")  # paused or never started: nothing they type is an answer
        return Reading("typed")
    if number is None:
        return Reading("typed")
    if not menu.delivered or typed_before(sent_at, menu.sent_at, now):
        return Reading("ask_again")  # typed against an earlier list, or ours never arrived
    chosen = menu.choices.get(number)
    if chosen == HELP:
        return Reading("help")
    if chosen is not None:
        return Reading("press", chosen)
    if open_list is not None and dict(open_list) == dict(menu.choices):
        return Reading("typed")  # the open step judges it: a comment may be a number
    return Reading("not_listed")
