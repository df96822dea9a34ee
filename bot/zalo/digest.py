"""The weekly digest on Zalo (text; the chart by public URL) and the jobs of a Zalo-only run.

With Telegram running, PTB's job queue runs one digest schedule for both channels; without it,
an APScheduler of our own runs the same schedule, catch-up and housekeeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import ZaloSection
from bot.digest.compose import RenderedDigest
from bot.digest.delivery import (
    RETRY_JOB,
    RETRY_LATER,
    RETRY_ROUNDS,
    STARTUP_DELAY,
    DigestChannel,
    DigestSchedule,
    Outcome,
    Send,
    digest_trigger,
)
from bot.housekeeping import EVERY, tidy
from bot.services import Services
from bot.zalo.api import ZaloApiError, ZaloBotApi, wait_after
from handlers.retry import Sleep
from survey.channels import ZALO, split_text

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def zalo_digest(api: ZaloBotApi, section: ZaloSection) -> DigestChannel:
    """Text (split within Zalo's limit), then the chart by URL when a public URL is set."""

    def messages(user_id: str, rendered: RenderedDigest) -> list[Send]:
        def text(part: str) -> Send:
            return lambda: api.call("sendMessage", {"chat_id": user_id, "text": part})

        async def chart() -> None:
            name = publish_chart(section.media_dir, rendered.png)
            url = f"{section.public_media_url}/{name}"
            await api.call("sendPhoto", {"chat_id": user_id, "photo": url})

        sends = [text(part) for part in split_text(rendered.text, ZALO.text_limit)]
        return [*sends, chart] if section.public_media_url else sends

    return DigestChannel(messages, wait_after, _zalo_outcome)


def _zalo_outcome(error: Exception) -> Outcome | None:
    if not isinstance(error, ZaloApiError):
        return None
    if error.transient:
        return "failed"
    # Zalo documents no "blocked" answer; 403 is what a refusal to a person looks like.
    return "blocked" if error.code == 403 else "rejected"


def publish_chart(folder: Path, png: bytes) -> str:
    """Write the chart under a name nobody can guess without the chart itself (the URL is
    public), the same name for the same chart so a retry writes nothing new; the name."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"sipas-{hashlib.sha256(png).hexdigest()[:32]}.png"
    path = folder / name
    if not path.exists():
        path.write_bytes(png)
    return name


def schedule_zalo_jobs(
    services: Services, api: ZaloBotApi, clock: Clock, *, sleep: Sleep = asyncio.sleep
) -> AsyncIOScheduler:
    """The digest (cron, a catch-up after start, retries) and housekeeping, not yet started;
    `sleep` waits between the tries of one send."""
    settings = services.settings
    schedule = DigestSchedule(services, clock, sleep)
    schedule.others["zalo"] = zalo_digest(api, settings.zalo)
    scheduler = AsyncIOScheduler(timezone=settings.bot.zone)

    async def digest() -> None:
        report = await schedule.run(None)
        if not report.failed:
            schedule.retry_rounds = 0
            return
        # As on Telegram: a few rounds, then the next cron firing takes over.
        if schedule.retry_pending or schedule.retry_rounds >= RETRY_ROUNDS:
            return
        schedule.retry_rounds += 1
        schedule.retry_pending = True
        scheduler.add_job(retry, "date", run_date=clock() + RETRY_LATER, name=RETRY_JOB)

    async def retry() -> None:
        schedule.retry_pending = False
        await digest()

    async def housekeeping() -> None:
        await tidy(services, clock())

    scheduler.add_job(
        digest, digest_trigger(settings), coalesce=True, misfire_grace_time=None, name="digest"
    )
    scheduler.add_job(digest, "date", run_date=clock() + STARTUP_DELAY, name="digest-catch-up")
    scheduler.add_job(
        housekeeping,
        "interval",
        seconds=EVERY.total_seconds(),
        next_run_time=clock() + timedelta(minutes=1),
        name="housekeeping",
    )
    return scheduler
