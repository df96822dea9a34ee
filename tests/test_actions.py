"""Button payloads: every action round-trips within 64 bytes; forgeries decode to None."""

from __future__ import annotations

import pytest

from survey.actions import (
    MAX_BYTES,
    AgencyPage,
    Answer,
    ButtonAction,
    ChooseAgency,
    Forget,
    GoBack,
    Resume,
    SetLanguage,
    decode,
    encode,
)

BIGGEST_RESPONSE_ID = 36**12 - 1

ACTIONS: list[ButtonAction] = [
    Answer(1, 1, "5"),
    Answer(0, 0, "yes"),
    Answer(12345, 20, "na"),
    Answer(BIGGEST_RESPONSE_ID, 9999, "v" * 16),
    Answer(7, 24, "skip"),
    Answer(7, 22, "university_plus"),
    GoBack(1, 2),
    GoBack(BIGGEST_RESPONSE_ID, 9999),
    Resume(42, "continue"),
    Resume(BIGGEST_RESPONSE_ID, "restart"),
    ChooseAgency("ubnd_xa_a"),
    ChooseAgency("A-b_9" * 6 + "zz"),
    AgencyPage(0),
    AgencyPage(9999),
    Forget(True),
    Forget(False),
    SetLanguage("vi"),
    SetLanguage("en"),
]


@pytest.mark.parametrize("action", ACTIONS, ids=repr)
def test_a_button_means_what_it_was_made_for(action: ButtonAction) -> None:
    data = encode(action)
    assert len(data.encode()) <= MAX_BYTES
    assert decode(data) == action


def test_every_action_kind_is_covered() -> None:
    kinds = {type(action) for action in ACTIONS}
    assert kinds == {Answer, GoBack, Resume, ChooseAgency, AgencyPage, Forget, SetLanguage}


def test_a_payload_over_64_bytes_is_never_made() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        encode(ChooseAgency("x" * 70))


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "1",
        "1|",
        "2|a|1|1|5",
        "0|f|y",
        "|a|1|1|5",
        "1|a|1|1",
        "1|a|1|1|5|extra",
        "1|b|1|2|3",
        "1|r|1|c|x",
        "1|g|a|b",
        "1|f|y|y",
        "1|a|Z|1|5",
        "1|a|-1|1|5",
        "1|a|1z!|1|5",
        "1|a||1|5",
        "1|a|1|x|5",
        "1|a|1|-1|5",
        "1|a|1|12345|5",
        "1|a|1|1|FIVE",
        "1|a|1|1|",
        "1|a|1|1|a b",
        "1|a|1234567890abc|1|5",
        "1|r|1|continue",
        "1|g|",
        "1|g|code with spaces",
        "1|g|" + "a" * 33,
        "1|g|đồng_ý",
        "1|p|-1",
        "1|p|x",
        "1|f|maybe",
        "1|l|fr",
        "1|q|1",
        "1|A|1|1|5",
        "1|a|1|1|" + "5" * 70,
        "1|g|" + "a" * 61,
        "hello",
        "/start",
    ],
)
def test_malformed_or_forged_payloads_mean_nothing(data: str | None) -> None:
    assert decode(data) is None
