"""The channel-neutral citizen conversation on a real database: the UI contract, step by step."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import AgencyEntry, Settings
from bot.services import Services, open_services
from handlers.conversation import Conversation
from handlers.replies import Citizen, Reply, pseudonym
from survey import actions
from survey.flow import steps
from survey.models import Language
from survey.screens import Choice, Screen
from tests.postgres_support import storage_at

NOW = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
AGENCIES = (
    AgencyEntry(code="ubnd_xa_a", name="UBND xã A"),
    AgencyEntry(code="so_tu_phap", name="Sở Tư pháp"),
    AgencyEntry(code="ubnd_huyen_b", name="UBND huyện B", questionnaire="counter-5"),
    *(AgencyEntry(code=f"xa_{n}", name=f"UBND xã số {n}") for n in range(1, 6)),
)
NOT_APPLICABLE = {"vi": "Không áp dụng", "en": "Not applicable"}
THANKS = {"vi": "Cảm ơn", "en": "Thank you"}
LONE_SCALE_DIGIT = re.compile(r"^[1-5](?!\d)")


@pytest.fixture
async def services(tmp_path: Path, database_target: Path | str) -> AsyncIterator[Services]:
    settings = Settings(storage=storage_at(database_target, tmp_path), agencies=AGENCIES)
    opened = await open_services(settings)
    yield opened
    await opened.close()


@pytest.fixture
def conversation(services: Services) -> Conversation:
    return services.conversation


def _citizen(services: Services, user_id: int = 4242) -> Citizen:
    secret = services.settings.privacy.secret.get_secret_value()
    return Citizen("telegram", pseudonym(secret, "telegram", user_id))


async def _count(services: Services, sql: str) -> int:
    value = await services.database.fetch_value(sql)
    assert isinstance(value, int)
    return value


def _only_screen(reply: Reply) -> Screen:
    assert len(reply.screens) == 1, reply
    return reply.screens[0]


def _step_kind(services: Services, screen: Screen) -> str:
    """The kind of survey step a screen asks, read from its buttons."""
    action = screen.choices[0].action
    assert isinstance(action, actions.Answer), screen
    questionnaire = services.catalogue["sipas-2023"]
    return steps(questionnaire)[action.position].kind


def _labels(screen: Screen) -> list[str]:
    return [choice.label for choice in screen.choices]


def _check_contract(services: Services, screen: Screen, language: Language) -> None:
    """The stable UI contract of the spec, for one screen of a survey in progress or done."""
    labels = _labels(screen)
    if not screen.choices:
        assert THANKS[language] in screen.text
        return
    kind = _step_kind(services, screen)
    if kind == "scale":
        for value, label in enumerate(labels[:5], start=1):
            assert label.startswith(f"{value} "), labels
        assert labels[5] == NOT_APPLICABLE[language]
        assert not any(LONE_SCALE_DIGIT.match(label) for label in labels[5:]), labels
        return
    assert not any(LONE_SCALE_DIGIT.match(label) for label in labels), labels
    if kind != "consent":
        skips = [c for c in screen.choices if getattr(c.action, "value", None) == "skip"]
        assert skips, f"optional step without a skip button: {labels}"
    if kind == "text":
        assert screen.choices[0] == skips[0], "the first button of a text step must skip"


def _forward(services: Services, screen: Screen) -> Choice:
    """The fifth button on a statement (a 5), else the first button."""
    return screen.choices[4] if _step_kind(services, screen) == "scale" else screen.choices[0]


async def _press(
    conversation: Conversation, citizen: Citizen, choice: Choice, now: datetime = NOW
) -> Reply:
    return await conversation.press(citizen, actions.encode(choice.action), now)


async def _run_survey(
    services: Services,
    citizen: Citizen,
    language: Language = "vi",
    now: datetime = NOW,
    agency: str = "ubnd_xa_a",
) -> list[Screen]:
    """Start and finish a survey by pressing forward; every screen seen, checked on the way."""
    conversation = services.conversation
    shown = [_only_screen(await conversation.start(citizen, agency, now))]
    while shown[-1].choices:
        _check_contract(services, shown[-1], language)
        assert len(shown) < 40, "the survey does not end"
        shown.append(
            _only_screen(await _press(conversation, citizen, _forward(services, shown[-1]), now))
        )
    _check_contract(services, shown[-1], language)
    return shown


@pytest.mark.parametrize("language", ["vi", "en"])
async def test_a_citizen_completes_the_survey_by_pressing_buttons(
    services: Services, language: Language
) -> None:
    citizen = _citizen(services)
    if language != "vi":
        await services.conversation.choose_language(citizen, language, NOW)
    shown = await _run_survey(services, citizen, language)
    kinds = [_step_kind(services, screen) for screen in shown[:-1]]
    assert kinds == ["consent"] + ["scale"] * 19 + ["choice"] * 4 + ["text"]
    assert "UBND xã A" in shown[0].text
    answers = await services.database.fetch_all("SELECT criterion, value FROM answers")
    assert len(answers) == 19
    assert {row["value"] for row in answers} == {5}
    extras = await services.database.fetch_all("SELECT field, value FROM extras")
    assert {row["field"]: row["value"] for row in extras} == {
        "procedure": "land",
        "sex": "male",
        "age_group": "18_24",
        "education": "primary",
        "comment": None,
    }
    assert await _count(services, "SELECT SUM(responses) FROM daily_responses") == 1


async def test_the_english_texts_are_english(services: Services) -> None:
    citizen = _citizen(services)
    reply = await services.conversation.choose_language(citizen, "en", NOW)
    assert _only_screen(reply).text == "Language set to English."
    consent = _only_screen(await services.conversation.start(citizen, "ubnd_xa_a", NOW))
    assert "Do you agree" in consent.text
    statement = _only_screen(await _press(services.conversation, citizen, consent.choices[0]))
    assert statement.text.startswith("Question 1/19")
    assert _labels(statement)[4] == "5 · Very satisfied"


async def test_the_language_can_be_chosen_with_a_button(services: Services) -> None:
    citizen = _citizen(services)
    prompt = _only_screen(await services.conversation.choose_language(citizen, None, NOW))
    english = next(c for c in prompt.choices if c.label == "English")
    reply = await _press(services.conversation, citizen, english)
    assert reply.edit == "Language set to English."
    assert await services.conversation.language(citizen) == "en"


async def test_an_unknown_agency_code_lists_the_agencies(services: Services) -> None:
    citizen = _citizen(services)
    screen = _only_screen(await services.conversation.start(citizen, "khong_ton_tai", NOW))
    assert "khong_ton_tai" in screen.text
    codes = [c.action.code for c in screen.choices if isinstance(c.action, actions.ChooseAgency)]
    assert codes == [a.code for a in AGENCIES[:6]]
    assert not any(LONE_SCALE_DIGIT.match(label) for label in _labels(screen))
    more = screen.choices[-1]
    assert isinstance(more.action, actions.AgencyPage)
    page_two = (await _press(services.conversation, citizen, more)).replace
    assert page_two is not None
    assert [c.label for c in page_two.choices[:2]] == ["UBND xã số 4", "UBND xã số 5"]
    assert await _count(services, "SELECT COUNT(*) FROM responses") == 0


async def test_the_first_agency_button_starts_the_survey(services: Services) -> None:
    citizen = _citizen(services)
    listing = _only_screen(await services.conversation.start(citizen, None, NOW))
    consent = _only_screen(await _press(services.conversation, citizen, listing.choices[0]))
    assert "UBND xã A" in consent.text
    assert _step_kind(services, consent) == "consent"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("bệnh viện", [a.code for a in AGENCIES[:6]]),
        ("tư pháp", ["so_tu_phap"]),
        ("  UBND   xã số ", ["xa_1", "xa_2", "xa_3", "xa_4", "xa_5"]),
    ],
)
async def test_typed_text_searches_the_agencies(
    services: Services, typed: str, expected: list[str]
) -> None:
    screen = _only_screen(await services.conversation.type(_citizen(services), typed, NOW))
    codes = [c.action.code for c in screen.choices if isinstance(c.action, actions.ChooseAgency)]
    assert codes == expected
    assert " ".join(typed.split()) in screen.text


async def test_typing_an_agency_code_starts_its_survey(services: Services) -> None:
    screen = _only_screen(await services.conversation.type(_citizen(services), "SO_TU_PHAP", NOW))
    assert "Sở Tư pháp" in screen.text
    assert _step_kind(services, screen) == "consent"


async def _answer_statements(services: Services, citizen: Citizen, count: int) -> Screen:
    """Consent and `count` statements answered with 4; the next screen."""
    conversation = services.conversation
    screen = _only_screen(await conversation.start(citizen, "ubnd_xa_a", NOW))
    screen = _only_screen(await _press(conversation, citizen, screen.choices[0]))
    for _ in range(count):
        screen = _only_screen(await _press(conversation, citizen, screen.choices[3]))
    return screen


@pytest.mark.parametrize("payload", [None, "ubnd_xa_a"])
async def test_start_again_mid_survey_offers_to_continue_first(
    services: Services, payload: str | None
) -> None:
    citizen = _citizen(services)
    await _answer_statements(services, citizen, 3)
    resume = _only_screen(await services.conversation.start(citizen, payload, NOW))
    assert "3/19" in resume.text
    assert _labels(resume) == ["Tiếp tục", "Làm lại từ đầu"]
    continued = await _press(services.conversation, citizen, resume.choices[0])
    assert _only_screen(continued).text.startswith("Câu 4/19")


async def test_start_over_begins_a_fresh_response(services: Services) -> None:
    citizen = _citizen(services)
    await _answer_statements(services, citizen, 3)
    resume = _only_screen(await services.conversation.start(citizen, None, NOW))
    consent = _only_screen(await _press(services.conversation, citizen, resume.choices[1]))
    assert _step_kind(services, consent) == "consent"
    statuses = await services.database.fetch_all("SELECT status FROM responses ORDER BY id")
    assert [row["status"] for row in statuses] == ["cancelled", "in_progress"]
    assert _only_screen(
        await _press(services.conversation, citizen, consent.choices[0])
    ).text.startswith("Câu 1/19")


async def test_a_button_pressed_twice_counts_once(services: Services) -> None:
    citizen = _citizen(services)
    statement = await _answer_statements(services, citizen, 0)
    first = await _press(services.conversation, citizen, statement.choices[4])
    second = await _press(services.conversation, citizen, statement.choices[0])
    assert first.screens
    assert not second.screens
    assert second.notice == "Câu trả lời này đã được ghi nhận trước đó."
    rows = await services.database.fetch_all("SELECT criterion, value FROM answers")
    assert [tuple(row) for row in rows] == [("access_1", 5)]


async def test_pressing_the_last_button_twice_completes_once(services: Services) -> None:
    citizen = _citizen(services)
    shown = await _run_survey(services, citizen)
    again = await _press(services.conversation, citizen, shown[-2].choices[0])
    assert again.notice
    assert not again.screens
    assert await _count(services, "SELECT SUM(responses) FROM daily_responses") == 1
    assert await _count(services, "SELECT COUNT(*) FROM responses") == 1


async def test_someone_elses_button_is_refused(services: Services) -> None:
    statement = await _answer_statements(services, _citizen(services, 1), 0)
    reply = await _press(services.conversation, _citizen(services, 2), statement.choices[4])
    assert reply.notice == "Nút này không còn hiệu lực."
    assert await _count(services, "SELECT COUNT(*) FROM answers") == 0


async def test_a_forged_button_is_refused(services: Services) -> None:
    reply = await services.conversation.press(_citizen(services), "1|a|zz|1|5", NOW)
    assert reply.notice == "Nút này không còn hiệu lực."
    reply = await services.conversation.press(_citizen(services), "not a payload", NOW)
    assert reply.notice == "Nút này không còn hiệu lực."


async def test_declining_stores_nothing(services: Services) -> None:
    citizen = _citizen(services)
    consent = _only_screen(await services.conversation.start(citizen, "ubnd_xa_a", NOW))
    reply = await _press(services.conversation, citizen, consent.choices[1])
    assert "Không có thông tin nào được lưu" in _only_screen(reply).text
    assert not _only_screen(reply).choices
    for table in ("responses", "answers", "extras", "respondents"):
        assert await _count(services, f"SELECT COUNT(*) FROM {table}") == 0, table


async def test_a_typed_digit_answers_a_statement(services: Services) -> None:
    citizen = _citizen(services)
    await _answer_statements(services, citizen, 0)
    reply = await services.conversation.type(citizen, " 2 ", NOW)
    assert _only_screen(reply).text.startswith("Câu 2/19")
    rows = await services.database.fetch_all("SELECT criterion, value FROM answers")
    assert [tuple(row) for row in rows] == [("access_1", 2)]


async def test_other_typed_text_re_asks_with_a_hint(services: Services) -> None:
    citizen = _citizen(services)
    await _answer_statements(services, citizen, 0)
    reply = await services.conversation.type(citizen, "rất tốt", NOW)
    screen = _only_screen(reply)
    assert "từ 1 đến 5" in screen.text
    assert "Câu 1/19" in screen.text
    assert _labels(screen)[4].startswith("5 ")
    assert await _count(services, "SELECT COUNT(*) FROM answers") == 0


async def test_back_lets_the_citizen_change_the_previous_answer(services: Services) -> None:
    citizen = _citizen(services)
    second = await _answer_statements(services, citizen, 1)
    back = second.choices[-1]
    assert isinstance(back.action, actions.GoBack)
    first = _only_screen(await _press(services.conversation, citizen, back))
    assert first.text.startswith("Câu 1/19")
    await _press(services.conversation, citizen, first.choices[1])
    rows = await services.database.fetch_all("SELECT criterion, value FROM answers")
    assert [tuple(row) for row in rows] == [("access_1", 2)]


async def test_the_first_statement_has_no_back_button(services: Services) -> None:
    first = await _answer_statements(services, _citizen(services), 0)
    assert not any(isinstance(c.action, actions.GoBack) for c in first.choices)


async def test_cancel_pauses_and_start_resumes(services: Services) -> None:
    citizen = _citizen(services)
    await _answer_statements(services, citizen, 2)
    paused = _only_screen(await services.conversation.cancel(citizen))
    assert "/start" in paused.text
    resume = _only_screen(await services.conversation.start(citizen, None, NOW))
    assert _labels(resume)[0] == "Tiếp tục"


async def test_a_second_response_within_a_day_is_refused_with_a_time(services: Services) -> None:
    citizen = _citizen(services)
    await _run_survey(services, citizen)
    refused = _only_screen(
        await services.conversation.start(citizen, "ubnd_xa_a", NOW + timedelta(hours=23))
    )
    assert "09:00 06/10/2026" in refused.text
    assert not refused.choices
    assert await _count(services, "SELECT COUNT(*) FROM responses") == 1


async def test_a_second_response_after_a_day_is_welcome(services: Services) -> None:
    citizen = _citizen(services)
    await _run_survey(services, citizen)
    later = NOW + timedelta(hours=25)
    shown = await _run_survey(services, citizen, now=later)
    assert _step_kind(services, shown[0]) == "consent"
    assert await _count(services, "SELECT SUM(responses) FROM daily_responses") == 2


async def test_the_resubmit_window_is_per_agency(services: Services) -> None:
    citizen = _citizen(services)
    await _run_survey(services, citizen)
    other = _only_screen(await services.conversation.start(citizen, "so_tu_phap", NOW))
    assert _step_kind(services, other) == "consent"


async def test_forget_deletes_the_citizens_answers(services: Services) -> None:
    citizen = _citizen(services)
    await _run_survey(services, citizen)
    confirm = _only_screen(await services.conversation.forget(citizen))
    assert not any(LONE_SCALE_DIGIT.match(label) for label in _labels(confirm))
    reply = await _press(services.conversation, citizen, confirm.choices[0])
    assert reply.edit is not None
    assert "1" in reply.edit
    for table in ("responses", "answers", "extras"):
        assert await _count(services, f"SELECT COUNT(*) FROM {table}") == 0, table
    assert await _count(services, "SELECT SUM(responses) FROM daily_responses") == 0
    again = _only_screen(await services.conversation.start(citizen, "ubnd_xa_a", NOW))
    assert not again.choices, "forgetting must not reopen the resubmit window"


async def test_forget_can_be_called_off(services: Services) -> None:
    citizen = _citizen(services)
    await _run_survey(services, citizen)
    confirm = _only_screen(await services.conversation.forget(citizen))
    reply = await _press(services.conversation, citizen, confirm.choices[1])
    assert reply.edit == "Dữ liệu của Ông/Bà được giữ nguyên."
    assert await _count(services, "SELECT COUNT(*) FROM answers") == 19


async def test_forgetting_is_confirmed_in_the_citizens_language(services: Services) -> None:
    citizen = _citizen(services)
    await services.conversation.choose_language(citizen, "en", NOW)
    confirm = _only_screen(await services.conversation.forget(citizen))
    assert confirm.choices[0].label == "Delete my data"
    reply = await _press(services.conversation, citizen, confirm.choices[0])
    assert reply.edit is not None
    assert reply.edit.startswith("Deleted")


async def _at_the_comment(services: Services, citizen: Citizen) -> Screen:
    """Start a survey and press forward up to its free-text comment."""
    conversation = services.conversation
    screen = _only_screen(await conversation.start(citizen, "ubnd_xa_a", NOW))
    while not screen.choices or _step_kind(services, screen) != "text":
        screen = _only_screen(await _press(conversation, citizen, _forward(services, screen)))
    return screen


async def _comments(services: Services) -> list[tuple[str, str | None]]:
    rows = await services.database.fetch_all(
        "SELECT field, value FROM extras WHERE field LIKE 'comment%' ORDER BY field"
    )
    return [(row["field"], row["value"]) for row in rows]


async def test_a_comment_with_a_phone_number_is_confirmed_before_it_is_stored(
    services: Services,
) -> None:
    conversation = services.conversation
    citizen = _citizen(services)
    await _at_the_comment(services, citizen)
    typed = "Cán bộ tốt, có gì gọi tôi 0912 345 678"

    warned = _only_screen(await conversation.type(citizen, typed, NOW))
    assert "số điện thoại" in warned.text
    assert _labels(warned)[:3] == ["Gửi như vậy", "Sửa lại", "Bỏ qua"]  # forward comes first
    assert not any(LONE_SCALE_DIGIT.match(label) for label in _labels(warned))
    assert ("comment", typed) not in await _comments(services)  # not a comment yet

    edited = await _press(conversation, citizen, warned.choices[1])  # "Sửa lại"
    assert edited.edit == "Sửa lại"
    assert "Gõ ý kiến" in _only_screen(edited).text  # asked again, nothing kept
    assert await _comments(services) == []

    warned = _only_screen(await conversation.type(citizen, "CCCD 001099012345 ạ", NOW))
    assert "CCCD" in warned.text
    # The draft lives in the database: coming back later shows the same question.
    resume = _only_screen(await conversation.start(citizen, None, NOW))
    again = _only_screen(await _press(conversation, citizen, resume.choices[0]))
    assert again == warned
    sent = _only_screen(await _press(conversation, citizen, again.choices[0]))  # send as is
    assert sent.text.startswith("Cảm ơn")
    assert await _comments(services) == [("comment", "CCCD 001099012345 ạ")]
    assert await _count(services, "SELECT SUM(comments) FROM daily_responses") == 1


async def test_an_earlier_drafts_send_button_sends_nothing(services: Services) -> None:
    conversation = services.conversation
    citizen = _citizen(services)
    await _at_the_comment(services, citizen)
    first = _only_screen(await conversation.type(citizen, "gọi 0912345678", NOW))
    second = _only_screen(await conversation.type(citizen, "gọi 0987 654 321 nhé", NOW))
    stale = await _press(conversation, citizen, first.choices[0])
    assert stale.notice == "Câu trả lời này đã được ghi nhận trước đó."
    assert stale.screens == ()
    assert await _comments(services) == [("comment_held", "gọi 0987 654 321 nhé")]
    assert _only_screen(await _press(conversation, citizen, second.choices[0])).choices == ()
    assert await _comments(services) == [("comment", "gọi 0987 654 321 nhé")]


async def test_an_ordinary_comment_is_stored_cleaned_without_a_warning(
    services: Services,
) -> None:
    citizen = _citizen(services)
    await _at_the_comment(services, citizen)
    typed = "  Hẹn 12/10/2026, chờ 3 tiếng\x0b\x1b[0m\x00 ở quầy số 5 \u200b"
    thanks = _only_screen(await services.conversation.type(citizen, typed, NOW))
    assert thanks.text.startswith("Cảm ơn")
    assert await _comments(services) == [("comment", "Hẹn 12/10/2026, chờ 3 tiếng[0m ở quầy số 5")]


async def test_a_comment_of_invisible_characters_is_no_comment(services: Services) -> None:
    citizen = _citizen(services)
    prompt = await _at_the_comment(services, citizen)
    reply = await services.conversation.type(citizen, "\u200b \u200d\ufeff\u3164", NOW)
    assert reply.notice is not None
    assert "không có chữ" in reply.notice
    assert _only_screen(reply).choices == prompt.choices  # the same step, asked again
    assert await _comments(services) == []
    assert await _count(services, "SELECT COUNT(*) FROM responses WHERE status = 'completed'") == 0


async def test_a_lone_surrogate_in_a_comment_is_dropped_not_a_crash(services: Services) -> None:
    # A JSON "\ud83d" escape arrives as a lone surrogate; SQLite cannot encode it.
    citizen = _citizen(services)
    await _at_the_comment(services, citizen)
    thanks = _only_screen(await services.conversation.type(citizen, "tốt \ud83d lắm", NOW))
    assert thanks.text.startswith("Cảm ơn")
    assert await _comments(services) == [("comment", "tốt  lắm")]
