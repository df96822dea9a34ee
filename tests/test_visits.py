"""Signed single-use visit links: one response per visit; reused, expired, forged refused."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import (
    AgencyEntry,
    OfficialEntry,
    PrivacySection,
    Settings,
    StorageSection,
)
from bot.services import open_services
from handlers.codes import visit_token
from handlers.replies import Citizen, pseudonym
from survey.texts import say
from survey.visits import Visit, issue_visit_token, read_visit_token
from tests.settings_support import make_settings
from tests.telegram_fakes import RecordingRequest, feed, press_update, started_bot, text_update

SECRET = "visit-test-secret-0123"
OFFICIAL = 500
NOW = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
MINUTE = int(NOW.timestamp() // 60)


def test_a_token_round_trips_and_fits_a_start_payload() -> None:
    code = "x" * 32
    token = issue_visit_token(SECRET, code, MINUTE + 120, "abcd1234")
    assert len(token) <= 64
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert read_visit_token(SECRET, token, MINUTE) == Visit(code, "abcd1234")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda t: t.replace("_ubnd_xa_a", "_so_tu_phap"), "tampered"),
        (lambda t: t[:-12] + "0" + t[-11:], "tampered"),
        (lambda t: t.replace("abcd1234", "abcd1235"), "tampered"),
        (lambda t: t[:20], "malformed"),
        (lambda t: t + "!", "malformed"),
    ],
)
def test_a_changed_token_proves_nothing(change: Any, reason: str) -> None:
    token = issue_visit_token(SECRET, "ubnd_xa_a", MINUTE + 120, "abcd1234")
    assert read_visit_token(SECRET, change(token), MINUTE) == reason


def test_a_token_expires_and_another_secret_does_not_sign_it() -> None:
    token = issue_visit_token(SECRET, "ubnd_xa_a", MINUTE + 120, "abcd1234")
    assert read_visit_token(SECRET, token, MINUTE + 121) == "expired"
    assert read_visit_token("another-secret-entirely", token, MINUTE) == "tampered"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[Any, RecordingRequest]]:
    settings = make_settings(
        tmp_path,
        database="v.sqlite",
        telegram_token="123:TEST",
        agencies=(AgencyEntry(code="ubnd_xa_a", name="UBND xã A", visit_required=True),),
        officials=(OfficialEntry(telegram_id=OFFICIAL, role="official", agencies=("ubnd_xa_a",)),),
        privacy={"secret": SECRET},
    )
    request = RecordingRequest()
    async with started_bot(settings, request, clock) as application:
        yield application, request


async def visit_link(app: Any, request: RecordingRequest) -> str:
    await feed(app, text_update(OFFICIAL, "/visit"))
    found = re.search(r"\?start=(\S+)", request.last_text())
    assert found, request.last_text()
    return found.group(1)


async def test_an_agency_that_requires_visits_refuses_the_plain_link(bot: Any) -> None:
    app, request = bot
    await feed(app, text_update(1, "/start ubnd_xa_a"))
    assert "quét mã QR" in request.last_text()
    assert request.last_buttons() == []


async def test_a_visit_link_admits_one_citizen_once(bot: Any) -> None:
    app, request = bot
    token = await visit_link(app, request)
    assert "https://t.me/sipas_test_bot?start=v_" in request.last_text()
    await feed(app, text_update(1, f"/start {token}"))
    assert request.last_buttons()[0][0].startswith("Đồng ý")
    agree = request.last_buttons()[0][1]
    await feed(app, press_update(1, agree))
    await feed(app, text_update(2, f"/start {token}"))
    assert "đã được dùng" in request.last_text()
    await feed(app, text_update(1, f"/start {token}"))  # its owner comes back to finish
    assert [label for label, _ in request.last_buttons()] == ["Tiếp tục", "Làm lại từ đầu"]


async def test_an_expired_or_forged_visit_link_is_refused(bot: Any, clock: Clock) -> None:
    app, request = bot
    token = await visit_link(app, request)
    await feed(app, text_update(3, f"/start {token[:-1]}{'b' if token[-1] != 'b' else 'c'}"))
    assert "không hợp lệ" in request.last_text()
    clock.now += timedelta(hours=3)
    await feed(app, text_update(3, f"/start {token}"))
    assert "hết hạn" in request.last_text()


async def test_a_stranger_cannot_issue_visit_links(bot: Any) -> None:
    app, request = bot
    await feed(app, text_update(9, "/visit"))
    assert "start=v_" not in request.last_text()


async def test_ten_people_starting_with_one_token_at_once_get_one_survey(tmp_path: Path) -> None:
    """The claim is atomic: ten concurrent starts on the real conversation and a real SQLite
    file give one survey and nine polite refusals, and the visit is spent by that one."""
    settings = Settings(
        agencies=(AgencyEntry(code="ubnd_xa_a", name="UBND xã A", visit_required=True),),
        storage=StorageSection(path=tmp_path / "v.sqlite"),
        privacy=PrivacySection(secret=SecretStr(SECRET)),
    )
    services = await open_services(settings)
    try:
        token = visit_token(SECRET, "ubnd_xa_a", NOW, timedelta(hours=2))
        people = [Citizen("telegram", pseudonym(SECRET, "telegram", n)) for n in range(10)]
        replies = await asyncio.gather(
            *(services.conversation.start(person, token, NOW) for person in people)
        )
        texts = [reply.screens[0].text for reply in replies]
        refused = say("vi", "visit_used", typed=False)
        assert texts.count(refused) == 9, texts
        [started] = [text for text in texts if text != refused]
        assert "UBND xã A" in started
        surveys = await services.database.fetch_all("SELECT respondent FROM responses")
        spent = await services.database.fetch_all("SELECT respondent FROM visits")
        assert len(surveys) == 1
        assert [row[0] for row in spent] == [row[0] for row in surveys]
    finally:
        await services.close()
