"""The survey on Zalo, in process: the real channel polling the fake Zalo Bot API over HTTP."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from bot.digest.delivery import deliver_due_digests
from bot.zalo.digest import publish_chart, zalo_digest
from handlers.replies import Citizen, pseudonym
from survey.period import Period
from tests.webhook_probes import MB, Answer, announce, deeply_nested, post_all
from tests.zalo_emulator import ZaloEmulator
from tests.zalo_support import (
    CITIZEN,
    NOW,
    OFFICIAL,
    SECRET,
    VALUES,
    ZaloCitizen,
    free_port,
    is_statement,
    media_config,
    no_wait,
    numbers,
    official_config,
    running,
    stored_answers,
)

HOOK, HOOK_SECRET = "/zalo/hook", "hook-secret-123"


async def test_a_citizen_takes_the_whole_survey_by_typing_numbers(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        (consent,) = await citizen.say("/start ubnd_xa_a")
        assert "UBND xã A" in consent
        assert numbers(consent) == {1, 2}
        final = await citizen.take_survey(VALUES, comment="Cán bộ nhiệt tình")
        assert "Cảm ơn" in final
        assert numbers(final) == frozenset()
        stored = await stored_answers(bot.services, CITIZEN)
        assert list(stored.values()) == VALUES
        extras = await bot.services.database.fetch_all("SELECT field, value FROM extras")
        assert ("comment", "Cán bộ nhiệt tình") in [(r["field"], r["value"]) for r in extras]
    statements = [t for t in zalo.texts(CITIZEN) if is_statement(t)]
    assert len(statements) == 19
    assert all(len(t) <= 2000 for t in zalo.texts(CITIZEN))
    # No raw Zalo id of the citizen is stored anywhere.
    assert CITIZEN.encode() not in (tmp_path / "sipas.sqlite").read_bytes()


async def test_only_statements_list_exactly_one_to_five(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo):
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.say("/start ubnd_xa_a")
        await citizen.take_survey(VALUES)
    texts = zalo.texts(CITIZEN)
    for text in texts:
        if not is_statement(text):
            assert numbers(text) not in ({1, 2, 3, 4, 5}, {0, 1, 2, 3, 4, 5}), text
            assert not numbers(text) or 1 in numbers(text), text


async def test_a_replayed_update_counts_nothing_and_gets_no_reply(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.start("4")
        sent_before = len(zalo.texts(CITIZEN))
        zalo.replay_all()  # as after a restart: no offset, everything comes again
        await citizen.say("3")  # statement 2; arrives after the replays
        assert len(zalo.texts(CITIZEN)) == sent_before + 1
        stored = await stored_answers(bot.services, CITIZEN)
        assert list(stored.values()) == [4, 3]


async def test_replay_mode_serves_every_update_twice_and_nothing_doubles(
    tmp_path: Path,
) -> None:
    with ZaloEmulator(replay=True) as zalo:
        async with running(tmp_path, zalo) as bot:
            citizen = ZaloCitizen(zalo, CITIZEN)
            await citizen.say("/start ubnd_xa_a")
            await citizen.take_survey(VALUES)
            stored = await stored_answers(bot.services, CITIZEN)
            completed = await bot.services.database.fetch_value(
                "SELECT COUNT(*) FROM responses WHERE status = 'completed'"
            )
        assert list(stored.values()) == VALUES
        assert completed == 1
        # one reply per message the citizen sent: 1 start + 1 consent + 19 + 5 optional
        assert len(zalo.texts(CITIZEN)) == 26


async def test_a_restart_mid_survey_resumes_where_the_citizen_stopped(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    citizen = ZaloCitizen(zalo, CITIZEN)
    async with running(tmp_path, zalo):
        await citizen.say("/start ubnd_xa_a")
        await citizen.say("1")
        for value in VALUES[:7]:
            await citizen.say(str(value))
    async with running(tmp_path, zalo) as bot:
        (prompt,) = await citizen.say("/start")
        assert "7/19" in prompt
        assert numbers(prompt) == {1, 2}
        (question,) = await citizen.say("1")  # continue
        assert "Câu 8/19" in question
        final = await citizen.take_survey(VALUES[7:])
        assert "Cảm ơn" in final
        stored = await stored_answers(bot.services, CITIZEN)
    assert list(stored.values()) == VALUES


async def test_typed_words_go_back_skip_and_cancel(tmp_path: Path, zalo: ZaloEmulator) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.say("ubnd_xa_a")  # the code alone also starts
        await citizen.say("1")
        await citizen.say("2")
        (again,) = await citizen.say("quay lai")
        assert "Câu 1/19" in again
        await citizen.say("５")  # full-width five
        (paused,) = await citizen.say("Hủy")
        assert "tạm dừng" in paused
        (resume,) = await citizen.say("/start")
        assert "1/19" in resume
        await citizen.say("1")
        for value in VALUES[1:]:
            await citizen.say(str(value))
        (sex,) = await citizen.say("bỏ qua")  # skips the procedure question
        assert numbers(sex)
        assert 0 in numbers(sex)
        stored = await stored_answers(bot.services, CITIZEN)
    assert next(iter(stored.values())) == 5
    assert len(stored) == 19


async def test_bad_input_is_answered_politely_and_counts_nothing(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        (agencies,) = await citizen.say("xin chào")
        assert "UBND xã A" in agencies
        assert "Sở Tư pháp" in agencies
        (consent,) = await citizen.say("2")  # the second agency of the list
        assert "Sở Tư pháp" in consent
        await citizen.say("1")
        (hint,) = await citizen.say("7")
        assert "1 đến 5" in hint
        assert is_statement(hint)
        before = len(zalo.texts(CITIZEN))
        zalo.send_sticker(CITIZEN)
        (media,) = (await asyncio.to_thread(zalo.wait_for, CITIZEN, before + 1))[before:]
        assert "tin nhắn chữ" in media
        (again,) = await citizen.say("rất tốt")
        assert is_statement(again)
        stored = await stored_answers(bot.services, CITIZEN)
    assert stored == {}


async def test_zalo_and_telegram_responses_count_in_one_index(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.say("/start ubnd_xa_a")
        await citizen.take_survey([5] * 19)
        conversation = bot.services.conversation
        telegram = Citizen("telegram", pseudonym(SECRET, "telegram", 4242))
        await conversation.start(telegram, "ubnd_xa_a", NOW)
        for _ in range(25):
            progress = await bot.services.responses.open_response(telegram.respondent)
            if progress is None:
                break
            position = progress.position
            typed = "đồng ý" if position == 0 else "1" if position <= 19 else "bỏ qua"
            await conversation.type(telegram, typed, NOW)
        card = await bot.services.scores.scorecard(
            "ubnd_xa_a", Period(date(2026, 11, 1), date(2026, 11, 30)), None
        )
        channels = await bot.services.database.fetch_all(
            "SELECT channel, COUNT(*) AS n FROM responses WHERE status = 'completed' "
            "GROUP BY channel ORDER BY channel"
        )
    assert [(r["channel"], r["n"]) for r in channels] == [("telegram", 1), ("zalo", 1)]
    assert card.result.responses == 2


async def test_officials_use_the_same_commands_as_text(tmp_path: Path, zalo: ZaloEmulator) -> None:
    official, extra = OFFICIAL, official_config()
    async with running(tmp_path, zalo, extra=extra):
        citizen = ZaloCitizen(zalo, CITIZEN)
        (refused,) = await citizen.say("/score")
        assert "cán bộ" in refused
        boss = ZaloCitizen(zalo, official)
        (score,) = await boss.say("/score ubnd_xa_a month")
        assert "UBND xã A" in score
        (ranking,) = await boss.say("/xephang")
        assert "Sở Tư pháp" in ranking
        (subscribed,) = await boss.say("/subscribe")
        assert "bản tin" in subscribed
        (export,) = await boss.say("/export month")
        assert "Telegram" in export


async def test_an_export_asked_for_on_zalo_leaves_no_temporary_folder(
    tmp_path: Path, zalo: ZaloEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    async with running(tmp_path, zalo, extra=official_config()):
        (export,) = await ZaloCitizen(zalo, OFFICIAL).say("/xuat month csv")
        assert "Telegram" in export  # no file on Zalo: the reply says where to get one
    assert list(temp.iterdir()) == []


async def test_webhook_checks_the_secret_and_accepts_both_envelopes(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    port = free_port()
    async with running(tmp_path, zalo, zalo_extra=webhook_config(port)) as bot:
        assert zalo.webhook is not None
        start = zalo.make_update(CITIZEN, "/start ubnd_xa_a")
        post = zalo.post_webhook
        assert await _thread(post, start, secret="wrong-secret") == 403
        assert await _thread(post, start, secret=None) == 403
        assert await _thread(post, start, content_type="text/plain") == 415
        assert zalo.texts(CITIZEN) == []
        assert await _thread(post, start, shape="wrapped") == 200
        assert await _thread(post, start, shape="top") == 200  # the same message again
        await _thread(zalo.wait_for, CITIZEN, 1)
        assert await _thread(post, zalo.make_update(CITIZEN, "1"), shape="top") == 200
        await _thread(zalo.wait_for, CITIZEN, 2)
        answer = zalo.make_update(CITIZEN, "4")
        assert await _thread(post, answer) == 200
        assert await _thread(post, answer) == 200
        # Replies go out after the 200, in order per person: the next one arriving means any
        # reply to the duplicate would have arrived before it. The citizen answers statement 2
        # once it is on their screen (a number typed before it arrived would answer nothing).
        await _thread(zalo.wait_for, CITIZEN, 3)
        assert await _thread(post, zalo.make_update(CITIZEN, "5")) == 200
        texts = await _thread(zalo.wait_for, CITIZEN, 4)
        stored = await stored_answers(bot.services, CITIZEN)
    assert list(stored.values()) == [4, 5]
    assert isinstance(texts, list)
    assert len(zalo.texts(CITIZEN)) == 4
    assert "Câu 3/19" in zalo.texts(CITIZEN)[-1]


def webhook_config(port: int) -> str:
    return (
        f'mode = "webhook"\nwebhook_url = "http://127.0.0.1:{port}{HOOK}"\n'
        f'port = {port}\nsecret_token = "{HOOK_SECRET}"'
    )


async def test_the_webhook_judges_the_headers_before_reading_a_body_and_caps_it(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    port = free_port()
    right = {"X-Bot-Api-Secret-Token": HOOK_SECRET, "Content-Type": "application/json"}
    async with running(tmp_path, zalo, zalo_extra=webhook_config(port)):
        for headers in ({**right, "X-Bot-Api-Secret-Token": "wrong-secret"}, {}):
            # 5 MB announced, 64 KB sent: refused at once, the rest never read.
            refused = await _thread(announce, port, HOOK, 5 * MB, headers)
            assert refused == Answer(403, hung_up=True)
        too_big = await _thread(announce, port, HOOK, 2 * MB, right)
        assert too_big == Answer(413, hung_up=True)
        assert await _thread(post_all, port, HOOK, deeply_nested(), right) == 400
        assert zalo.texts(CITIZEN) == []
        # …and the bot still serves.
        assert (
            await _thread(zalo.post_webhook, zalo.make_update(CITIZEN, "/start ubnd_xa_a")) == 200
        )
        await _thread(zalo.wait_for, CITIZEN, 1)


async def _thread(function: object, *args: object, **kwargs: object) -> object:
    assert callable(function)
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_the_weekly_digest_reaches_zalo_officials_once_with_the_chart_by_url(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    official, extra, media = OFFICIAL, official_config(), media_config()
    async with running(tmp_path, zalo, extra=extra, zalo_extra=media) as bot:
        citizen = ZaloCitizen(zalo, CITIZEN)
        await citizen.say("/start ubnd_xa_a")
        await citizen.take_survey(VALUES)
        await ZaloCitizen(zalo, official).say("/subscribe")
        sender = zalo_digest(bot.channel.api, bot.settings.zalo)
        monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, after the cron
        first = await deliver_due_digests({"zalo": sender}, bot.services, monday, sleep=no_wait)
        second = await deliver_due_digests({"zalo": sender}, bot.services, monday, sleep=no_wait)
        photos = [r for r in zalo.sent(official) if r["method"] == "sendPhoto"]
        assert len(photos) == 1
        async with httpx.AsyncClient() as client:
            chart = await client.get(photos[0]["photo"])
    assert first.sent == [official]
    assert second.already == [official]
    assert chart.status_code == 200
    assert chart.content.startswith(b"\x89PNG")
    digest = zalo.texts(official)[1]
    assert "Bản tin SIPAS" in digest
    assert "16/11/2026" in digest


async def test_the_chart_server_serves_chart_names_only(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    async with running(tmp_path, zalo, zalo_extra=media_config()) as bot:
        folder, base = bot.settings.zalo.media_dir, bot.settings.zalo.public_media_url
        name = publish_chart(folder, b"\x89PNG a chart")
        (folder / "charts").mkdir()
        private = ["config.toml", "sipas.sqlite", "sipas.sqlite-wal", f"{name}.bak", "a.png"]
        for other in [*private, f"charts/{name}"]:
            (folder / other).write_bytes(b"not for the public")
        async with httpx.AsyncClient() as client:
            chart = await client.get(f"{base}/{name}")
            refused = [(await client.get(f"{base}/{other}")).status_code for other in private]
            nested = await client.get(f"{base}/charts/{name}")
            climbing = await client.get(f"{base}/..%2Fsipas.sqlite")
    assert chart.content == b"\x89PNG a chart"
    assert refused == [404] * len(private)
    assert (nested.status_code, climbing.status_code) == (404, 404)


async def test_without_a_public_media_url_the_digest_is_text_only(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    official, extra = OFFICIAL, official_config("official", '"ubnd_xa_a"')
    async with running(tmp_path, zalo, extra=extra) as bot:
        await ZaloCitizen(zalo, official).say("/theodoi")
        sender = zalo_digest(bot.channel.api, bot.settings.zalo)
        monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
        report = await deliver_due_digests({"zalo": sender}, bot.services, monday, sleep=no_wait)
    assert report.sent == [official]
    assert [r["method"] for r in zalo.sent(official)] == ["sendMessage", "sendMessage"]
    assert "UBND xã A" in zalo.texts(official)[1]


async def test_a_digest_whose_chart_failed_continues_without_repeating_the_text(
    tmp_path: Path, zalo: ZaloEmulator
) -> None:
    official, extra, media = OFFICIAL, official_config(), media_config()
    async with running(tmp_path, zalo, extra=extra, zalo_extra=media) as bot:
        await ZaloCitizen(zalo, official).say("/subscribe")
        digest = zalo_digest(bot.channel.api, bot.settings.zalo)
        monday = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
        zalo.fail_next("sendPhoto", 502, count=5)
        first = await deliver_due_digests({"zalo": digest}, bot.services, monday, sleep=no_wait)
        second = await deliver_due_digests({"zalo": digest}, bot.services, monday, sleep=no_wait)
    assert first.failed == [official]
    assert second.sent == [official]
    methods = [r["method"] for r in zalo.sent(official)]
    assert methods == ["sendMessage", "sendMessage", "sendPhoto"]  # /subscribe, digest, chart
