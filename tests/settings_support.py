"""Settings for tests: one factory instead of a settings fixture copied into each module."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bot.config import AgencyEntry, OfficialEntry, Settings

# The two agencies most tests survey: a commune on the default questionnaire and a department
# on the five-question counter form.
TWO_AGENCIES = (
    AgencyEntry(code="ubnd_xa_a", name="UBND xã A"),
    AgencyEntry(code="so_tu_phap", name="Sở Tư pháp", questionnaire="counter-5"),
)


def make_settings(
    folder: Path,
    *,
    agencies: Iterable[AgencyEntry] | Mapping[str, str] = TWO_AGENCIES,
    officials: Iterable[OfficialEntry] = (),
    database: str = "sipas.sqlite",
    target: Path | str | None = None,
    telegram_token: str | None = None,
    **sections: dict[str, Any],
) -> Settings:
    """Validated settings whose database is `folder/database`, or `target` (the
    `database_target` fixture: a SQLite file or a PostgreSQL URL, for tests on both engines).

    `agencies` may be entries or {code: name}. Each keyword section sets some keys of that
    config section, as config.toml would: `privacy={"retention_days": 30}`.
    """
    if isinstance(agencies, Mapping):
        agencies = [AgencyEntry(code=code, name=name) for code, name in agencies.items()]
    storage = {**sections.pop("storage", {}), "path": folder / database}
    if isinstance(target, Path):
        storage["path"] = target
    elif target is not None:
        storage["url"] = target
    if telegram_token is not None:
        sections["telegram"] = {**sections.get("telegram", {}), "token": telegram_token}
    return Settings.model_validate(
        {
            "agencies": tuple(agencies),
            "officials": tuple(officials),
            "storage": storage,
            **sections,
        }
    )
