"""Retention and pruning: old responses go, their counts stay; old idempotency records go."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import SecretStr

from bot.config import AgencyEntry, Settings
from bot.housekeeping import tidy
from bot.services import open_services
from storage.imports import store_paper_responses
from survey.paper import PaperResponse

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def settings_for(tmp_path: Path, retention_days: int) -> Settings:
    base = Settings(agencies=(AgencyEntry(code="a", name="A", questionnaire="counter-5"),))
    return base.model_copy(
        update={
            "storage": base.storage.model_copy(update={"path": tmp_path / "h.sqlite"}),
            "privacy": base.privacy.model_copy(
                update={"secret": SecretStr("x" * 16), "retention_days": retention_days}
            ),
        }
    )


def form(day: date) -> PaperResponse:
    criteria = ("access_1", "procedures_1", "civil_servants_1", "results_1", "feedback_1")
    answers: dict[str, int | None] = dict.fromkeys(criteria, 5)
    return PaperResponse(
        0, "a", "counter-5", 7, datetime(day.year, day.month, day.day, 9), answers, {}
    )


def count(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(sql).fetchone()[0])


async def test_retention_deletes_old_responses_but_keeps_the_index(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, retention_days=30)
    services = await open_services(settings)
    try:
        forms = [form(date(2026, 9, 1)), form(date(2026, 11, 20))]
        await store_paper_responses(services.database, forms, settings.bot.zone, NOW)
        assert await tidy(services, NOW) == 1
    finally:
        await services.close()
    path = settings.storage.path
    assert count(path, "SELECT count(*) FROM responses") == 1
    assert count(path, "SELECT count(*) FROM answers") == 5
    assert count(path, "SELECT sum(responses) FROM daily_responses") == 2  # counts stay


async def test_without_retention_nothing_is_deleted(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, retention_days=0)
    services = await open_services(settings)
    try:
        await store_paper_responses(
            services.database, [form(date(2020, 1, 6))], settings.bot.zone, NOW
        )
        assert await tidy(services, NOW) == 0
    finally:
        await services.close()
    assert count(settings.storage.path, "SELECT count(*) FROM responses") == 1
