"""The running bot's shared services, opened once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.config import ConfigError, Settings
from bot.files.export import write_period_export
from bot.questionnaires import load_catalogue
from handlers.conversation import Conversation
from handlers.metrics import MeteredResponseStore
from handlers.officials import OfficialDesk, ReportLink
from handlers.scores import Scores
from handlers.telegram.links import deep_link
from handlers.text.chat import TextChat
from storage.database import Database
from storage.menus import MenuStore
from storage.migrations import migrate
from storage.officials import OfficialStore
from storage.responses import ResponseStore
from storage.tallies import TallyStore
from survey.access import Official
from survey.agencies import Agencies, Agency, Group
from survey.catalogue import Catalogue
from survey.period import Period

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    catalogue: Catalogue
    database: Database
    responses: ResponseStore
    conversation: Conversation
    scores: Scores
    officials: OfficialStore
    desk: OfficialDesk

    async def close(self) -> None:
        await self.database.close()

    def text_chat(self, channel: str) -> TextChat:
        """The numbered-text chat of a channel without buttons (Zalo, the terminal)."""
        secret = self.settings.privacy.secret.get_secret_value()
        menus = MenuStore(self.database)
        return TextChat(channel, self.conversation, self.desk, menus, self.responses, secret)


def check_catalogue(settings: Settings, catalogue: Catalogue) -> None:
    """Every questionnaire the config names must exist."""
    if settings.survey.questionnaire not in catalogue:
        raise ConfigError(
            settings.source,
            "survey.questionnaire",
            f"unknown questionnaire {settings.survey.questionnaire!r}; "
            f"known: {', '.join(catalogue.ids)}",
        )
    for index, agency in enumerate(settings.agencies):
        if agency.questionnaire and agency.questionnaire not in catalogue:
            raise ConfigError(
                settings.source,
                f"agencies[{index}].questionnaire",
                f"unknown questionnaire {agency.questionnaire!r}; "
                f"known: {', '.join(catalogue.ids)}",
            )


async def open_services(settings: Settings) -> Services:
    """Load questionnaires, open and migrate the database, and wire the conversation."""
    catalogue = load_catalogue(settings.survey.questionnaire_files)
    check_catalogue(settings, catalogue)
    database = await Database.open(settings.storage.location, settings.storage.synchronous)
    try:
        return await _wire(settings, catalogue, database)
    except BaseException:
        await database.close()  # an open connection's thread would keep the process alive
        raise


async def _wire(settings: Settings, catalogue: Catalogue, database: Database) -> Services:
    applied = await migrate(database)
    if applied:
        log.info("database %s migrated to version %d", database.location, applied[-1].version)
    agencies = configured_agencies(settings)
    scores = build_scores(settings, catalogue, database, agencies)
    responses = MeteredResponseStore(database)
    await responses.sync_agencies((a.code, a.name, a.questionnaire) for a in agencies)
    conversation = Conversation(
        responses,
        catalogue,
        agencies,
        secret=settings.privacy.secret.get_secret_value(),
        zone=settings.bot.zone,
        default_language=settings.bot.default_language,
        resubmit_after=timedelta(hours=settings.survey.resubmit_after_hours),
        index_line=scores.index_line,
    )
    officials = OfficialStore(database)

    async def export_file(agencies: Sequence[str] | None, period: Period, fmt: str) -> Path:
        folder = Path(tempfile.mkdtemp(prefix="sipas-export-"))
        try:
            return await write_period_export(
                scores,
                database,
                catalogue,
                period=period,
                agencies=agencies,
                fmt="csv" if fmt == "csv" else "xlsx",
                out=folder / f"sipas_{period.start}_{period.end}.{fmt}",
                language=settings.bot.default_language,
            )
        except BaseException:  # a failed export leaves no half-written file behind
            shutil.rmtree(folder, ignore_errors=True)
            raise

    desk = OfficialDesk(
        officials,
        scores,
        agencies,
        configured_officials(settings),
        zone=settings.bot.zone,
        export_file=export_file,
        min_responses=settings.survey.min_responses,
        secret=settings.privacy.secret.get_secret_value(),
        deep_link=deep_link,
        report_link=web_report_link(settings) if settings.web.enabled else None,
    )
    return Services(
        settings, catalogue, database, responses, conversation, scores, officials, desk
    )


def web_report_link(settings: Settings) -> ReportLink:
    """The desk's /report: a signed address on the bot's web server (bot.web.server)."""

    def link(
        agency: str | None, period: Period, scope: tuple[str, ...] | None, now: datetime
    ) -> str:
        from bot.web.server import report_link, report_url  # the web server imports us

        return report_url(settings, report_link(agency, period, scope, now))

    return link


def configured_officials(settings: Settings) -> list[Official]:
    """The officials of the config, one per channel they use; ids are kept as text."""
    found: list[Official] = []
    for entry in settings.officials:
        if entry.telegram_id is not None:
            found.append(Official("telegram", str(entry.telegram_id), entry.role, entry.agencies))
        if entry.zalo_id is not None:
            found.append(Official("zalo", entry.zalo_id, entry.role, entry.agencies))
    return found


def configured_agencies(settings: Settings) -> Agencies:
    """The agencies of the config, each with the questionnaire it uses, and their groups."""
    return Agencies(
        (
            Agency(a.code, a.name, settings.questionnaire_of(a.code), a.visit_required, a.group)
            for a in settings.agencies
        ),
        (Group(g.id, g.name) for g in settings.groups),
    )


def build_scores(
    settings: Settings, catalogue: Catalogue, database: Database, agencies: Agencies
) -> Scores:
    """The index service as the config sets it up (questionnaires, threshold, weights)."""
    return Scores(
        TallyStore(database),
        catalogue,
        agencies,
        default_questionnaire=settings.survey.questionnaire,
        min_responses=settings.survey.min_responses,
        weights=settings.survey.element_weights,
    )
