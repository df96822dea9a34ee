"""The running bot's shared services, opened once at start-up and closed at shutdown."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.config import ConfigError, Settings
from bot.questionnaires import load_catalogue
from handlers.conversation import Agency, Conversation
from storage.database import Database
from storage.migrations import migrate
from storage.responses import ResponseStore
from survey.catalogue import Catalogue

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    catalogue: Catalogue
    database: Database
    responses: ResponseStore
    conversation: Conversation

    async def close(self) -> None:
        await self.database.close()


def check_catalogue(settings: Settings, catalogue: Catalogue) -> None:
    """Every questionnaire the config names must exist."""
    if settings.survey.questionnaire not in catalogue:
        raise ConfigError(
            "config",
            "survey.questionnaire",
            f"unknown questionnaire {settings.survey.questionnaire!r}; "
            f"known: {', '.join(catalogue.ids)}",
        )
    for index, agency in enumerate(settings.agencies):
        if agency.questionnaire and agency.questionnaire not in catalogue:
            raise ConfigError(
                "config",
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
    agencies = [
        Agency(a.code, a.name, settings.questionnaire_of(a.code)) for a in settings.agencies
    ]
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
    )
    return Services(settings, catalogue, database, responses, conversation)
