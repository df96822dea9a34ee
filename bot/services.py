"""The running bot's shared services, opened once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.config import ConfigError, Settings
from bot.questionnaires import load_catalogue
from handlers.conversation import Agency, Conversation
from handlers.scores import Scores
from storage.database import Database
from storage.migrations import migrate
from storage.responses import ResponseStore
from storage.tallies import TallyStore
from survey.catalogue import Catalogue

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    catalogue: Catalogue
    database: Database
    responses: ResponseStore
    conversation: Conversation
    scores: Scores

    async def close(self) -> None:
        await self.database.close()


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
    database = await Database.open(settings.storage.path, settings.storage.synchronous)
    applied = await migrate(database)
    if applied:
        log.info("database %s migrated to version %d", settings.storage.path, applied[-1].version)
    agencies = configured_agencies(settings)
    scores = build_scores(settings, catalogue, database, agencies)
    responses = ResponseStore(database)
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
    return Services(settings, catalogue, database, responses, conversation, scores)


def configured_agencies(settings: Settings) -> list[Agency]:
    """The agencies of the config, each with the questionnaire it uses."""
    return [Agency(a.code, a.name, settings.questionnaire_of(a.code)) for a in settings.agencies]


def build_scores(
    settings: Settings, catalogue: Catalogue, database: Database, agencies: list[Agency]
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
