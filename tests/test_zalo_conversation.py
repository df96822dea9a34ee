"""Numbers on Zalo mean what the person has in front of them, whatever happened before."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.services import Services, open_services
from bot.zalo.channel import build_channel
from handlers.replies import pseudonym
from handlers.text.chat import Incoming
from tests.zalo_emulator import ZaloEmulator
from tests.zalo_support import (
    CITIZEN,
    NOW,
    OFFICIAL,
    SECRET,
    ZaloCitizen,
    numbers,
    official_config,
    running,
    stored_answers,
    text_chat,
    write_zalo_config,
)


async def started(zalo: ZaloEmulator) -> ZaloCitizen:
    """A citizen who agreed and answered the first statement with 4."""
    citizen = ZaloCitizen(zalo, CITIZEN)
    await citizen.start("4")
    return citizen


# A detour from statement 2 (after "4" to statement 1): what the person types, what each reply
# must say (a frozenset: exactly the numbers it offers), and the answers stored at the end.
DETOURS = {
    "keeping data then 1 answers the question and deletes nothing": (
        [
            ("/forget", ()),
            ("2", ("giữ nguyên", "Câu 2/19")),  # "Không xoá": the open question, so 1 means it
            ("1", ()),
        ],
        [4, 1],
    ),
    "changing language mid survey shows the question again": (
        [
            ("/lang", ()),
            ("2", ("Language set to English", "Question 2/19")),
            ("5", ("Question 3/19",)),
        ],
        [4, 5],
    ),
    "after pausing a number offers to resume and answers nothing": (
        [
            ("hủy", ()),
            ("1", ("1/19", frozenset({1, 2}))),
            ("1", ("Câu 2/19",)),  # continue
        ],
        [4],
    ),
    "a number from another list never answers the open question": (
        [
            ("/lang", ()),  # a list of two languages
            ("3", ("Không có lựa chọn số 3", "Câu 2/19")),  # back to the open question's list
            ("/forget", ()),
            ("5", ("Câu 2/19",)),  # not on the yes/no list either
        ],
        [4],
    ),
}


@pytest.mark.parametrize(("script", "answers"), DETOURS.values(), ids=DETOURS.keys())
async def test_a_detour_mid_survey_leaves_numbers_meaning_what_is_shown(
    script: list[tuple[str, tuple[str | frozenset[int], ...]]],
    answers: list[int],
    tmp_path: Path,
    zalo: ZaloEmulator,
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = await started(zalo)
        for text, expected in script:
            (reply,) = await citizen.say(text)
            for part in expected:
                if isinstance(part, str):
                    assert part in reply
                else:
                    assert numbers(reply) == part
        stored = await stored_answers(bot.services, CITIZEN)
    assert list(stored.values()) == answers


async def test_a_sticker_on_the_consent_screen_leaves_1_meaning_agree(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo):
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.say("/start ubnd_xa_a")
        before = len(zalo.texts(CITIZEN))
        zalo.send_sticker(CITIZEN)
        (hint,) = (await asyncio.to_thread(zalo.wait_for, CITIZEN, before + 1))[before:]
        assert numbers(hint) == {1, 2}  # the hint, then the consent question again
        (first,) = await citizen.say("1")
        assert "Câu 1/19" in first


@pytest.mark.parametrize(
    "comment", ["Đúng hẹn, tốt", "v_ rất tốt"], ids=["saying dung", "starting like a visit code"]
)
async def test_a_comment_that_looks_like_an_answer_or_a_code_is_a_comment(
    comment: str, tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = await started(zalo)
        await citizen.reach_the_comment()
        (thanks,) = await citizen.say(comment)
        assert "Cảm ơn" in thanks
        comments = await bot.services.database.fetch_all(
            "SELECT value FROM extras WHERE field = 'comment'"
        )
    assert [row["value"] for row in comments] == [comment]


async def test_message_ids_that_look_like_numbers_stay_distinct(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.start()
        for message_id, value in (("1234e5678901234567", "4"), ("9876e5678901234567", "2")):
            before = len(zalo.texts(CITIZEN))
            zalo.send_raw(zalo.make_update(CITIZEN, value, message_id=message_id))
            await asyncio.to_thread(zalo.wait_for, CITIZEN, before + 1)
        stored = await stored_answers(bot.services, CITIZEN)
    assert list(stored.values()) == [4, 2]


async def test_a_replay_older_than_a_day_is_not_taken(tmp_path: Path, zalo: ZaloEmulator) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.say("/start ubnd_xa_a")
        old = zalo.make_update(CITIZEN, "1")
        old["message"]["date"] = int((NOW - timedelta(days=2)).timestamp() * 1000)
        zalo.send_raw(old)
        (first,) = await citizen.say("1")  # the fresh "1" is the one that agrees
        assert "Câu 1/19" in first
        responses = await bot.services.database.fetch_value(
            "SELECT position FROM responses WHERE respondent = ?",
            (pseudonym(SECRET, "zalo", CITIZEN),),
        )
    assert responses == 1


async def test_a_number_typed_after_a_lost_reply_answers_nothing(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.start()
        zalo.fail_next("sendMessage", 400)  # the reply showing statement 2 is lost
        zalo.send_text(CITIZEN, "4")
        await until_undelivered(bot.services, zalo)
        (again,) = await citizen.say("3")  # typed without having seen statement 2
        assert "Câu 2/19" in again
        assert await stored_answers(bot.services, CITIZEN) == {"access_1": 4}
        await citizen.say("3")
        stored = await stored_answers(bot.services, CITIZEN)
    assert list(stored.values()) == [4, 3]


async def until_undelivered(services: Services, zalo: ZaloEmulator, timeout: float = 10.0) -> None:
    """Until the bot has recorded that its last reply did not go out (another task does it).
    A new list is undelivered from the moment it is stored, and counts as on its way while it
    is sent: so first the failed send must have happened, then its failure be recorded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    query = "SELECT delivered FROM menus WHERE respondent = ?"
    respondent = pseudonym(SECRET, "zalo", CITIZEN)
    while (
        zalo.faults_left("sendMessage")
        or await services.database.fetch_value(query, (respondent,)) != 0
    ):
        assert loop.time() < deadline, "the failed send was never recorded"
        await asyncio.sleep(0.01)


async def test_a_visit_code_sent_as_text_starts_the_survey(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    official, extra = OFFICIAL, official_config("official")
    async with running(tmp_path, zalo, extra=extra):
        (link,) = await ZaloCitizen(zalo, official).say("/visit ubnd_xa_a")
        assert "gửi cho bot" in link
        token = link.split("/start ")[1].split()[0]
        citizen = ZaloCitizen(zalo, CITIZEN)
        (consent,) = await citizen.say(token)  # without /start
        assert "UBND xã A" in consent
        assert numbers(consent) == {1, 2}


async def test_a_greeting_gets_the_list_not_a_failed_search(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo):
        (reply,) = await ZaloCitizen(zalo, CITIZEN).say("Xin chào")
    assert "Không có cơ quan" not in reply
    assert "Gõ số của cơ quan" in reply
    assert numbers(reply) == {1, 2}


async def test_an_agency_code_mid_survey_starts_that_agency_not_a_comment(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = await started(zalo)
        (consent,) = await citizen.say("so_tu_phap")
        assert "Sở Tư pháp" in consent
        assert numbers(consent) == {1, 2}
        extras = await bot.services.database.fetch_value("SELECT COUNT(*) FROM extras")
    assert extras == 0


async def test_the_same_webhook_delivery_twice_at_once_is_handled_once(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        update = zalo.make_update(CITIZEN, "/start ubnd_xa_a")
        zalo.add_chat(CITIZEN)  # as if Zalo had posted it: the bot may answer this chat
        first, second = await asyncio.gather(
            bot.channel.receive(update), bot.channel.receive(update)
        )
        assert first is True
        assert second is True
        await citizen_waits(zalo, 1)
        marker = ZaloCitizen(zalo, CITIZEN)
        await marker.say("2")  # declines; its reply comes after any reply to the twin
    texts = zalo.texts(CITIZEN)
    assert len(texts) == 2
    assert "UBND xã A" in texts[0]


async def citizen_waits(zalo: ZaloEmulator, count: int) -> None:
    await asyncio.to_thread(zalo.wait_for, CITIZEN, count)


async def test_a_message_the_last_poll_brings_during_a_stop_is_stored(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    zalo.poll_cap = 10.0  # the poll in flight stays open until the message arrives
    async with running(tmp_path, zalo) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.say("/start ubnd_xa_a")
        await asyncio.to_thread(zalo.wait_polling)
        stopping = asyncio.create_task(bot.channel.stop())
        await asyncio.sleep(0)  # stop() has begun: no new poll will be made
        message_id = zalo.send_text(CITIZEN, "1")
        await stopping
        seen = await bot.services.text_chat("zalo").seen(message_id)
        position = await bot.services.database.fetch_value("SELECT position FROM responses")
    assert seen
    assert position == 1  # the consent was stored, not lost with the poll


async def test_after_a_crash_before_the_reply_went_out_a_number_answers_nothing(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with text_chat(tmp_path, zalo) as (services, chat):
        for n, text in enumerate(["/start ubnd_xa_a", "1"]):
            await chat.handle(Incoming(CITIZEN, text, f"m{n}"), NOW)
            await chat.delivered(CITIZEN, True)
        await chat.handle(Incoming(CITIZEN, "4", "m2"), NOW)  # stored; the bot died here
        (again,) = await chat.handle(Incoming(CITIZEN, "2", "m3"), NOW)
        stored = await stored_answers(services, CITIZEN)
    assert "Câu 2/19" in again
    assert list(stored.values()) == [4]


async def test_storing_never_waits_for_a_reply_stuck_in_a_429(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    release = asyncio.Event()

    async def stuck(_: float) -> None:
        await release.wait()  # the 429's wait, held until the test lets it go

    settings = load_settings(write_zalo_config(tmp_path, zalo))
    services = await open_services(settings)
    channel = build_channel(settings.zalo, services.text_chat("zalo"), lambda: NOW, sleep=stuck)
    await channel.start()
    chat = services.text_chat("zalo")
    try:
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.say("/start ubnd_xa_a")
        zalo.fail_next("sendMessage", 429, retry_after=1)
        ids = [zalo.send_text(CITIZEN, "1")]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not [c for c in zalo.calls("sendMessage") if c.get("status") == 429]:
            assert loop.time() < deadline, "statement 1 was never sent"
            await asyncio.sleep(0.01)  # statement 1 is on its way, held by a 429
        ids += [zalo.send_text(CITIZEN, text) for text in ("4", "5")]
        while not all([await chat.seen(i) for i in ids]):  # all stored, no reply sent yet
            assert loop.time() < deadline, "a message waited for a stuck reply"
            await asyncio.sleep(0.01)
        stored = await stored_answers(services, CITIZEN)
        assert len(zalo.texts(CITIZEN)) == 1
        release.set()
        texts = await asyncio.to_thread(zalo.wait_for, CITIZEN, 4)
    finally:
        release.set()
        await channel.stop()
        await services.close()
    # "4" answered statement 1, whose question was on its way; "5" came before statement 2
    # could have been seen, so it answered nothing and statement 2 was asked again.
    assert list(stored.values()) == [4]
    assert ["Câu 1/19" in t for t in texts[1:]] == [True, False, False]
    assert "Câu 2/19" in texts[3]


async def test_a_number_typed_before_the_list_reached_the_person_answers_nothing(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with text_chat(tmp_path, zalo) as (services, chat):
        t = NOW.timestamp()  # Zalo's clock, seconds
        await chat.handle(Incoming(CITIZEN, "/start ubnd_xa_a", "m0", t), NOW)
        await chat.delivered(CITIZEN, True, t + 1)
        await chat.handle(Incoming(CITIZEN, "1", "m1", t + 2), NOW)  # agrees: statement 1
        await chat.delivered(CITIZEN, True, t + 3)
        # A "1" sent at t + 2.5 was meant for the consent screen, though it is read later.
        (again,) = await chat.handle(Incoming(CITIZEN, "1", "m2", t + 2.5), NOW)
        stored_early = await stored_answers(services, CITIZEN)
        await chat.delivered(CITIZEN, True, t + 3.5)
        await chat.handle(Incoming(CITIZEN, "5", "m3", t + 4), NOW)
        stored = await stored_answers(services, CITIZEN)
    assert "Câu 1/19" in again
    assert stored_early == {}
    assert list(stored.values()) == [5]


async def test_a_late_word_on_an_earlier_reply_does_not_mark_a_newer_list_as_seen(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    # Storing never waits for sending: "4" can be stored (statement 2's list shown) while the
    # reply to "1" is still on its way; when that earlier send then succeeds, statement 2's
    # list has not reached the person, and a number they type must not answer it.
    first, second = NOW, NOW + timedelta(seconds=1)
    async with text_chat(tmp_path, zalo) as (services, chat):
        await chat.handle(Incoming(CITIZEN, "/start ubnd_xa_a", "m0"), NOW)
        await chat.delivered(CITIZEN, True)
        await chat.handle(Incoming(CITIZEN, "1", "m1"), first)  # statement 1 shown ...
        await chat.delivered(CITIZEN, True, handled_at=first)  # ... its reply on its way
        await chat.handle(Incoming(CITIZEN, "4", "m2"), second)  # answered; statement 2 shown
        await chat.delivered(CITIZEN, True, handled_at=first)  # the reply to "1" completes
        (again,) = await chat.handle(Incoming(CITIZEN, "3", "m3"), second)
        stored = await stored_answers(services, CITIZEN)
    assert "Câu 2/19" in again
    assert list(stored.values()) == [4]


async def test_a_phone_clock_far_off_does_not_block_answers(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    t = NOW.timestamp()
    async with text_chat(tmp_path, zalo) as (services, chat):
        await chat.handle(Incoming(CITIZEN, "/start ubnd_xa_a", "m0", t - 3600), NOW)
        await chat.delivered(CITIZEN, True, t)
        await chat.handle(Incoming(CITIZEN, "1", "m1", t - 3599), NOW)  # an hour "early"
        await chat.delivered(CITIZEN, True, t + 1)
        await chat.handle(Incoming(CITIZEN, "4", "m2", t - 3598), NOW)
        stored = await stored_answers(services, CITIZEN)
    assert list(stored.values()) == [4]


async def test_a_phone_number_in_a_comment_is_confirmed_with_numbered_choices(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = await started(zalo)
        await citizen.reach_the_comment()
        (warned,) = await citizen.say("Chờ lâu. SĐT 0912-345-678")
        assert "số điện thoại" in warned
        assert "1 – Gửi như vậy" in warned
        assert "2 – Sửa lại" in warned
        assert numbers(warned) == {0, 1, 2}  # 0 skips; never a 1–5 list
        (asked,) = await citizen.say("2")  # edit
        assert "Gõ ý kiến" in asked
        (warned,) = await citizen.say("Chờ lâu. CMND 182345678")
        (thanks,) = await citizen.say("1")  # send as is
        assert "Cảm ơn" in thanks
        comments = await bot.services.database.fetch_all(
            "SELECT field, value FROM extras WHERE field LIKE 'comment%'"
        )
    assert [(row["field"], row["value"]) for row in comments] == [
        ("comment", "Chờ lâu. CMND 182345678")
    ]


async def test_a_number_not_on_the_comment_confirmation_is_not_a_comment(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = await started(zalo)
        await citizen.reach_the_comment()
        await citizen.say("gọi 0912345678")
        (hint,) = await citizen.say("3")  # a slip of the finger, not the comment "3"
        assert "Vui lòng gõ số của một lựa chọn" in hint
        assert "Gửi như vậy" in hint  # the confirmation again
        comments = await bot.services.database.fetch_all(
            "SELECT field, value FROM extras WHERE field LIKE 'comment%'"
        )
    assert [(row["field"], row["value"]) for row in comments] == [
        ("comment_held", "gọi 0912345678")
    ]
