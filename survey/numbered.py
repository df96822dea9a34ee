"""Screens as numbered text for channels without buttons (Zalo, the terminal).

The Zalo UI contract: every choice is a line beginning with its number (`1 – …`); only scale
statements list exactly 1–5 (plus 0 = not applicable); on every other screen `1` moves forward.
"Back" is never numbered (it is typed as `quay lại`), so a statement lists its scale alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from survey import actions
from survey.actions import Answer, GoBack
from survey.flow import NOT_APPLICABLE, SKIP
from survey.models import Language
from survey.screens import Choice, Screen
from survey.texts import say

HELP = "/help"
"""A menu entry that runs a command instead of pressing a button."""
_HELP_NUMBER = 9
_SCALE = {str(value) for value in range(1, 6)}
_LOOKS_LIKE_SCALE = (frozenset(range(1, 6)), frozenset(range(6)))


@dataclass(frozen=True)
class Numbered:
    """A screen as one text, and what each number typed next means (a payload or a command)."""

    text: str
    menu: tuple[tuple[int, str], ...]


def render_numbered(screen: Screen, language: Language) -> Numbered:
    """The screen's text, its choices one per numbered line, and a line on how to answer."""
    choices = screen.choices
    if not choices:
        return Numbered(screen.text, ())
    scale = _is_scale(choices)
    numbered = _scale_numbers(choices) if scale else _choice_numbers(choices)
    lines = [f"{number} – {label}" for number, label, _ in numbered]
    menu = [(number, payload) for number, _, payload in numbered]
    if not scale and frozenset(number for number, _ in menu) in _LOOKS_LIKE_SCALE:
        # Five numbered choices that are not a scale would read as one to a citizen (and to
        # the contract's checks): add help so the list cannot be mistaken.
        lines.append(f"{_HELP_NUMBER} – {say(language, 'numbered_help')}")
        menu.append((_HELP_NUMBER, HELP))
    footer = [_how_to_answer(choices, scale, language)]
    if any(isinstance(choice.action, GoBack) for choice in choices):
        footer.append(say(language, "numbered_back"))
    text = "\n\n".join([screen.text, "\n".join(lines), " ".join(footer)])
    return Numbered(text, tuple(menu))


def _is_scale(choices: tuple[Choice, ...]) -> bool:
    return any(isinstance(c.action, Answer) and c.action.value in _SCALE for c in choices)


def _scale_numbers(choices: tuple[Choice, ...]) -> list[tuple[int, str, str]]:
    """A statement: each scale value is its own number, not applicable is 0."""
    found: list[tuple[int, str, str]] = []
    for choice in choices:
        action = choice.action
        if not isinstance(action, Answer):
            continue
        number = 0 if action.value == NOT_APPLICABLE else int(action.value)
        label = choice.label.removeprefix(f"{number} · ")  # buttons begin with their digit
        found.append((number, label, actions.encode(action)))
    found.sort(key=lambda item: (item[0] == 0, item[0]))
    return found


def _choice_numbers(choices: tuple[Choice, ...]) -> list[tuple[int, str, str]]:
    """Any other screen: choices from 1 in order; skip is 1 when alone, else 0 (listed last)."""
    listed = [c for c in choices if not isinstance(c.action, GoBack)]
    skips = [c for c in listed if isinstance(c.action, Answer) and c.action.value == SKIP]
    others = [c for c in listed if c not in skips]
    found = [(n, c.label, actions.encode(c.action)) for n, c in enumerate(others, start=1)]
    for skip in skips:
        found.append((0 if others else 1, skip.label, actions.encode(skip.action)))
    return found


def _how_to_answer(choices: tuple[Choice, ...], scale: bool, language: Language) -> str:
    if not scale:
        return say(language, "numbered_choice")
    has_na = any(
        isinstance(c.action, Answer) and c.action.value == NOT_APPLICABLE for c in choices
    )
    return say(language, "numbered_scale_na" if has_na else "numbered_scale")


CLOCK_TRUST = 600.0
"""Seconds within which a message's channel time is believed (if it were the phone's own clock,
a phone set wrong must not make every answer look early)."""


def typed_before(sent: float | None, shown: float | None, now: float) -> bool:
    """Whether a number sent at `sent` predates the list it would answer reaching the person
    at `shown` (both on the channel's clock, seconds); unknown or untrusted times: no."""
    if sent is None or shown is None or abs(now - sent) > CLOCK_TRUST:
        return False
    return sent < shown
