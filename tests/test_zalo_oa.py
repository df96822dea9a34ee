"""The Zalo OA channel in process: the real listener, the real database, the fake OA API."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from handlers.officials import Request
from tests.zalo_oa_emulator import OaEmulator
from tests.zalo_oa_support import (
    ADMIN,
    CITIZEN,
    NOW,
    OaCitizen,
    OaRun,
    is_statement,
    oa_running,
    stored_values,
)

VALUES = [5, 4, 3, 2, 1, 0, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 5, 4, 3]  # 0 = not applicable
INVITE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}")


@pytest.fixture
async def run(tmp_path: Path) -> OaRun:  # type: ignore[misc]
    with OaEmulator() as oa:
        async with oa_running(tmp_path, oa) as running:
            yield running


def check_contract(sent_titles: list[str], statement: bool) -> None:
    """The Telegram UI contract's rules for button texts, on OA buttons."""
    digits = [t for t in sent_titles if re.match(r"^[1-5](\D|$)", t)]
    if statement:
        assert [t[0] for t in sent_titles[:5]] == ["1", "2", "3", "4", "5"], sent_titles
    else:
        assert not digits, sent_titles


async def take_survey(citizen: OaCitizen, values: list[int], *, typed: bool) -> None:
    pending = list(values)
    reply = citizen.last
    while "Cảm ơn" not in reply.text:
        statement = is_statement(reply)
        check_contract(reply.titles, statement)
        assert reply.buttons, reply.text
        if statement:
            value = pending.pop(0)
            if typed:
                reply = await citizen.say(str(value))
            else:
                reply = await citizen.press("Không áp dụng" if value == 0 else str(value))
        else:
            # The first button moves forward on every other step.
            reply = await (citizen.say("1") if typed else citizen.press(reply.titles[0]))
    assert not pending
    assert reply.buttons == []  # the final message has no buttons


@pytest.mark.parametrize("typed", [False, True], ids=["buttons", "typed-numbers"])
async def test_a_citizen_takes_the_whole_survey(run: OaRun, typed: bool) -> None:
    citizen = OaCitizen(run)
    consent = await citizen.say("ubnd_xa_a")
    assert "UBND xã A" in consent.text
    assert consent.titles[0].startswith("Đồng ý") or consent.titles[0]  # agree comes first
    await take_survey(citizen, VALUES, typed=typed)
    assert await stored_values(run.services) == VALUES
    statement = [s for s in citizen.seen if is_statement(s)][1]
    assert "Không áp dụng" in statement.titles
    assert any("Quay lại" in t for t in statement.titles)
    assert all(len(s.text) <= 2000 for s in citizen.seen)
    assert all(len(s.buttons) <= 8 for s in citizen.seen)
    optional = [s for s in citizen.seen if "Bỏ qua" in s.titles]
    assert len(optional) >= 3  # optional steps always keep their skip button
    widest = max(citizen.seen, key=lambda s: len(s.buttons))
    assert len(widest.buttons) == 8
    assert "Bỏ qua" in widest.titles
    assert "Quay lại" in " ".join(widest.titles)
    assert "8 – " in widest.text  # the option without a button is listed, to be typed
    # One message per citizen message, each a reply to it.
    assert len(run.oa.sent(CITIZEN)) == len(citizen.seen)
    assert run.channel._people == {}  # nobody is remembered once their replies are out
    # A citizen's messages leave no reply-window record (only officials' do).
    assert await run.services.database.fetch_value("SELECT COUNT(*) FROM oa_inbound") == 0


async def test_an_old_or_hand_typed_payload_is_refused_and_counts_nothing(run: OaRun) -> None:
    citizen = OaCitizen(run)
    await citizen.say("ubnd_xa_a")
    first = await citizen.press(citizen.last.titles[0])  # agree → statement 1
    assert is_statement(first)
    second = await citizen.press("4")
    assert is_statement(second)
    replayed = await citizen.say(first.payload("2"))  # an old button, pressed again
    assert is_statement(replayed)
    assert "2/19" in replayed.text
    forged = first.payload("5").replace("|1|", "|7|")
    refused = await citizen.say(forged)  # typed by hand: a step that is not theirs
    assert "2/19" in refused.text
    assert await stored_values(run.services) == [4]


async def test_every_event_delivered_twice_counts_once(run: OaRun) -> None:
    citizen = OaCitizen(run)
    await citizen.say("ubnd_xa_a")
    await citizen.press(citizen.last.titles[0])
    body = run.event(CITIZEN, citizen.last.payload("3"))
    before = len(run.oa.sent(CITIZEN))
    # Twice at once, then once more later: one answer, one reply.
    statuses = await asyncio.gather(run.post(body), run.post(body))
    assert [s.status_code for s in statuses] == [200, 200]
    await run.settle()
    assert (await run.post(body)).status_code == 200
    await run.settle()
    assert len(run.oa.sent(CITIZEN)) == before + 1
    assert await stored_values(run.services) == [3]


@pytest.mark.parametrize(
    ("signature", "mac", "stale", "status"),
    [
        ("right", False, False, 200),
        ("right", True, False, 200),
        ("wrong", False, False, 403),
        ("none", False, False, 403),
        ("right", False, True, 403),
    ],
    ids=["signed", "mac-prefix", "wrongly-signed", "unsigned", "stale"],
)
async def test_the_webhook_takes_only_fresh_signed_events(
    run: OaRun, signature: str, mac: bool, stale: bool, status: int
) -> None:
    stamp = run.clock.ms() - (6 * 60 * 1000 if stale else 0)
    body = run.event(CITIZEN, "ubnd_xa_a", timestamp_ms=stamp)
    response = await run.post(body, signature=signature, mac=mac)
    assert response.status_code == status
    await run.settle()
    assert len(run.oa.sent(CITIZEN)) == (1 if status == 200 else 0)


async def test_the_hmac_form_of_the_signature_is_accepted_too(run: OaRun) -> None:
    import hashlib
    import hmac
    import json

    import httpx

    body = run.event(CITIZEN, "ubnd_xa_a")
    raw = json.dumps(body).encode()
    keyed = hmac.new(
        run.oa.oa_secret_key.encode(),
        run.oa.app_id.encode() + raw + body["timestamp"].encode(),
        hashlib.sha256,
    ).hexdigest()
    headers = {"X-ZEvent-Signature": keyed, "Content-Type": "application/json"}
    async with httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{run.port}/zalo-oa/webhook"
        assert (await client.post(url, content=raw, headers=headers)).status_code == 200
        # A body changed after signing is refused; so is one that is not JSON, or too big.
        tampered = raw.replace(b"ubnd_xa_a", b"so_tu_phap")
        assert (await client.post(url, content=tampered, headers=headers)).status_code == 403
        junk = {**headers, "X-ZEvent-Signature": "x"}
        assert (await client.post(url, content=b"{nope", headers=junk)).status_code == 400
        big = b"[" + b"0," * 600_000 + b"0]"
        assert (await client.post(url, content=big, headers=junk)).status_code == 413


async def test_other_events_are_acknowledged_politely(run: OaRun) -> None:
    for name in ("follow", "unfollow", "user_seen_message", "oa_send_text"):
        assert (await run.post(run.event(CITIZEN, name=name))).status_code == 200
    sticker = run.event(CITIZEN, name="user_send_sticker")
    assert (await run.post(sticker)).status_code == 200
    await run.settle()
    (reply,) = run.oa.sent(CITIZEN)  # the sticker alone gets a reply: a hint
    assert reply.reply_to == sticker["message"]["msg_id"]
    assert (await run.post({"timestamp": str(run.clock.ms()), "no": "event"})).status_code == 200
    assert (await run.post({"no": "timestamp"})).status_code == 403  # nothing to check it by


async def test_an_expired_token_is_refreshed_once_and_the_reply_still_goes(run: OaRun) -> None:
    citizen = OaCitizen(run)
    await citizen.say("ubnd_xa_a")
    assert run.oa.refreshes == 1  # the first send needed a token
    run.oa.expire_access_tokens()  # Zalo now calls the stored token expired (-216)
    reply = await citizen.press(citizen.last.titles[0])
    assert is_statement(reply)
    assert run.oa.refreshes == 2
    run.oa.rate_limit_next(2)  # -32 twice: backed off and sent
    assert is_statement(await citizen.press("5"))


async def test_tokens_are_refreshed_ahead_of_expiry_and_stored_first(run: OaRun) -> None:
    citizen = OaCitizen(run)
    await citizen.say("ubnd_xa_a")
    stored = await run.channel.store.current()
    assert stored is not None
    assert stored.refresh_token == run.oa.current_refresh_token  # the new one, durably
    run.clock.advance(seconds=run.oa.expires_in - 300)  # within ten minutes of expiry
    await citizen.press(citizen.last.titles[0])
    assert run.oa.refreshes == 2
    assert "access_token" not in repr(await run.channel.store.current())


async def test_a_refused_refresh_is_logged_once_and_citizens_hear_unavailable(
    run: OaRun, caplog: pytest.LogCaptureFixture
) -> None:
    citizen = OaCitizen(run)
    await citizen.say("ubnd_xa_a")
    run.oa.refuse_refresh()
    run.clock.advance(seconds=run.oa.expires_in - 60)  # refresh due, the token still valid
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            reply = await citizen.say("1")
            assert "tạm thời gián đoạn" in reply.text
            assert not reply.buttons
    consent_logs = [r for r in caplog.records if "consent" in r.getMessage()]
    assert len(consent_logs) == 1
    assert consent_logs[0].levelno == logging.ERROR
    assert await stored_values(run.services) == []
    text = caplog.text
    for secret in (run.oa.app_secret, run.oa.first_refresh_token, run.oa.current_refresh_token):
        assert secret
        assert secret not in text


async def test_one_refresher_among_several_instances(tmp_path: Path) -> None:
    with OaEmulator() as oa:
        async with oa_running(tmp_path, oa, owner="a") as run:
            from bot.zalo_oa.tokens import TokenKeeper

            async def wait(seconds: float) -> None:
                # The others wait for the refresher's HTTP call and commit: real I/O, short.
                await asyncio.sleep(seconds / 50)

            keepers = [
                TokenKeeper(run.channel.store, run.channel.api, run.clock, wait, owner=name)
                for name in ("a", "b", "c", "d")
            ]
            tokens = await asyncio.gather(*(k.access_token() for k in keepers))
            assert len(set(tokens)) == 1
            assert oa.refreshes == 1


async def test_a_new_consent_in_the_config_replaces_a_refused_token(tmp_path: Path) -> None:
    with OaEmulator() as oa:
        async with oa_running(tmp_path, oa) as run:
            store = run.channel.store
            assert not await store.seed(oa.first_refresh_token, NOW)  # the same: kept
            assert await store.seed("rt-new-consent", NOW)
            row = await store.current()
            assert row is not None
            assert row.refresh_token == "rt-new-consent"
            assert row.access_token is None


async def test_an_official_on_the_oa_uses_the_same_commands(run: OaRun) -> None:
    request = Request("invite", ("*",), "telegram", str(ADMIN), NOW, "vi")
    code = INVITE.search((await run.services.desk.handle(request)).text)
    assert code
    official = OaCitizen(run, "9000000000000001")
    registered = await official.say(f"/register {code.group()}")
    assert "9000000000000001" not in registered.text
    score = await official.say("/score ubnd_xa_a month")
    assert "UBND xã A" in score.text
    assert not score.buttons


async def test_a_restart_after_a_refused_refresh_says_so_once_more(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with OaEmulator() as oa:
        async with oa_running(tmp_path, oa) as run:
            oa.refuse_refresh()
            assert (await run.post(run.event(CITIZEN, "ubnd_xa_a"))).status_code == 200
            await run.settle()  # the first refresh was refused; nobody could be told
            assert oa.sent(CITIZEN) == []
        with caplog.at_level(logging.ERROR):
            caplog.clear()
            async with oa_running(tmp_path, oa):
                pass
    assert [r.getMessage() for r in caplog.records if "consent" in r.getMessage()] != []


async def test_a_first_message_without_a_code_offers_the_agencies_as_buttons(run: OaRun) -> None:
    citizen = OaCitizen(run)
    offer = await citizen.say("xin chào")
    assert offer.titles[:2] == ["UBND xã A", "Sở Tư pháp"]
    consent = await citizen.press("Sở Tư pháp")
    assert "Sở Tư pháp" in consent.text
    check_contract(consent.titles, statement=False)
