"""Tests for the Bot API emulator, driven by a real python-telegram-bot client."""

from __future__ import annotations

import datetime as dtm
import json
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, EndPointNotFound, Forbidden, NetworkError, RetryAfter

from tests.botapi_emulator import BotApiEmulator

TOKEN = "123:ABC"
USER = 4242


@pytest.fixture
def api() -> Iterator[BotApiEmulator]:
    with BotApiEmulator(token=TOKEN, username="sipas_test_bot") as emulator:
        yield emulator


@pytest.fixture
async def bot(api: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url, base_file_url=api.base_file_url) as client:
        yield client


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Rất hài lòng", callback_data="q1:5"),
                InlineKeyboardButton("Không hài lòng", callback_data="q1:1"),
            ]
        ]
    )


async def test_get_me(api: BotApiEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123, "sipas_test_bot", True)
    assert api.calls[0][0] == "getMe"  # Bot.initialize() already asked


async def test_user_message_arrives_and_offset_confirms(api: BotApiEmulator, bot: Bot) -> None:
    update_id = api.send_text(USER, "/start qr_abc", first_name="An", username="an_vn")

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None
    assert (message.chat.id, message.chat.type, message.text) == (USER, "private", "/start qr_abc")
    assert message.from_user is not None
    assert message.from_user.username == "an_vn"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 6)]

    # Unconfirmed updates are delivered again; an offset past them confirms and drops them.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update_id]
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert api.pending_update_ids() == []
    assert api.calls_to("getUpdates")[-1]["offset"] == update_id + 1


async def test_long_poll_wakes_when_update_is_queued(api: BotApiEmulator, bot: Bot) -> None:
    def user_writes_once_the_bot_is_polling() -> None:
        api.wait_for(lambda: api.long_polls_waiting == 1, timeout=5)
        api.send_text(USER, "xin chào")

    writer = threading.Thread(target=user_writes_once_the_bot_is_polling)
    writer.start()
    started = time.monotonic()
    updates = await bot.get_updates(timeout=20)
    writer.join()
    assert time.monotonic() - started < 3
    assert updates[0].message is not None
    assert updates[0].message.text == "xin chào"


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.2)) == ()
    assert 0.15 < time.monotonic() - started < 2


async def test_press_button_produces_callback_query(api: BotApiEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Câu 1: Anh/chị hài lòng không?", reply_markup=_keyboard())
    stored = api.last_message(USER)
    assert stored.message_id == sent.message_id
    assert stored.buttons == [[("Rất hài lòng", "q1:5"), ("Không hài lòng", "q1:1")]]

    update_id = api.press_button(USER, sent.message_id, "Rất")
    (update,) = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None
    assert (update.update_id, query.data, query.from_user.id) == (update_id, "q1:5", USER)
    assert query.message is not None
    assert query.message.message_id == sent.message_id

    assert await bot.answer_callback_query(query.id, text="Đã ghi nhận")
    assert api.callback_answers == [(query.id, "Đã ghi nhận")]

    with pytest.raises(AssertionError, match="Không hài lòng"):
        api.press_button(USER, sent.message_id, "Bình thường")


async def test_message_ids_are_per_chat_and_shared_with_user(
    api: BotApiEmulator, bot: Bot
) -> None:
    api.send_text(USER, "hi")  # the user's message takes id 1 in this chat
    first = await bot.send_message(USER, "a")
    other_chat = await bot.send_message(USER + 1, "b")
    second = await bot.send_message(USER, "c")
    assert (first.message_id, second.message_id, other_chat.message_id) == (2, 3, 1)


async def test_edit_message_text_updates_stored_message(api: BotApiEmulator, bot: Bot) -> None:
    sent = await bot.send_message(USER, "Câu 1", reply_markup=_keyboard())
    await bot.edit_message_text(
        "Cảm ơn!",
        chat_id=USER,
        message_id=sent.message_id,
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Xong", callback_data="done")]]),
    )
    stored = api.last_message(USER)
    assert (stored.text, stored.edits, stored.buttons) == ("Cảm ơn!", 1, [[("Xong", "done")]])

    await bot.edit_message_text("Xong", chat_id=USER, message_id=sent.message_id)
    assert api.last_message(USER).buttons == []  # an edit without a keyboard drops it

    # PTB strips the "Bad Request: " prefix and capitalizes the rest of the description.
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("Xong", chat_id=USER, message_id=sent.message_id)


async def test_send_document_uploads_bytes(api: BotApiEmulator, bot: Bot) -> None:
    payload = b"PK\x03\x04 fake xlsx \x00\xff"
    sent = await bot.send_document(
        USER, document=payload, filename="bao_cao.xlsx", caption="Báo cáo tuần"
    )
    stored = api.last_message(USER)
    assert (stored.kind, stored.file_name, stored.file_size) == (
        "document",
        "bao_cao.xlsx",
        len(payload),
    )
    assert (stored.file_bytes, stored.caption) == (payload, "Báo cáo tuần")
    assert sent.document is not None

    await bot.send_photo(USER, photo=b"\x89PNG fake", caption="QR")
    assert (api.last_message(USER).kind, api.last_message(USER).file_bytes) == (
        "photo",
        b"\x89PNG fake",
    )


async def test_fail_next_429_raises_retry_after(
    api: BotApiEmulator, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Opting into timedelta avoids PTB's deprecation warning (an error under filterwarnings).
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    api.fail_next("sendMessage", 429, retry_after=1)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "x")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    await bot.send_message(USER, "x")  # only the next call failed
    assert [name for name, _ in api.calls].count("sendMessage") == 2
    assert len(api.messages(USER)) == 1


async def test_server_errors_and_dropped_connections(api: BotApiEmulator, bot: Bot) -> None:
    api.fail_next("sendMessage", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER, "x")
    api.drop_connection_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "x")
    api.block(USER)
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(USER, "x")
    assert api.messages(USER) == []


async def test_replay_redelivers_same_update_id(api: BotApiEmulator, bot: Bot) -> None:
    update_id = api.send_text(USER, "/start")
    (first,) = await bot.get_updates(timeout=0)
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()

    api.replay(update_id)
    (again,) = await bot.get_updates(offset=update_id + 1, timeout=0)
    assert again.update_id == update_id
    assert again.to_dict() == first.to_dict()
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()


async def test_unknown_method_wrong_token_and_json_body(api: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("frobnicate")
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api.base_url}{TOKEN}/frobnicate")
        assert response.status_code == 404
        assert response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        response = await client.post(f"{api.base_url}999:WRONG/getMe")
        assert (response.status_code, response.json()["description"]) == (401, "Unauthorized")
        response = await client.post(
            f"{api.base_url}{TOKEN}/sendMessage", json={"chat_id": USER, "text": "123"}
        )
        assert response.json()["result"]["text"] == "123"
    assert api.last_message(USER).text == "123"


async def test_commands_round_trip(api: BotApiEmulator, bot: Bot) -> None:
    await bot.set_my_commands([("start", "Bắt đầu"), ("help", "Trợ giúp")])
    assert api.commands() == [("start", "Bắt đầu"), ("help", "Trợ giúp")]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Start", "x")])


def test_wait_for_message_returns_newest_match(api: BotApiEmulator) -> None:
    def post(text: str) -> None:
        body = json.dumps({"chat_id": USER, "text": text}).encode()
        request = urllib.request.Request(
            f"{api.base_url}{TOKEN}/sendMessage",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.load(response)["ok"] is True

    post("Câu 1")
    poster = threading.Thread(target=post, args=("Câu 2",))
    poster.start()
    message = api.wait_for_message(USER, lambda m: m.text == "Câu 2", timeout=5)
    poster.join()
    assert message.text == "Câu 2"
    assert api.wait_for_message(USER, lambda m: m.text.startswith("Câu")).text == "Câu 2"
    with pytest.raises(AssertionError, match="Câu 1"):
        api.wait_for_message(USER, lambda m: m.text == "never", timeout=0.1)


def test_close_is_prompt_while_long_polling() -> None:
    api = BotApiEmulator(token=TOKEN)
    results: list[object] = []

    def poll() -> None:
        url = f"{api.base_url}{TOKEN}/getUpdates?timeout=30"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                results.append(json.load(response))
        except OSError as exc:  # the socket may be cut instead; either way it must not hang
            results.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    api.wait_for(lambda: api.long_polls_waiting == 1, timeout=5)
    started = time.monotonic()
    api.close()
    poller.join(timeout=5)
    assert not poller.is_alive()
    assert time.monotonic() - started < 1.5
    assert results
