"""Weekly digest delivery through the real PTB Application, faked only at the network.

Time comes from an injected clock, waits from an injected sleep (nothing sleeps for real), and
the chart is a stub except where the PNG itself is under test.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from telegram.error import RetryAfter
from telegram.request import RequestData
from telegram.warnings import PTBDeprecationWarning

import bot.digest.compose
import bot.digest.delivery
from bot.config import AgencyEntry, OfficialEntry, Settings
from bot.digest.chart import render_chart
from bot.digest.compose import build_digest, write_dry_run
from bot.digest.delivery import (
    CATCH_UP_JOB,
    CRON_JOB,
    RETRY_JOB,
    DigestSchedule,
    deliver_due_digests,
    digest_trigger,
    due_period,
)
from bot.jobs import Jobs
from bot.questionnaires import load_catalogue
from bot.services import Services
from bot.telegram_app import build_application, on_shutdown, on_startup, run_of, services_of
from handlers.retry import MAX_TRIES
from handlers.telegram.digest import add_digest_handlers, call_with_retry, telegram_digest
from storage.imports import store_paper_responses
from survey.access import Official
from survey.flow import steps
from survey.paper import PaperResponse
from survey.period import Period
from survey.texts import say
from tests.postgres_support import query_rows
from tests.settings_support import make_settings
from tests.telegram_fakes import Call, RecordingRequest, feed, text_update

ADMIN, OFFICIAL_A, STRANGER = 111, 222, 333
A, B, SMALL = "ubnd_xa_a", "so_tu_phap", "ubnd_xa_c"
SIPAS = load_catalogue()["sipas-2023"]
MONDAY_9AM = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09:00 in Hanoi
WEEK = Period(datetime(2026, 9, 28).date(), datetime(2026, 10, 4).date())
STUB_PNG = b"\x89PNG\r\n\x1a\nstub"
SEND_METHODS = {"sendMessage", "sendPhoto"}


class Clock:
    def __init__(self) -> None:
        self.now = MONDAY_9AM

    def __call__(self) -> datetime:
        return self.now


class Sleeps:
    """An injected `sleep` that only writes down how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def refusal(status: int, description: str, **parameters: Any) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, json.dumps(body).encode()


BAD_GATEWAY = refusal(502, "Bad Gateway")
SERVER_ERROR = refusal(500, "Internal Server Error")
FLOOD = refusal(429, "Too Many Requests: retry after 3", retry_after=3)
BLOCKED = refusal(403, "Forbidden: bot was blocked by the user")
BAD_REQUEST = refusal(400, "Bad Request: chat not found")


@dataclass
class FlakyRequest(RecordingRequest):
    """A `RecordingRequest` whose sends to a chat can fail as planned; keeps photo bytes."""

    failures: dict[int, list[tuple[int, bytes]]] = field(default_factory=dict)
    photos: list[tuple[int, bytes]] = field(default_factory=list)

    async def intercept(
        self, name: str, params: dict[str, Any], request_data: RequestData | None
    ) -> tuple[int, bytes] | None:
        chat_id = int(params.get("chat_id", 0))
        planned = self.failures.get(chat_id)
        if name in SEND_METHODS and planned:
            self.calls.append(Call(name, params))
            return planned.pop(0)
        if request_data is not None and name == "sendPhoto":
            for _, content, *_ in request_data.multipart_data.values():
                self.photos.append((chat_id, content if isinstance(content, bytes) else b""))
        return await super().intercept(name, params, request_data)

    def sends(self, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method in SEND_METHODS and (chat_id is None or c.params["chat_id"] == chat_id)
        ]

    def texts(self, chat_id: int) -> str:
        """Everything the chat was sent: message texts and captions, in order."""
        return "\n".join(
            str(c.params.get("text", c.params.get("caption"))) for c in self.sends(chat_id)
        )


@pytest.fixture
def settings(tmp_path: Path, database_target: Path | str) -> Settings:
    return make_settings(
        tmp_path,
        target=database_target,
        telegram_token="123:TEST",
        agencies={A: "UBND xã A", B: "Sở Tư pháp", SMALL: "UBND xã C"},
        officials=(
            OfficialEntry(telegram_id=ADMIN, role="admin", agencies=("*",)),
            OfficialEntry(telegram_id=OFFICIAL_A, agencies=(A,)),
        ),
    )


@pytest.fixture(autouse=True)
def stub_chart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawing is tested in test_digest_chart; here it would only cost time."""
    monkeypatch.setattr(bot.digest.compose, "render_chart", lambda spec: STUB_PNG)


@dataclass
class Harness:
    app: Any
    request: FlakyRequest
    services: Services
    clock: Clock
    sleeps: Sleeps
    jobs: Jobs

    @property
    def schedule(self) -> DigestSchedule:
        return self.jobs.digest

    def job(self, name: str) -> Any:
        [job] = [j for j in self.jobs.scheduler.get_jobs() if j.name == name]
        return job

    async def deliver(self) -> Any:
        return await deliver_due_digests(
            {"telegram": telegram_digest(self.app.bot)},
            self.services,
            self.clock(),
            sleep=self.sleeps,
        )

    async def subscribe(self, user_id: int, language: str = "vi") -> None:
        await self.services.officials.subscribe("telegram", str(user_id), language, self.clock())


@asynccontextmanager
async def running(settings: Settings, clock: Clock) -> AsyncIterator[Harness]:
    """The bot from start-up to shutdown: one run of the process."""
    request = FlakyRequest()
    app = build_application(settings, request=request, rate_limiter=False, clock=clock)
    add_digest_handlers(app)
    async with app:
        await on_startup(app)
        services: Services = services_of(app)
        jobs = run_of(app).jobs  # what on_startup made
        assert jobs is not None
        sleeps = Sleeps()
        jobs.digest.sleep = sleeps
        yield Harness(app, request, services, clock, sleeps, jobs)
        await on_shutdown(app)


def form(agency: str, when: datetime, value: int, comment: str | None = None) -> PaperResponse:
    return PaperResponse(
        line=2,
        agency=agency,
        questionnaire=SIPAS.id,
        position=len(steps(SIPAS)),
        submitted_at=when,
        answers=dict.fromkeys(SIPAS.criterion_ids, value),
        extras={"comment": comment} if comment else {},
    )


def seed() -> list[PaperResponse]:
    """A: 12 in the digest week (9 satisfied, 2 comments) and 10 the week before; B: 15, all
    satisfied but 6; SMALL: 2, suppressed. Plus older weeks for A's trend."""
    this_week, before = datetime(2026, 9, 29, 10), datetime(2026, 9, 22, 10)
    forms = [form(A, this_week, 5 if i < 9 else 2, "ok" if i < 2 else None) for i in range(12)]
    forms += [form(A, before, 4 if i < 5 else 1) for i in range(10)]
    forms += [form(A, datetime(2026, 9, 8, 10), 5) for _ in range(11)]
    forms += [form(B, this_week, 5 if i < 9 else 1) for i in range(15)]
    forms += [form(SMALL, this_week, 5) for _ in range(2)]
    return forms


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    clock = Clock()
    async with running(settings, clock) as h:
        await store_paper_responses(h.services.database, seed(), settings.bot.zone, clock())
        yield h


def deliveries(settings: Settings) -> list[tuple[str, str]]:
    return query_rows(
        settings.storage, "SELECT user_id, period_start FROM digest_deliveries ORDER BY 1, 2"
    )


# Schedule -----------------------------------------------------------------------------------


def test_the_default_cron_fires_on_monday_at_8_in_hanoi(settings: Settings) -> None:
    trigger = digest_trigger(settings)
    fire = trigger.get_next_fire_time(None, datetime(2026, 10, 1, 12, 0, tzinfo=UTC))
    assert fire == datetime(2026, 10, 5, 1, 0, tzinfo=UTC)
    local = fire.astimezone(settings.bot.zone)
    assert (local.strftime("%A"), local.hour, local.minute) == ("Monday", 8, 0)


async def test_start_up_registers_the_cron_job_and_a_catch_up(harness: Harness) -> None:
    schedule = harness.schedule
    cron = harness.job(CRON_JOB)
    assert harness.job(CATCH_UP_JOB)
    after = datetime(2026, 10, 6, tzinfo=UTC)
    assert cron.trigger.get_next_fire_time(None, after) == datetime(2026, 10, 12, 1, tzinfo=UTC)
    assert "telegram" in schedule.channels


@pytest.mark.parametrize(
    ("now", "start"),
    [
        (datetime(2026, 10, 5, 0, 30, tzinfo=UTC), "2026-09-21"),  # 07:30 Monday: not yet
        (datetime(2026, 10, 5, 0, 59, 30, tzinfo=UTC), "2026-09-28"),  # a scheduler waking early
        (datetime(2026, 10, 5, 1, 0, tzinfo=UTC), "2026-09-28"),
        (datetime(2026, 10, 11, 16, 59, tzinfo=UTC), "2026-09-28"),  # 23:59 Sunday
    ],
)
def test_the_due_period_is_the_week_before_the_latest_firing(
    settings: Settings, now: datetime, start: str
) -> None:
    period = due_period(settings, now)
    assert period is not None
    assert (period.start.isoformat(), period.days) == (start, 7)


# Content per recipient ----------------------------------------------------------------------


async def test_each_official_gets_their_own_scope(harness: Harness, settings: Settings) -> None:
    await harness.subscribe(ADMIN)
    await harness.subscribe(OFFICIAL_A, "en")
    report = await harness.deliver()
    assert report.period == WEEK
    assert report.sent == [str(ADMIN), str(OFFICIAL_A)]
    admin = harness.request.texts(ADMIN)
    assert "Bản tin SIPAS hằng tuần – Tất cả cơ quan" in admin
    assert "Xếp hạng (SIPAS; n):" in admin
    assert "1. UBND xã A: 75,00% (n=12)\n2. Sở Tư pháp: 60,00% (n=15)" in admin
    assert "– UBND xã C: chưa đủ phiếu (n=2)" in admin
    assert "Dưới ngưỡng cảnh báo 70%: Sở Tư pháp (60,00%)." in admin
    official = harness.request.texts(OFFICIAL_A)
    assert "Weekly SIPAS digest – UBND xã A" in official
    assert "SIPAS: 75.00% (n=12; 95% CI:" in official
    assert "Change vs the week before: +25.00 pp" in official
    assert "New comments: 2" in official
    assert "Sở Tư pháp" not in official
    assert "UBND xã C" not in official
    for chat in (ADMIN, OFFICIAL_A):
        assert 1 <= len(harness.request.sends(chat)) <= 2
        assert harness.request.sends(chat)[-1].method == "sendPhoto"
    assert [chat for chat, _ in harness.request.photos] == [ADMIN, OFFICIAL_A]
    assert all(png == STUB_PNG for _, png in harness.request.photos)
    assert deliveries(settings) == [(str(ADMIN), "2026-09-28"), (str(OFFICIAL_A), "2026-09-28")]


async def test_the_trend_ends_with_the_weeks_own_result(harness: Harness) -> None:
    official = Official("telegram", str(OFFICIAL_A), "official", (A,))
    digest = await build_digest(harness.services, official, WEEK)
    assert digest is not None
    assert len(digest.trend) == 8
    assert digest.trend[-1].result == digest.card.result
    assert digest.trend[-2].result == digest.card.previous
    assert [p.result.suppressed for p in digest.trend] == [True] * 4 + [False, True, False, False]


# Exactly once -------------------------------------------------------------------------------


async def test_a_second_run_and_a_restart_send_nothing_more(
    harness: Harness, settings: Settings
) -> None:
    await harness.subscribe(ADMIN)
    await harness.deliver()
    calls = len(harness.request.sends())
    again = await harness.deliver()
    assert again.sent == []
    assert again.already == [str(ADMIN)]
    assert len(harness.request.sends()) == calls
    harness.clock.now += timedelta(hours=3)
    async with running(settings, harness.clock) as restarted:
        report = await restarted.deliver()
        assert report.sent == []
        assert restarted.request.sends() == []
    assert deliveries(settings) == [(str(ADMIN), "2026-09-28")]


async def test_two_instances_delivering_at_once_send_each_digest_once(
    harness: Harness, settings: Settings
) -> None:
    """Both instances run the schedule on one database: each official still gets one digest."""
    await harness.subscribe(ADMIN)
    await harness.subscribe(OFFICIAL_A, "en")
    async with running(settings, harness.clock) as other:
        first, second = await asyncio.gather(harness.deliver(), other.deliver())
        photos = [chat for chat, _ in harness.request.photos + other.request.photos]
    assert sorted(first.sent + second.sent) == sorted([str(ADMIN), str(OFFICIAL_A)])
    assert sorted(photos) == sorted([ADMIN, OFFICIAL_A])
    assert deliveries(settings) == [(str(ADMIN), "2026-09-28"), (str(OFFICIAL_A), "2026-09-28")]


async def test_after_downtime_only_the_latest_missed_digest_is_sent_once(
    settings: Settings,
) -> None:
    clock = Clock()
    clock.now = datetime(2026, 9, 21, 2, 0, tzinfo=UTC)
    async with running(settings, clock) as before:
        await before.subscribe(OFFICIAL_A)
        assert (await before.deliver()).sent == [str(OFFICIAL_A)]
    clock.now = datetime(2026, 10, 7, 3, 0, tzinfo=UTC)  # down over two Monday firings
    async with running(settings, clock) as after:
        await store_paper_responses(after.services.database, seed(), settings.bot.zone, clock())
        report = await after.deliver()
        assert report.period == WEEK
        assert report.sent == [str(OFFICIAL_A)]
        assert (await after.deliver()).sent == []
        assert len([c for c in after.request.sends() if c.method == "sendPhoto"]) == 1
        assert "Tuần 28/09/2026 – 04/10/2026" in after.request.texts(OFFICIAL_A)
    assert deliveries(settings) == [
        (str(OFFICIAL_A), "2026-09-14"),
        (str(OFFICIAL_A), "2026-09-28"),
    ]


# Failures -----------------------------------------------------------------------------------


async def test_a_send_failing_twice_is_retried_and_recorded_once(
    harness: Harness, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PTB 22 itself warns when it builds a RetryAfter unless this opts in to timedeltas.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    await harness.subscribe(OFFICIAL_A)
    harness.request.failures[OFFICIAL_A] = [BAD_GATEWAY, FLOOD]
    report = await harness.deliver()
    assert report.sent == [str(OFFICIAL_A)]
    assert harness.sleeps.waits == [1.0, 3.0]  # back-off after the 502, as told after the 429
    first = harness.request.sends(OFFICIAL_A)[0]
    assert [c.params for c in harness.request.sends(OFFICIAL_A)[:3]] == [first.params] * 3
    assert deliveries(settings) == [(str(OFFICIAL_A), "2026-09-28")]
    assert (await harness.deliver()).sent == []


async def test_a_send_that_keeps_failing_is_not_recorded_and_due_next_run(
    harness: Harness, settings: Settings
) -> None:
    await harness.subscribe(OFFICIAL_A)
    harness.request.failures[OFFICIAL_A] = [SERVER_ERROR] * MAX_TRIES
    report = await harness.deliver()
    assert report.failed == [str(OFFICIAL_A)]
    assert harness.sleeps.waits == [1.0, 2.0, 4.0, 8.0]
    assert deliveries(settings) == []
    assert (await harness.deliver()).sent == [str(OFFICIAL_A)]
    assert deliveries(settings) == [(str(OFFICIAL_A), "2026-09-28")]


async def test_a_blocked_bot_unsubscribes_the_official(
    harness: Harness, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.subscribe(ADMIN)
    await harness.subscribe(OFFICIAL_A)
    harness.request.failures[OFFICIAL_A] = [BLOCKED]
    with caplog.at_level(logging.INFO, logger="bot.digest.delivery"):
        report = await harness.deliver()
    assert report.blocked == [str(OFFICIAL_A)]
    assert report.sent == [str(ADMIN)]
    assert len(harness.request.sends(OFFICIAL_A)) == 1  # a 403 is never retried
    subscribers = await harness.services.officials.subscribers()
    assert [s.user_id for s in subscribers] == [str(ADMIN)]
    assert deliveries(settings) == [(str(ADMIN), "2026-09-28")]
    assert any(
        "blocked the bot" in r.getMessage() and str(OFFICIAL_A) in r.getMessage()
        for r in caplog.records
    )


async def test_a_bad_request_is_not_retried(harness: Harness, settings: Settings) -> None:
    await harness.subscribe(OFFICIAL_A)
    harness.request.failures[OFFICIAL_A] = [BAD_REQUEST]
    report = await harness.deliver()
    assert report.rejected == [str(OFFICIAL_A)]
    assert harness.sleeps.waits == []
    assert deliveries(settings) == []


async def test_one_broken_digest_does_not_hold_up_the_others(
    harness: Harness, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.subscribe(ADMIN)
    await harness.subscribe(OFFICIAL_A)

    async def broken_for_admins(services: Services, official: Official, period: Period) -> Any:
        if official.is_admin:
            raise RuntimeError("a bug")
        return await build_digest(services, official, period)

    monkeypatch.setattr(bot.digest.delivery, "build_digest", broken_for_admins)
    report = await harness.deliver()
    assert (report.failed, report.sent) == ([str(ADMIN)], [str(OFFICIAL_A)])
    assert deliveries(settings) == [(str(OFFICIAL_A), "2026-09-28")]


async def test_a_subscriber_who_is_no_longer_an_official_is_skipped(harness: Harness) -> None:
    await harness.subscribe(STRANGER)
    report = await harness.deliver()
    assert report.skipped == [str(STRANGER)]
    assert harness.request.sends() == []


# The job and the command --------------------------------------------------------------------


async def test_the_cron_job_delivers_and_schedules_a_retry_for_failures(
    harness: Harness, settings: Settings
) -> None:
    await harness.subscribe(ADMIN)
    await harness.subscribe(OFFICIAL_A)
    harness.request.failures[OFFICIAL_A] = [BAD_GATEWAY] * MAX_TRIES
    await harness.job(CRON_JOB).func()
    assert deliveries(settings) == [(str(ADMIN), "2026-09-28")]
    retry = harness.job(RETRY_JOB)
    harness.clock.now += timedelta(minutes=30)
    await retry.func()
    assert deliveries(settings) == [(str(ADMIN), "2026-09-28"), (str(OFFICIAL_A), "2026-09-28")]
    assert harness.jobs.retry_rounds == 0


async def test_slash_digest_sends_the_digest_now_without_recording_it(
    harness: Harness, settings: Settings
) -> None:
    await feed(harness.app, text_update(OFFICIAL_A, "/digest"))
    assert "Bản tin SIPAS hằng tuần – UBND xã A" in harness.request.texts(OFFICIAL_A)
    assert harness.request.sends(OFFICIAL_A)[-1].method == "sendPhoto"
    assert deliveries(settings) == []
    await feed(harness.app, text_update(STRANGER, "/bantin"))
    assert [c.params["text"] for c in harness.request.sends(STRANGER)] == [
        say("vi", "official_only")
    ]


# Dry run ------------------------------------------------------------------------------------


@pytest.fixture
def real_chart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.digest.compose, "render_chart", render_chart)


async def test_a_dry_run_writes_each_recipients_text_and_png(
    harness: Harness, settings: Settings, tmp_path: Path, real_chart: None
) -> None:
    await harness.subscribe(ADMIN)
    await harness.subscribe(OFFICIAL_A, "en")
    out = tmp_path / "preview"
    written = await write_dry_run(harness.services, out, None, harness.clock())
    assert [p.name for p in written] == [
        f"01-admin-telegram-{ADMIN}.txt",
        f"01-admin-telegram-{ADMIN}.png",
        f"02-official-telegram-{OFFICIAL_A}.txt",
        f"02-official-telegram-{OFFICIAL_A}.png",
    ]
    assert written[2].read_text(encoding="utf-8").startswith("Weekly SIPAS digest – UBND xã A\n")
    image = Image.open(io.BytesIO(written[1].read_bytes()))
    assert image.size == (1200, 600)
    assert harness.request.sends() == []
    assert deliveries(settings) == []
    month = Period(datetime(2026, 9, 1).date(), datetime(2026, 9, 30).date())
    [text, _, _, _] = await write_dry_run(harness.services, out, month, harness.clock())
    assert "Kỳ 01/09/2026 – 30/09/2026" in text.read_text(encoding="utf-8")


async def test_retry_after_given_in_whole_seconds_is_waited_for() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        flood = RetryAfter(7)
    attempts: list[int] = []

    async def send() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise flood

    sleeps = Sleeps()
    await call_with_retry(send, sleeps)
    assert (len(attempts), sleeps.waits) == (2, [7.0])


async def test_an_agency_on_another_questionnaire_is_ranked_but_named_as_not_pooled(
    settings: Settings,
) -> None:
    counter = AgencyEntry(code="quay_5", name="Quầy 5 câu", questionnaire="counter-5")
    mixed = settings.model_copy(update={"agencies": (*settings.agencies, counter)})
    async with running(mixed, Clock()) as h:
        admin = Official("telegram", str(ADMIN), "admin", ("*",))
        digest = await build_digest(h.services, admin, WEEK)
    assert digest is not None
    assert digest.not_pooled == ("Quầy 5 câu",)
    assert "Quầy 5 câu" in [name for name, _ in digest.ranking]
