"""The scheduled jobs of every way the bot runs (Telegram only, Zalo only, both in one process):
the weekly digest, its catch-up after start, its retries (capped) and housekeeping.

Each run is started the way the bot starts it (`on_startup` for a Telegram run, alone or with
Zalo; `Jobs` with the Zalo channel, as `run_zalo` does, for a Zalo-only run) and its jobs are
read from the APScheduler that `bot.jobs.Jobs` filled. Nothing waits for a real scheduler: a
test fires a job by calling the job's own callback at the injected clock's time, as the
scheduler would when it came due, and an injected sleep stands in for the waits between tries.
Only the network is fake (a recording Bot API request, the Zalo emulator).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.job import Job
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from telegram.request import RequestData

import bot.digest.compose
from bot.config import AgencyEntry, OfficialEntry, Settings
from bot.digest.delivery import RETRY_LATER, RETRY_ROUNDS
from bot.housekeeping import EVERY
from bot.jobs import Jobs
from bot.services import Services, open_services
from bot.telegram_app import run_of, services_of
from bot.zalo.api import ZaloBotApi
from bot.zalo.digest import zalo_digest
from handlers.retry import MAX_TRIES
from storage.imports import store_paper_responses
from tests.settings_support import make_settings
from tests.telegram_fakes import RecordingRequest, started_bot
from tests.test_housekeeping import form
from tests.zalo_emulator import ZaloEmulator

MODES = ("telegram", "zalo", "both")
TELEGRAM_ADMIN, ZALO_ADMIN = 111, "zalo-admin-1"
MONDAY_9AM = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, after the 08:00 cron
DUE_WEEK = "2026-09-28"
DIGEST_TITLE = "Bản tin SIPAS hằng tuần"
SEND_METHODS = {"sendMessage", "sendPhoto"}
JOBS = ("digest", "digest-catch-up", "housekeeping")


class Clock:
    def __init__(self) -> None:
        self.now = MONDAY_9AM

    def __call__(self) -> datetime:
        return self.now


async def no_wait(_: float) -> None:
    """Stands in for the waits between tries of one send."""


@dataclass
class TelegramServer(RecordingRequest):
    """The Bot API, refusing the next `refusing` sends with a 502 (a transient failure)."""

    refusing: int = 0

    async def intercept(
        self, name: str, params: dict[str, Any], request_data: RequestData | None
    ) -> tuple[int, bytes] | None:
        if name in SEND_METHODS and self.refusing > 0:
            self.refusing -= 1
            body = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
            return 502, json.dumps(body).encode()
        return None

    def digests(self, chat_id: int) -> int:
        return sum(
            DIGEST_TITLE in str(c.params.get("caption", c.params.get("text", "")))
            for c in self.calls
            if c.method in SEND_METHODS and c.params.get("chat_id") == chat_id
        )


@dataclass
class Run:
    """One run of the bot: its storage, the scheduler its entry point filled, the networks."""

    mode: str
    services: Services
    scheduler: BaseScheduler
    clock: Clock
    telegram: TelegramServer | None
    zalo: ZaloEmulator | None
    fired: list[str] = field(default_factory=list)

    def jobs(self) -> list[Job]:
        return list(self.scheduler.get_jobs())

    def job(self, name: str) -> Job:
        [job] = [j for j in self.jobs() if j.name == name]
        return job

    def retries(self) -> list[Job]:
        """One-off jobs other than the catch-up: what a failed digest run left for later."""
        return [
            j for j in self.jobs() if isinstance(j.trigger, DateTrigger) and j.name not in JOBS
        ]

    async def fire(self, job: Job) -> None:
        """What the scheduler does when the job is due: call it; a one-off job then goes."""
        await job.func(*job.args, **job.kwargs)
        if isinstance(job.trigger, DateTrigger):
            self.scheduler.remove_job(job.id)

    async def subscribe_both_admins(self) -> None:
        officials = self.services.officials
        await officials.subscribe("telegram", str(TELEGRAM_ADMIN), "vi", self.clock())
        await officials.subscribe("zalo", ZALO_ADMIN, "vi", self.clock())

    def refuse_sends(self, rounds: int) -> None:
        """Make every digest send of this run fail, transiently, for `rounds` runs."""
        if self.telegram is not None:
            self.telegram.refusing = rounds * MAX_TRIES
        if self.zalo is not None:
            self.zalo.fail_next("sendMessage", 503, count=rounds * MAX_TRIES)

    def digests_received(self) -> dict[str, int]:
        """How many digests each admin's chat shows, on the channels this run serves."""
        received = {}
        if self.telegram is not None:
            received["telegram"] = self.telegram.digests(TELEGRAM_ADMIN)
        if self.zalo is not None:
            received["zalo"] = sum(DIGEST_TITLE in t for t in self.zalo.texts(ZALO_ADMIN))
        return received

    def channels(self) -> list[str]:
        return {"telegram": ["telegram"], "zalo": ["zalo"], "both": ["telegram", "zalo"]}[
            self.mode
        ]


def settings_for(tmp_path: Path, mode: str, zalo: ZaloEmulator) -> Settings:
    telegram = {"token": "123:TEST"} if mode in ("telegram", "both") else {}
    on_zalo = {"token": zalo.token, "base_url": zalo.base_url, "media_dir": tmp_path / "media"}
    return make_settings(
        tmp_path,
        agencies=(AgencyEntry(code="a", name="UBND xã A", questionnaire="counter-5"),),
        officials=(
            OfficialEntry(telegram_id=TELEGRAM_ADMIN, role="admin", agencies=("*",)),
            OfficialEntry(zalo_id=ZALO_ADMIN, role="admin", agencies=("*",)),
        ),
        privacy={"secret": "jobs-test-secret-0123456789", "retention_days": 30},
        telegram=telegram,
        zalo=on_zalo if mode in ("zalo", "both") else {},
    )


@pytest.fixture(autouse=True)
def stub_chart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawing is tested in test_digest_chart; here it would only cost time."""
    monkeypatch.setattr(bot.digest.compose, "render_chart", lambda spec: b"\x89PNG\r\n\x1a\nstub")


@pytest.fixture(params=MODES)
async def run(
    request: pytest.FixtureRequest, tmp_path: Path, zalo: ZaloEmulator
) -> AsyncIterator[Run]:
    mode: str = request.param
    settings = settings_for(tmp_path, mode, zalo)
    zalo.add_chat(ZALO_ADMIN)
    clock = Clock()
    if mode == "zalo":
        services = await open_services(settings)
        assert settings.zalo.token is not None
        api = ZaloBotApi(settings.zalo.token.get_secret_value(), settings.zalo.base_url)
        jobs = Jobs(services, clock, sleep=no_wait)
        jobs.add_channel("zalo", zalo_digest(api, settings.zalo))
        try:
            jobs.start(paused=True)
            yield Run(mode, services, jobs.scheduler, clock, None, zalo)
        finally:
            jobs.stop()
            await api.aclose()
            await services.close()
        return
    telegram = TelegramServer()
    async with started_bot(settings, telegram, clock) as app:
        services = services_of(app)
        made = run_of(app).jobs  # what on_startup made
        assert made is not None
        made.digest.sleep = no_wait
        zalo_run = zalo if mode == "both" else None
        yield Run(mode, services, made.scheduler, clock, telegram, zalo_run)


def deliveries(run: Run) -> list[tuple[str, str, str]]:
    with sqlite3.connect(run.services.settings.storage.path) as db:
        rows = db.execute("SELECT channel, user_id, period_start FROM digest_deliveries")
        return sorted(rows)


def delivered_to(channels: list[str]) -> list[tuple[str, str, str]]:
    users = {"telegram": str(TELEGRAM_ADMIN), "zalo": ZALO_ADMIN}
    return sorted((channel, users[channel], DUE_WEEK) for channel in channels)


def near(moment: datetime, expected: datetime) -> bool:
    return abs(moment - expected) < timedelta(minutes=1)


# What each run schedules ----------------------------------------------------------------------


async def test_a_run_schedules_the_weekly_digest_its_catch_up_and_housekeeping(run: Run) -> None:
    assert sorted(j.name for j in run.jobs()) == sorted(JOBS)
    cron = run.job("digest").trigger
    assert isinstance(cron, CronTrigger)
    # The default cron: Mondays at 08:00 in Hà Nội (01:00 UTC).
    assert cron.get_next_fire_time(None, MONDAY_9AM) == datetime(2026, 10, 12, 1, tzinfo=UTC)
    assert isinstance(run.job("digest-catch-up").trigger, DateTrigger)
    housekeeping = run.job("housekeeping").trigger
    assert isinstance(housekeeping, IntervalTrigger)
    assert housekeeping.interval == EVERY == timedelta(hours=6)


# The digest --------------------------------------------------------------------------------------


async def test_the_catch_up_then_the_cron_deliver_each_digest_exactly_once(run: Run) -> None:
    await run.subscribe_both_admins()
    await run.fire(run.job("digest-catch-up"))
    # The process started after Monday's firing: the catch-up sends last week's digest.
    assert deliveries(run) == delivered_to(run.channels())
    run.clock.now += timedelta(hours=2)
    await run.fire(run.job("digest"))  # a late or second firing for the same week
    assert deliveries(run) == delivered_to(run.channels())
    assert run.digests_received() == dict.fromkeys(run.channels(), 1)
    assert "digest-catch-up" not in [j.name for j in run.jobs()]
    assert run.retries() == []


async def test_a_failed_digest_is_retried_half_an_hour_later_and_delivered_once(
    run: Run,
) -> None:
    await run.subscribe_both_admins()
    run.refuse_sends(rounds=1)
    await run.fire(run.job("digest"))
    assert deliveries(run) == []
    [retry] = run.retries()
    assert isinstance(retry.trigger, DateTrigger)
    assert near(retry.trigger.run_date, run.clock() + RETRY_LATER)
    run.clock.now += RETRY_LATER
    await run.fire(retry)
    assert deliveries(run) == delivered_to(run.channels())
    assert run.digests_received() == dict.fromkeys(run.channels(), 1)
    assert run.retries() == []


async def test_retries_stop_after_six_rounds_and_the_digest_stays_due(run: Run) -> None:
    await run.subscribe_both_admins()
    run.refuse_sends(rounds=1 + RETRY_ROUNDS)  # the first run and every retry round fail
    await run.fire(run.job("digest"))
    rounds = 0
    while (retries := run.retries()) and rounds < 3 * RETRY_ROUNDS:
        assert len(retries) == 1  # never two retries waiting at once
        run.clock.now += RETRY_LATER
        await run.fire(retries[0])
        rounds += 1
    assert rounds == RETRY_ROUNDS
    assert deliveries(run) == []
    # Still due: the next firing (here the following cron run) delivers it.
    run.clock.now += timedelta(hours=1)
    await run.fire(run.job("digest"))
    assert deliveries(run) == delivered_to(run.channels())
    assert run.retries() == []


# Housekeeping ------------------------------------------------------------------------------------


async def test_housekeeping_deletes_responses_past_retention(run: Run) -> None:
    old, recent = form(date(2026, 8, 1)), form(date(2026, 10, 1))  # retention: 30 days
    zone = run.services.settings.bot.zone
    await store_paper_responses(run.services.database, [old, recent], zone, run.clock())
    await run.fire(run.job("housekeeping"))
    path = run.services.settings.storage.path
    with sqlite3.connect(path) as db:
        kept = [row[0] for row in db.execute("SELECT day FROM responses")]
    assert kept == ["2026-10-01"]
    assert "housekeeping" in [j.name for j in run.jobs()]  # it comes back every six hours


async def test_a_new_week_earns_its_own_retries_after_the_last_one_used_them_up(
    run: Run,
) -> None:
    await run.subscribe_both_admins()
    run.refuse_sends(rounds=1 + RETRY_ROUNDS)
    await run.fire(run.job("digest"))
    while retries := run.retries():
        run.clock.now += RETRY_LATER
        await run.fire(retries[0])
    assert deliveries(run) == []  # this week's retries are used up; still failing
    run.clock.now += timedelta(weeks=1)
    run.refuse_sends(rounds=1)
    await run.fire(run.job("digest"))  # next Monday: the new week fails once ...
    [retry] = run.retries()  # ... and is retried, not left to the following Monday
    run.clock.now += RETRY_LATER
    await run.fire(retry)
    assert [week for _, _, week in deliveries(run)] == ["2026-10-05"] * len(run.channels())
