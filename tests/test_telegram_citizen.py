"""The citizen side on Telegram through the real PTB Application, faked only at the network."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import AgencyEntry, Settings
from tests.settings_support import make_settings
from tests.telegram_fakes import RecordingRequest, feed, press_update, started_bot, text_update

CITIZEN = 4242


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    agencies = (
        AgencyEntry(code="ubnd_xa_a", name="UBND xã A"),
        AgencyEntry(code="so_tu_phap", name="Sở Tư pháp"),
    )
    return make_settings(tmp_path, telegram_token="123:TEST", agencies=agencies)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(settings: Settings, clock: Clock) -> AsyncIterator[tuple[Any, RecordingRequest]]:
    request = RecordingRequest()
    async with started_bot(settings, request, clock) as application:
        yield application, request


def answers_in(settings: Settings) -> list[tuple[str, int]]:
    with sqlite3.connect(settings.storage.path) as db:
        return list(db.execute("SELECT criterion, value FROM answers ORDER BY criterion"))


async def press(app: Any, request: RecordingRequest, label_prefix: str, **kwargs: Any) -> None:
    buttons = request.last_buttons()
    data = next((d for label, d in buttons if label.startswith(label_prefix)), None)
    assert data is not None, f"no button starting {label_prefix!r} in {buttons}"
    await feed(app, press_update(CITIZEN, data, message_id=request.last_message_id(), **kwargs))


async def agree(app: Any, request: RecordingRequest) -> None:
    """/start ubnd_xa_a and agree: the first statement is shown."""
    await feed(app, text_update(CITIZEN, "/start ubnd_xa_a"))
    await press(app, request, "Đồng ý")


async def test_start_publishes_command_menus_in_both_languages(bot: Any) -> None:
    _, request = bot
    menus = request.sent("setMyCommands")
    assert len(menus) == 2
    assert {c.params.get("language_code") for c in menus} == {None, "en"}


async def test_a_citizen_completes_the_survey_from_a_deep_link(
    bot: Any, settings: Settings
) -> None:
    app, request = bot
    await feed(app, text_update(CITIZEN, "/start ubnd_xa_a"))
    assert "UBND xã A" in request.last_text()
    assert request.last_buttons()[0][0].startswith("Đồng ý")
    await press(app, request, "Đồng ý")
    for number in range(19):
        labels = [label for label, _ in request.last_buttons()]
        assert [label[0] for label in labels[:5]] == ["1", "2", "3", "4", "5"]
        assert labels[5] == "Không áp dụng"
        await press(app, request, str(number % 5 + 1))
        edit = request.sent("editMessageText")[-1].params
        assert "→" in edit["text"]
        assert "reply_markup" not in edit
    while request.last_buttons():  # optional steps: the first button moves forward
        first = request.last_buttons()[0][0]
        assert not first[0].isdigit() or " · " not in first
        await press(app, request, first)
    assert "Cảm ơn" in request.last_text()
    stored = dict(answers_in(settings))
    assert len(stored) == 19
    assert stored["access_1"] == 1
    assert stored["access_2"] == 2
    assert stored["feedback_3"] == 4


async def test_every_press_is_answered(bot: Any) -> None:
    app, request = bot
    await agree(app, request)
    await press(app, request, "4")
    presses = 2
    assert len(request.sent("answerCallbackQuery")) == presses


async def test_a_double_tap_counts_once(bot: Any, settings: Settings) -> None:
    app, request = bot
    await agree(app, request)
    data = next(d for label, d in request.last_buttons() if label.startswith("5"))
    await feed(app, press_update(CITIZEN, data))
    await feed(app, press_update(CITIZEN, data))
    assert answers_in(settings) == [("access_1", 5)]
    notice = request.sent("answerCallbackQuery")[-1].params.get("text")
    assert notice
    assert "ghi nhận" in notice


async def test_a_redelivered_update_is_processed_once(bot: Any, settings: Settings) -> None:
    app, request = bot
    await agree(app, request)
    data = next(d for label, d in request.last_buttons() if label.startswith("3"))
    await feed(app, press_update(CITIZEN, data, update_id=777_001))
    await press(app, request, "4", update_id=777_001)  # same update id, next question's button
    assert answers_in(settings) == [("access_1", 3)]


@pytest.mark.parametrize(
    "data",
    ["", "garbage", "2|a|1|1|5", "1|a|zzzzzzzzzzzzz|1|5", "1|a|1|1|5|extra", "1|x", "1|a|1|1|5!"],
)
async def test_forged_or_malformed_buttons_are_refused(
    bot: Any, settings: Settings, data: str
) -> None:
    app, request = bot
    await agree(app, request)
    await feed(app, press_update(CITIZEN, data))
    assert answers_in(settings) == []
    assert request.sent("answerCallbackQuery")[-1].params.get("text")


async def test_another_citizens_button_is_refused(bot: Any, settings: Settings) -> None:
    app, request = bot
    await agree(app, request)
    data = next(d for label, d in request.last_buttons() if label.startswith("5"))
    await feed(app, press_update(CITIZEN + 1, data))
    assert answers_in(settings) == []


async def test_typed_digits_answer_and_other_text_gets_a_hint(
    bot: Any, settings: Settings
) -> None:
    app, request = bot
    await agree(app, request)
    await feed(app, text_update(CITIZEN, "4"))
    await feed(app, text_update(CITIZEN, "tuyệt vời"))
    assert "1 đến 5" in request.last_text()
    await feed(app, text_update(CITIZEN, "x" * 5000))
    await feed(app, text_update(CITIZEN, "/unknown_command"))
    sticker = {"file_id": "s", "file_unique_id": "u", "width": 1, "height": 1, "type": "regular"}
    sticker.update(is_animated=False, is_video=False)
    update = text_update(CITIZEN, "", sticker=sticker)
    del update["message"]["text"]
    await feed(app, update)
    assert "nút bấm" in request.last_text()
    assert answers_in(settings) == [("access_1", 4)]


async def test_back_changes_the_previous_answer(bot: Any, settings: Settings) -> None:
    app, request = bot
    await agree(app, request)
    await press(app, request, "2")
    await press(app, request, "«")
    assert "Câu 1/19" in request.last_text()
    await press(app, request, "5")
    assert answers_in(settings) == [("access_1", 5)]
    assert "Câu 2/19" in request.last_text()


async def test_start_again_offers_continue_first_then_start_over(bot: Any) -> None:
    app, request = bot
    await agree(app, request)
    await press(app, request, "4")
    await feed(app, text_update(CITIZEN, "/start"))
    labels = [label for label, _ in request.last_buttons()]
    assert labels == ["Tiếp tục", "Làm lại từ đầu"]
    await press(app, request, "Tiếp tục")
    assert "Câu 2/19" in request.last_text()


async def test_unknown_agency_and_search_offer_the_list(bot: Any) -> None:
    app, request = bot
    await feed(app, text_update(CITIZEN, "/start khong_co"))
    assert "khong_co" in request.last_text()
    assert [label for label, _ in request.last_buttons()] == ["UBND xã A", "Sở Tư pháp"]
    await feed(app, text_update(CITIZEN, "tư pháp"))
    assert [label for label, _ in request.last_buttons()] == ["Sở Tư pháp"]
    await press(app, request, "Sở Tư pháp")
    assert "Sở Tư pháp" in request.last_text()


async def test_declining_stores_nothing(bot: Any, settings: Settings) -> None:
    app, request = bot
    await feed(app, text_update(CITIZEN, "/start ubnd_xa_a"))
    await press(app, request, "Không tham gia")
    with sqlite3.connect(settings.storage.path) as db:
        assert db.execute("SELECT count(*) FROM responses").fetchone() == (0,)


async def test_english_and_resubmission_window(bot: Any, clock: Clock) -> None:
    app, request = bot
    await feed(app, text_update(CITIZEN, "/lang en"))
    await feed(app, text_update(CITIZEN, "/start so_tu_phap"))
    await press(app, request, "I agree")
    while request.last_buttons():
        await press(app, request, "5" if request.last_buttons()[0][0][0] == "1" else "")
    assert "Thank you" in request.last_text()
    await feed(app, text_update(CITIZEN, "/start so_tu_phap"))
    assert "again from" in request.last_text()
    clock.now += timedelta(hours=25)
    await feed(app, text_update(CITIZEN, "/start so_tu_phap"))
    assert request.last_buttons()[0][0] == "I agree to take part"


async def test_forget_deletes_the_citizens_rows_after_confirming(
    bot: Any, settings: Settings
) -> None:
    app, request = bot
    await agree(app, request)
    await press(app, request, "5")
    await feed(app, text_update(CITIZEN, "/forget"))
    await press(app, request, "Xoá")
    with sqlite3.connect(settings.storage.path) as db:
        assert db.execute("SELECT count(*) FROM responses").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM answers").fetchone() == (0,)


async def test_no_raw_user_id_or_name_is_stored(bot: Any, settings: Settings) -> None:
    app, request = bot
    await agree(app, request)
    await press(app, request, "5")
    raw = Path(settings.storage.path).read_bytes()
    wal = Path(f"{settings.storage.path}-wal")
    raw += wal.read_bytes() if wal.exists() else b""
    for secret in (str(CITIZEN).encode(), "Nguyễn".encode(), b"an_nguyen"):
        assert secret not in raw


async def test_typing_a_name_without_diacritics_finds_the_agency(bot: Any) -> None:
    app, request = bot
    await feed(app, text_update(CITIZEN, "tu phap"))
    assert [label for label, _ in request.last_buttons()] == ["Sở Tư pháp"]


def comments_in(settings: Settings) -> list[tuple[str, str | None]]:
    with sqlite3.connect(settings.storage.path) as db:
        return list(db.execute("SELECT field, value FROM extras WHERE field LIKE 'comment%'"))


async def test_a_phone_number_in_a_comment_is_confirmed_with_buttons(
    bot: Any, settings: Settings
) -> None:
    app, request = bot
    await agree(app, request)
    for _ in range(19):
        await press(app, request, "4")
    while "Gõ ý kiến" not in request.last_text():  # the choices before the comment
        await press(app, request, request.last_buttons()[0][0])
    typed = "Quầy 3 chậm, gọi tôi +84 912.345.678"

    await feed(app, text_update(CITIZEN, typed))
    assert "số điện thoại" in request.last_text()
    labels = [label for label, _ in request.last_buttons()]
    assert labels[:3] == ["Gửi như vậy", "Sửa lại", "Bỏ qua"]
    assert ("comment", typed) not in comments_in(settings)

    await press(app, request, "Sửa lại")
    assert request.sent("editMessageText")[-1].params["text"] == "Sửa lại"
    assert "Gõ ý kiến" in request.last_text()
    await feed(app, text_update(CITIZEN, "Quầy 3 chậm, gọi tôi +84 912 345 678"))
    await press(app, request, "Gửi như vậy")
    assert "Cảm ơn" in request.last_text()
    assert comments_in(settings) == [("comment", "Quầy 3 chậm, gọi tôi +84 912 345 678")]
