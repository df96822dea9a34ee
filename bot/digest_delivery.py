"""Digest delivery on Telegram: exactly once per official and period, on a cron schedule.

Every run (the cron firing, start-up, a retry round) does the same idempotent thing: find the
latest period that is due (the week before the most recent cron time), and send it to each
subscriber without a delivery row for it. A restart therefore never repeats a period, a bot
that was down sends the latest missed digest once and never a backlog, and a failed send is
simply still due at the next run. A delivery is recorded only after Telegram accepted every
message of it; a 403 (the official blocked the bot) ends their subscription.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, CallbackContext
from telegram.warnings import PTBDeprecationWarning

from bot.config import Settings
from bot.digests import (
    Recipient,
    RenderedDigest,
    build_digest,
    recipients,
    render,
)
from bot.retry import Sleep, Wait
from bot.retry import call_with_retry as retry
from bot.services import Services
from handlers.telegram import CHANNEL
from handlers.telegram_officials import split_text
from storage.claims import DIGEST_LEASE, lease, release
from survey.period import Period, last_full_week

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024
"""Telegram's limit for a photo caption; a longer digest goes as a message before the chart."""
STARTUP_DELAY = timedelta(seconds=5)
RETRY_LATER = timedelta(minutes=30)
RETRY_ROUNDS = 6
EARLY_TOLERANCE = timedelta(minutes=1)
"""A run this close before a cron time counts as that firing (schedulers may wake early)."""
_LOOKBACKS = tuple(timedelta(days=d) for d in (1 / 24, 1, 8, 32, 367))

CRON_JOB, CATCH_UP_JOB, RETRY_JOB = "digest", "digest-catch-up", "digest-retry"
DIGEST_KEY = "digest_schedule"

Outcome = Literal["sent", "blocked", "failed", "rejected"]
Send = Callable[[], Awaitable[object]]
Clock = Callable[[], datetime]


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


def _retry_after(error: RetryAfter) -> float:
    # PTB 22 warns that `retry_after` will become a timedelta; accept either.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def wait_after(error: Exception) -> Wait:
    """Telegram: a 429 says how long; timeouts, connection errors and 5xx back off; a
    Forbidden, a BadRequest (a NetworkError subclass, but it stays malformed) or any other
    refusal is not worth another try."""
    if isinstance(error, RetryAfter):
        return _retry_after(error)
    if isinstance(error, BadRequest):
        return None
    if isinstance(error, NetworkError):
        return "backoff"
    return None


async def call_with_retry(send: Send, sleep: Sleep) -> None:
    """Call ``send`` until Telegram accepts it (see `bot.retry`)."""
    await retry(send, sleep, wait_after)


@dataclass(frozen=True)
class DigestChannel:
    """How a channel sends a digest: its messages in order, and how it reads a refusal."""

    messages: Callable[[str, RenderedDigest], list[Send]]
    wait_after: Callable[[Exception], Wait]
    outcome_of: Callable[[Exception], Outcome | None]  # None: not a refusal; it propagates


# After each delivered message: how many of the digest's messages the official now has.
Progress = Callable[[int], Awaitable[None]]


async def send_parts(
    channel: DigestChannel,
    user_id: str,
    rendered: RenderedDigest,
    sleep: Sleep = asyncio.sleep,
    *,
    first: int = 0,
    progress: Progress | None = None,
) -> Outcome:
    """Send the digest's messages from `first` on, each retried on its own."""
    try:
        for index, send in enumerate(channel.messages(user_id, rendered)):
            if index < first:
                continue  # delivered by an earlier run that failed later
            await retry(send, sleep, channel.wait_after)
            if progress is not None:
                await progress(index + 1)
    except Exception as error:
        outcome = channel.outcome_of(error)
        if outcome is None:
            raise
        return outcome
    return "sent"


def telegram_digest(bot: Bot) -> DigestChannel:
    """One photo with the text as caption, or the text (split if huge) then the captioned photo."""

    def messages(user_id: str, rendered: RenderedDigest) -> list[Send]:
        chat_id = int(user_id)

        def photo(caption: str) -> Send:
            return lambda: bot.send_photo(
                chat_id, rendered.png, caption=caption, filename="sipas.png"
            )

        def message(part: str) -> Send:
            return lambda: bot.send_message(chat_id, part)

        if len(rendered.text) <= CAPTION_LIMIT:
            return [photo(rendered.text)]
        return [*(message(part) for part in split_text(rendered.text)), photo(rendered.caption)]

    return DigestChannel(messages, wait_after, _telegram_outcome)


def _telegram_outcome(error: Exception) -> Outcome | None:
    if isinstance(error, Forbidden):
        return "blocked"
    if isinstance(error, BadRequest):
        return "rejected"
    if isinstance(error, RetryAfter | NetworkError):  # still due: the next run tries again
        return "failed"
    if isinstance(error, TelegramError):  # e.g. ChatMigrated, InvalidToken: retrying won't help
        return "rejected"
    return None


async def send_rendered(
    bot: Bot, chat_id: int, rendered: RenderedDigest, sleep: Sleep = asyncio.sleep
) -> Outcome:
    """The whole digest to one Telegram chat (the on-demand /digest; nothing recorded)."""
    return await send_parts(telegram_digest(bot), str(chat_id), rendered, sleep)


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

    def summary(self) -> str:
        counts = ", ".join(
            f"{name} {len(getattr(self, name))}"
            for name in ("sent", "already", "blocked", "failed", "rejected", "skipped")
        )
        return f"digest {self.period}: {counts}"


async def deliver_due_digests(
    bot: Bot | None,
    services: Services,
    now: datetime,
    *,
    sleep: Sleep = asyncio.sleep,
    others: Mapping[str, DigestChannel] | None = None,
) -> DeliveryReport:
    """Send the due period's digest to every subscriber who has not had it yet, on Telegram
    (through `bot`) and on the channels of `others` (Zalo)."""
    senders = dict(others or {})
    if bot is not None:
        senders[CHANNEL] = telegram_digest(bot)
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
        elif outcome == "blocked":
            await store.unsubscribe(channel, user_id)
            log.warning("official %s:%s blocked the bot; digest unsubscribed", channel, user_id)
        getattr(report, outcome or "skipped").append(user_id)
    log.info("%s", report.summary())
    return report


async def _deliver(
    sender: DigestChannel,
    services: Services,
    recipient: Recipient,
    period: Period,
    sleep: Sleep,
) -> Outcome | None:
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
    """What the digest jobs and the /digest command share; the lock keeps runs one at a time."""

    services: Services
    clock: Clock
    sleep: Sleep = asyncio.sleep
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    retry_rounds: int = 0
    retry_pending: bool = False
    others: dict[str, DigestChannel] = field(default_factory=dict)  # channels besides Telegram

    async def run(self, bot: Bot | None) -> DeliveryReport:
        async with self.lock:
            return await deliver_due_digests(
                bot, self.services, self.clock(), sleep=self.sleep, others=self.others
            )


TelegramApp = Application[Any, Any, Any, Any, Any, Any]


def schedule_digest(application: TelegramApp, services: Services, clock: Clock) -> DigestSchedule:
    """Register the cron job and a catch-up run shortly after start-up; call from post_init.

    Calling it again returns the schedule already registered instead of adding jobs twice.
    """
    existing = application.bot_data.get(DIGEST_KEY)
    if isinstance(existing, DigestSchedule):
        return existing
    schedule = DigestSchedule(services, clock)
    application.bot_data[DIGEST_KEY] = schedule
    jobs = application.job_queue
    if jobs is None:
        log.warning("no job queue (python-telegram-bot[job-queue] missing): no weekly digest")
        return schedule
    trigger = digest_trigger(services.settings)
    # Runs missed while the process lived but the loop was busy still run (no grace limit),
    # merged into one; missed while the process was down, the catch-up job covers them.
    job_kwargs = {"trigger": trigger, "coalesce": True, "misfire_grace_time": None}
    jobs.run_custom(run_digest_job, job_kwargs=job_kwargs, data=schedule, name=CRON_JOB)
    jobs.run_once(run_digest_job, when=STARTUP_DELAY, data=schedule, name=CATCH_UP_JOB)
    log.info("weekly digest scheduled: '%s' (%s)", services.settings.digest.cron, trigger.timezone)
    return schedule


async def run_digest_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """The job callback: deliver what is due, and come back later for transient failures."""
    job = context.job
    schedule = job.data if job is not None else None
    if not isinstance(schedule, DigestSchedule):
        return
    if job is not None and job.name == RETRY_JOB:
        schedule.retry_pending = False
    report = await schedule.run(context.bot)
    if not report.failed:
        schedule.retry_rounds = 0
        return
    jobs = context.job_queue
    if jobs is None or schedule.retry_pending or schedule.retry_rounds >= RETRY_ROUNDS:
        return
    schedule.retry_rounds += 1
    schedule.retry_pending = True
    jobs.run_once(run_digest_job, when=RETRY_LATER, data=schedule, name=RETRY_JOB)
