"""Weekly digests composed from the stored tallies: who gets one, its content, and a preview.

Recipients are the digest subscribers who are still officials (the config or a registration);
each gets their scope: one agency's index, or for a wider scope the agencies pooled with a
ranking table. Sending and scheduling live in `bot.digest.delivery` and /digest in
`handlers.telegram.digest`; this module never talks to Telegram, so the command line can preview a
digest without a token.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.digest.chart import render_chart
from bot.services import Services
from storage.officials import Subscriber
from survey.access import Official
from survey.digest import (
    TREND_WEEKS,
    Digest,
    RenderedDigest,
    TrendPoint,
    chart_spec,
    render_caption,
    render_digest,
)
from survey.index import Ranked
from survey.models import LANGUAGES, Language
from survey.period import Period, last_full_week, weeks_back
from survey.scorecard import GroupRanking, Scorecard

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    """A subscriber who is (still) an official, with the language they subscribed in."""

    subscriber: Subscriber
    official: Official
    language: Language


def alert_below(settings: Settings) -> float:
    """The `[digest] alert_below` threshold."""
    return settings.digest.alert_below


def _language(settings: Settings, language: str) -> Language:
    for known in LANGUAGES:
        if language == known:
            return known
    return settings.bot.default_language


async def recipients(services: Services) -> tuple[list[Recipient], list[Subscriber]]:
    """(subscribers who are officials, subscribers who no longer are), in subscription order."""
    found: list[Recipient] = []
    former: list[Subscriber] = []
    for subscriber in await services.officials.subscribers():
        official = await services.desk.official(subscriber.channel, subscriber.user_id)
        if official is None:
            former.append(subscriber)
            continue
        language = _language(services.settings, subscriber.language)
        found.append(Recipient(subscriber, official, language))
    return found, former


async def build_digest(services: Services, official: Official, period: Period) -> Digest | None:
    """The official's digest for ``period``; None when their scope holds no agency."""
    scope = official.scope(services.scores.agencies.codes)
    if not scope:
        return None
    scores = services.scores
    ranking: tuple[tuple[str, Ranked], ...] = ()
    not_pooled: tuple[str, ...] = ()
    groups: tuple[GroupRanking, ...] = ()
    if len(scope) == 1:
        card = await scores.scorecard(scope[0], period, scope)
    else:
        card = await scores.scorecard(None, period, scope)
        ranking = tuple(await scores.ranking(period, scope))
        agencies = [scores.agency(code) for code in scope]
        not_pooled = tuple(a.name for a in agencies if a.questionnaire != card.questionnaire.id)
        if scores.agencies.groups:
            groups = tuple(await scores.group_rankings(period, scope))
    return Digest(
        card=card,
        trend=await _trend(services, card, scope),
        ranking=ranking,
        scope_size=len(scope),
        sees_all=official.sees_all,
        alert_below=alert_below(services.settings),
        not_pooled=not_pooled,
        groups=groups,
    )


async def _trend(
    services: Services, card: Scorecard, scope: tuple[str, ...]
) -> tuple[TrendPoint, ...]:
    """The SIPAS of the last `TREND_WEEKS` weeks; the last point is the card's own result."""
    weeks = weeks_back(card.period, TREND_WEEKS)
    results = await services.scores.trend(card, weeks, scope)
    return tuple(TrendPoint(week, result) for week, result in zip(weeks, results, strict=True))


async def render(digest: Digest, language: Language) -> RenderedDigest:
    """Text, caption and PNG; the chart is drawn in a worker thread to keep the bot responsive."""
    png = await asyncio.to_thread(render_chart, chart_spec(digest, language))
    return RenderedDigest(render_digest(digest, language), render_caption(digest, language), png)


def preview_period(settings: Settings, now: datetime) -> Period:
    """The period of an on-demand digest or a preview: the last full week, local time."""
    return last_full_week(now.astimezone(settings.bot.zone).date())


async def write_dry_run(
    services: Services, out: Path, period: Period | None, now: datetime
) -> list[Path]:
    """Write each recipient's digest as ``NN-role-channel-id.txt`` and ``.png`` into ``out``.

    Nothing is sent or recorded. ``period`` None means the last full week before ``now``.
    Returns the files written, text then chart per recipient.
    """
    chosen = period or preview_period(services.settings, now)
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    written: list[Path] = []
    found, _ = await recipients(services)
    for number, recipient in enumerate(found, start=1):
        digest = await build_digest(services, recipient.official, chosen)
        if digest is None:
            continue
        rendered = await render(digest, recipient.language)
        subscriber = recipient.subscriber
        stem = f"{number:02d}-{recipient.official.role}-{subscriber.channel}-{subscriber.user_id}"
        written += await asyncio.to_thread(write_digest_files, out / stem, rendered)
    log.info("digest preview for %s: %d file(s) in %s", chosen, len(written), out)
    return written


def write_digest_files(stem: Path, rendered: RenderedDigest) -> list[Path]:
    text, chart = stem.with_suffix(".txt"), stem.with_suffix(".png")
    text.write_text(rendered.text + "\n", encoding="utf-8")
    chart.write_bytes(rendered.png)
    return [text, chart]
