"""The scheduled work of every way the bot runs: the weekly digest and housekeeping.

Telegram alone, Zalo alone or both in one process start the same `Jobs`: one APScheduler of
our own (PTB's JobQueue is not used), the digest's cron firing, a catch-up shortly after start,
retries after transient failures (at most `RETRY_ROUNDS` in a row), and housekeeping every six
hours. What is due is decided on the injected clock, so tests call the jobs' callbacks directly.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.digest.delivery import (
    CATCH_UP_JOB,
    CRON_JOB,
    RETRY_JOB,
    RETRY_LATER,
    RETRY_ROUNDS,
    STARTUP_DELAY,
    DeliveryReport,
    DigestSchedule,
    digest_trigger,
)
from bot.housekeeping import EVERY, tidy_claimed
from bot.services import Services
from handlers.delivery import DigestChannel
from handlers.retry import Clock, Sleep

log = logging.getLogger(__name__)

HOUSEKEEPING_JOB = "housekeeping"
HOUSEKEEPING_DELAY = timedelta(minutes=1)


class Jobs:
    """The digest and housekeeping jobs of one process; `start` once its channels are added."""

    def __init__(self, services: Services, clock: Clock, sleep: Sleep = asyncio.sleep) -> None:
        self.services = services
        self.clock = clock
        self.digest = DigestSchedule(services, clock, sleep)
        self.scheduler = AsyncIOScheduler(timezone=services.settings.bot.zone)
        self.retry_rounds = 0
        self.retry_pending = False
        self._retried_period: object = None

    def add_channel(self, name: str, channel: DigestChannel) -> None:
        """Deliver digests on this channel too."""
        self.digest.channels[name] = channel

    def start(self, *, paused: bool = False) -> None:
        """Register the jobs and start the scheduler; `paused` registers them without running
        any (tests fire them by hand)."""
        settings = self.services.settings
        now = self.clock()
        # A firing missed while the loop was busy still runs, once (no grace limit, merged);
        # one missed while the process was down is the catch-up's.
        self.scheduler.add_job(
            self.run_digest,
            digest_trigger(settings),
            coalesce=True,
            misfire_grace_time=None,
            name=CRON_JOB,
        )
        self.scheduler.add_job(
            self.run_digest, "date", run_date=now + STARTUP_DELAY, name=CATCH_UP_JOB
        )
        self.scheduler.add_job(
            self.housekeeping,
            "interval",
            seconds=EVERY.total_seconds(),
            next_run_time=now + HOUSEKEEPING_DELAY,
            name=HOUSEKEEPING_JOB,
        )
        self.scheduler.start(paused=paused)
        log.info("weekly digest scheduled: '%s' (%s)", settings.digest.cron, settings.bot.zone)

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def run_digest(self) -> DeliveryReport:
        """Deliver what is due; after transient failures come back later, a few rounds in a row,
        then leave it to the next firing (the digest stays due)."""
        report = await self.digest.run()
        if report.period != self._retried_period:  # a new week earns its own retries
            self._retried_period, self.retry_rounds = report.period, 0
        if not report.failed:
            self.retry_rounds = 0
        elif not self.retry_pending and self.retry_rounds < RETRY_ROUNDS:
            self.retry_rounds += 1
            self.retry_pending = True
            self.scheduler.add_job(
                self.retry_digest, "date", run_date=self.clock() + RETRY_LATER, name=RETRY_JOB
            )
        return report

    async def retry_digest(self) -> DeliveryReport:
        self.retry_pending = False
        return await self.run_digest()

    async def housekeeping(self) -> int | None:
        """Tidy the database (one instance per six hours) and this machine's chart folder."""
        return await tidy_claimed(self.services, self.clock())
