"""Reading a typed line against the list in front of the person: every rule, as a table."""

from __future__ import annotations

import pytest

from survey.numbered import CLOCK_TRUST, HELP
from survey.typed import Reading, ShownMenu, needs_open_list, read_typed

NOW = 1_800_000_000.0
SCALE = {1: "1|a|r|3|1", 2: "1|a|r|3|2", 3: "1|a|r|3|3", 4: "1|a|r|3|4", 5: "1|a|r|3|5"}
RESUME = {1: "1|r|r|continue", 2: "1|r|r|restart"}
SHOWN = ShownMenu(SCALE, delivered=True, sent_at=NOW - 30)


def read(
    number: int | None,
    menu: ShownMenu | None = SHOWN,
    open_list: dict[int, str] | None = SCALE,
    *,
    passes: bool = False,
    sent_at: float | None = NOW - 5,
) -> Reading:
    return read_typed(number, menu, open_list, passes=passes, sent_at=sent_at, now=NOW)


@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        # A number on the list in front of them presses that line.
        (read(4), Reading("press", SCALE[4])),
        # Words are for the open step (a comment, "quay lại", a search).
        (read(None), Reading("typed")),
        # The list never reached them (a failed send, a crash before sending): ask again.
        (read(4, ShownMenu(SCALE, delivered=False)), Reading("ask_again")),
        # Typed before the list reached them, on the channel's clock: ask again ...
        (read(4, sent_at=NOW - 60), Reading("ask_again")),
        # ... unless that clock is not to be trusted (a phone set wrong): the number stands.
        (read(4, sent_at=NOW - CLOCK_TRUST - 60), Reading("press", SCALE[4])),
        (read(4, sent_at=None), Reading("press", SCALE[4])),
        # A help line on a list that would otherwise read as a scale.
        (read(9, ShownMenu({1: "a", 2: "b", 9: HELP}, True), None), Reading("help")),
        # A number the open question's own list lacks: the step judges it (7 on a scale).
        (read(7), Reading("typed")),
        # A number another list lacks (a resume prompt left on screen): answers nothing.
        (read(3, ShownMenu(RESUME, True), SCALE), Reading("not_listed")),
        (read(3, ShownMenu(RESUME, True), None), Reading("not_listed")),
        # No list at all: paused or never started; a number or any text brings them back ...
        (read(3, None, None), Reading("resume")),
        (read(None, None, SCALE), Reading("resume")),
        # ... but pausing, help or an entry code stand for themselves, ...
        (read(None, None, SCALE, passes=True), Reading("typed")),
        (read(123, None, SCALE, passes=True), Reading("typed")),
        # ... and words with nothing asked are a search for an agency.
        (read(None, None, None), Reading("typed")),
    ],
)
def test_a_typed_line_means_only_what_the_list_in_front_of_them_says(
    reading: Reading, expected: Reading
) -> None:
    assert reading == expected


@pytest.mark.parametrize(
    ("number", "menu", "needed"),
    [(4, SHOWN, False), (None, SHOWN, False), (7, SHOWN, True), (None, None, True)],
)
def test_the_open_list_is_fetched_only_when_the_reading_looks_at_it(
    number: int | None, menu: ShownMenu | None, needed: bool
) -> None:
    assert needs_open_list(number, menu) is needed
