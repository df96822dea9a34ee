"""Digest delivery on every channel: exactly once per official and period, on a cron schedule.

Every run (the cron firing, start-up, a retry round) does the same idempotent thing: find the
latest period that is due (the week before the most recent cron time), and send it to each
subscriber without a delivery row for it. A restart therefore never repeats a period, a bot
that was down sends the latest missed digest once and never a backlog, and a failed send is
simply still due at the next run. A delivery is recorded only after the channel accepted every
message of it; a refusal that means "blocked" ends the subscription. How each channel sends is
its `DigestChannel` (handlers/telegram/digest.py, bot/zalo/digest.py); `bot.jobs` schedules runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.config import Settings
from bot.digest.compose import Recipient, build_digest, recipients, render
from bot.services import Services
from handlers.delivery import DigestChannel, SendOutcome, send_parts
from handlers.metrics import count_digest
from handlers.retry import Clock, Sleep
from storage.claims import DIGEST_LEASE, lease, release
from survey.period import Period, last_full_week

log = logging.getLogger(__name__)

STARTUP_DELAY = timedelta(seconds=5)
RETRY_LATER = timedelta(minutes=30)
RETRY_ROUNDS = 6
EARLY_TOLERANCE = timedelta(minutes=1)
"""A run this close before a cron time counts as that firing (schedulers may wake early)."""
_LOOKBACKS = tuple(timedelta(days=d) for d in (1 / 24, 1, 8, 32, 367))

CRON_JOB, CATCH_UP_JOB, RETRY_JOB = "digest", "digest-catch-up", "digest-retry"


def digest_trigger(settings: Settings) -> CronTrigger:
    """The `[digest] cron` schedule in the `[bot] timezone`."""
    return CronTrigger.from_crontab(settings.digest.cron, timezone=settings.bot.zone)


def latest_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The most recent fire time at or before ``now``; None if none in the last year.

    APScheduler only looks forward, so start a little before ``now`` and widen the window
    until a fire time falls in it: a few steps for any weekly, monthly or yearly cron.
    """
    for lookback in _LOOKBACKS:
        fire: datetime | None = trigger.get_next_fire_time(None, now - lookback)
        if fire is None or fire > now:
            continue
        while True:
            following: datetime | None = trigger.get_next_fire_time(fire, now)
            if following is None or following > now:
                return fire
            fire = following
    return None


def due_period(settings: Settings, now: datetime) -> Period | None:
    """The period the latest cron firing (before ``now``) is about: the full week before it."""
    fire = latest_fire(digest_trigger(settings), now + EARLY_TOLERANCE)
    if fire is None:
        return None
    return last_full_week(fire.astimezone(settings.bot.zone).date())


@dataclass
class DeliveryReport:
    """What one run did, by user id; ``failed`` ones are still due and tried again later."""

    period: Period | None
    sent: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    undeliverable: list[str] = field(default_factory=list)  # e.g. a Zalo OA window closed

    def summary(self) -> str:
        counts = ", ".join(
            f"{name} {len(getattr(self, name))}"
            for name in (
                "sent",
                "already",
                "blocked",
                "failed",
                "rejected",
                "skipped",
                "undeliverable",
            )
        )
        return f"digest {self.period}: {counts}"


async def deliver_due_digests(
    senders: Mapping[str, DigestChannel],
    services: Services,
    now: datetime,
    *,
    sleep: Sleep = asyncio.sleep,
) -> DeliveryReport:
    """Send the due period's digest to every subscriber who has not had it yet, on the channels
    of `senders` (by channel name); subscribers of other channels are skipped."""
    period = due_period(services.settings, now)
    report = DeliveryReport(period)
    if period is None:
        return report
    store = services.officials
    found, former = await recipients(services)
    report.skipped += [s.user_id for s in former]
    for recipient in found:
        channel, user_id = recipient.subscriber.channel, recipient.subscriber.user_id
        sender = senders.get(channel)
        if sender is None:
            report.skipped.append(user_id)  # that channel is not running in this process
            continue
        if await store.delivered(channel, user_id, period.start.isoformat()):
            report.already.append(user_id)
            continue
        # Several instances run this schedule: the one holding the lease sends (exactly once).
        job = f"digest:{channel}:{user_id}"
        if not await lease(services.database, job, period.start.isoformat(), now, DIGEST_LEASE):
            report.already.append(user_id)
            continue
        try:
            outcome = await _deliver(sender, services, recipient, period, sleep)
        except Exception:
            # One official's broken digest must not hold up everyone else's; still due.
            log.exception("digest for official %s:%s could not be built", channel, user_id)
            outcome = "failed"
        if outcome != "sent":  # still due: the next try (here or on another instance) may go
            await release(services.database, job, period.start.isoformat())
        if outcome == "sent":
            await store.record_delivery(channel, user_id, period.start.isoformat(), now)
        elif outcome == "undeliverable" and sender.undeliverable is not None:
            await sender.undeliverable(user_id, period.start.isoformat(), now)
        elif outcome == "blocked":
            await store.unsubscribe(channel, user_id)
            log.warning("official %s:%s blocked the bot; digest unsubscribed", channel, user_id)
        getattr(report, outcome or "skipped").append(user_id)
        count_digest(channel, outcome or "skipped")
    log.info("%s", report.summary())
    return report


async def _deliver(
    sender: DigestChannel,
    services: Services,
    recipient: Recipient,
    period: Period,
    sleep: Sleep,
) -> SendOutcome | None:
    """Build, render and send one recipient's digest, continuing after the messages an
    earlier run delivered; None when their scope is empty."""
    digest = await build_digest(services, recipient.official, period)
    if digest is None:
        return None
    rendered = await render(digest, recipient.language)
    store, (channel, user_id) = services.officials, recipient.subscriber.key
    start = period.start.isoformat()

    async def progress(parts: int) -> None:
        await store.record_parts(channel, user_id, start, parts)

    first = await store.parts_delivered(channel, user_id, start)
    return await send_parts(sender, user_id, rendered, sleep, first=first, progress=progress)


@dataclass
class DigestSchedule:
    """The channels a run delivers on; the lock keeps runs one at a time."""

    services: Services
    clock: Clock
    sleep: Sleep = asyncio.sleep
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    channels: dict[str, DigestChannel] = field(default_factory=dict)

    async def run(self) -> DeliveryReport:
        async with self.lock:
            return await deliver_due_digests(
                self.channels, self.services, self.clock(), sleep=self.sleep
            )
