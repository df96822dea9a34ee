"""Retention, expiry and pruning: old and abandoned responses go, counts stay; old records go."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import AgencyEntry, PrivacySection, Settings, StorageSection
from bot.housekeeping import tidy, tidy_claimed
from bot.services import open_services
from storage.imports import store_paper_responses
from survey.flow import Moved, ScaleAnswer
from survey.paper import PaperResponse
from tests.postgres_support import query_rows
from tests.settings_support import make_settings

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def settings_for(
    tmp_path: Path, retention_days: int, target: Path | str | None = None
) -> Settings:
    return make_settings(
        tmp_path,
        database="h.sqlite",
        target=target,
        agencies=(AgencyEntry(code="a", name="A", questionnaire="counter-5"),),
        privacy={"secret": "x" * 16, "retention_days": retention_days},
    )


def form(day: date) -> PaperResponse:
    """A counter-5 form for agency "a", all fives, filled in at 9:00 on `day`."""
    criteria = ("access_1", "procedures_1", "civil_servants_1", "results_1", "feedback_1")
    answers: dict[str, int | None] = dict.fromkeys(criteria, 5)
    return PaperResponse(
        0, "a", "counter-5", 7, datetime(day.year, day.month, day.day, 9), answers, {}
    )


def count(storage: StorageSection, sql: str) -> int:
    return int(query_rows(storage, sql)[0][0])


async def test_retention_deletes_old_responses_but_keeps_the_index(
    tmp_path: Path, database_target: Path | str
) -> None:
    settings = settings_for(tmp_path, retention_days=30, target=database_target)
    services = await open_services(settings)
    try:
        forms = [form(date(2026, 9, 1)), form(date(2026, 11, 20))]
        await store_paper_responses(services.database, forms, settings.bot.zone, NOW)
        assert await tidy(services, NOW) == 1
    finally:
        await services.close()
    path = settings.storage
    assert count(path, "SELECT count(*) FROM responses") == 1
    assert count(path, "SELECT count(*) FROM answers") == 5
    assert count(path, "SELECT sum(responses) FROM daily_responses") == 2  # counts stay


async def test_without_retention_nothing_is_deleted(
    tmp_path: Path, database_target: Path | str
) -> None:
    settings = settings_for(tmp_path, retention_days=0, target=database_target)
    services = await open_services(settings)
    try:
        await store_paper_responses(
            services.database, [form(date(2020, 1, 6))], settings.bot.zone, NOW
        )
        assert await tidy(services, NOW) == 0
    finally:
        await services.close()
    assert count(settings.storage, "SELECT count(*) FROM responses") == 1


async def test_unfinished_responses_expire_after_a_week_idle_and_counts_stay(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, database_target: Path | str
) -> None:
    settings = settings_for(tmp_path, retention_days=0, target=database_target)
    assert settings.privacy.expire_unfinished_days == 7  # the default
    services = await open_services(settings)
    store = services.responses
    day = timedelta(days=1)

    async def answered(respondent: str, started: datetime, answered: datetime) -> None:
        begun = await store.start_response(respondent, "telegram", "a", "counter-5", started)
        consented = await store.record(begun, Moved(1, None, False), started)
        assert consented is not None
        await store.record(consented, Moved(2, ScaleAnswer("access_1", 4), False), answered)

    try:
        await store_paper_responses(
            services.database, [form(date(2026, 9, 1))], settings.bot.zone, NOW
        )
        await answered("abandoned", NOW - 10 * day, NOW - 10 * day)
        await answered("resuming", NOW - 10 * day, NOW - 6 * day)  # touched within the week
        await store.start_response("restarter", "telegram", "a", "counter-5", NOW - 9 * day)
        await store.start_response("restarter", "telegram", "a", "counter-5", NOW - 8 * day)
        path = settings.storage
        before = count(path, "SELECT sum(responses) FROM daily_responses")
        assert count(path, "SELECT count(*) FROM responses WHERE status = 'cancelled'") == 1
        with caplog.at_level(logging.INFO, logger="bot.housekeeping"):
            assert await tidy(services, NOW) == 3  # abandoned, and both of the restarter's
        resumed = await store.open_response("resuming")
        gone = await store.open_response("abandoned")
    finally:
        await services.close()
    assert gone is None
    assert resumed is not None
    assert resumed.answers == {"access_1": 4}
    assert resumed.position == 2
    assert count(path, "SELECT count(*) FROM responses WHERE status != 'completed'") == 1
    assert count(path, "SELECT count(*) FROM answers") == 5 + 1  # the paper form's, resuming's
    assert count(path, "SELECT sum(responses) FROM daily_responses") == before == 1
    assert "expired 3 unfinished responses" in caplog.text


async def test_a_shorter_expiry_is_configurable_and_below_one_day_is_refused(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, retention_days=0)
    privacy = settings.privacy.model_copy(update={"expire_unfinished_days": 2})
    settings = settings.model_copy(update={"privacy": privacy})
    services = await open_services(settings)
    try:
        await services.responses.start_response(
            "p", "zalo", "a", "counter-5", NOW - timedelta(days=3)
        )
        assert await tidy(services, NOW) == 1
    finally:
        await services.close()
    with pytest.raises(ValidationError):
        PrivacySection(expire_unfinished_days=0)


async def test_two_instances_tidy_once_per_six_hours(
    tmp_path: Path, database_target: Path | str
) -> None:
    settings = settings_for(tmp_path, retention_days=30, target=database_target)
    first, second = await open_services(settings), await open_services(settings)
    try:
        await store_paper_responses(
            first.database, [form(date(2026, 9, 1))], settings.bot.zone, NOW
        )
        results = [await tidy_claimed(services, NOW) for services in (first, second, first)]
        later = NOW + timedelta(hours=6)
        await store_paper_responses(
            first.database, [form(date(2026, 9, 2))], settings.bot.zone, NOW
        )
        next_slot = await tidy_claimed(second, later)
    finally:
        await first.close()
        await second.close()
    assert results == [1, None, None]
    assert next_slot == 1
