"""Housekeeping (run by bot.jobs): expire unfinished responses, retention, prune old records."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.services import Services
from storage.claims import claim, forget_claims, instance_name
from storage.retention import expire_unfinished, forget_processed, purge_responses

log = logging.getLogger(__name__)
EVERY = timedelta(hours=6)
KEEP_PROCESSED = timedelta(days=7)
KEEP_MEDIA = timedelta(weeks=8)


async def tidy(services: Services, now: datetime) -> int:
    """One round; returns how many responses it deleted (expired unfinished, past retention)."""
    await forget_processed(services.database, now - KEEP_PROCESSED)
    await forget_claims(services.database, now - KEEP_PROCESSED)
    removed = prune_media(services.settings.zalo.media_dir, now.timestamp())
    if removed:
        log.info("removed %d digest charts older than %s", removed, KEEP_MEDIA)
    privacy = services.settings.privacy
    idle = timedelta(days=privacy.expire_unfinished_days)
    expired = await expire_unfinished(services.database, now - idle)
    deleted = 0
    if privacy.retention_days:
        today = now.astimezone(services.settings.bot.zone).date()
        cutoff = today - timedelta(days=privacy.retention_days)
        deleted = await purge_responses(services.database, cutoff)
    if expired or deleted:
        log.info(
            "housekeeping: expired %d unfinished responses idle over %d days; "
            "retention deleted %d completed responses older than %d days",
            expired,
            privacy.expire_unfinished_days,
            deleted,
            privacy.retention_days,
        )
    return expired + deleted


async def tidy_claimed(services: Services, now: datetime) -> int | None:
    """`tidy`, by the one instance (of those on this database) that claims this six-hour
    slot; None for the others, which only prune their own media folder."""
    if await claim(services.database, "housekeeping", slot(now), instance_name(), now):
        return await tidy(services, now)
    prune_media(services.settings.zalo.media_dir, now.timestamp())  # files are per machine
    return None


def slot(now: datetime) -> str:
    """The six-hour period `now` falls in, as claimed in the database (UTC)."""
    utc = now.astimezone(UTC)
    return f"{utc:%Y-%m-%d}T{utc.hour // 6 * 6:02d}"


def prune_media(folder: Path, now: float, keep: timedelta = KEEP_MEDIA) -> int:
    """Remove published digest charts older than `keep` (their URLs are public); how many."""
    removed = 0
    for path in folder.glob("sipas-*.png") if folder.is_dir() else ():
        if now - path.stat().st_mtime > keep.total_seconds():
            path.unlink(missing_ok=True)
            removed += 1
    return removed
