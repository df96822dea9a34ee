"""Whether the database answers and its schema is current: what /healthz reports."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database
from storage.migrations import MIGRATIONS


@dataclass(frozen=True)
class Health:
    """The database's state: reachable, and the schema version it has against the code's."""

    reachable: bool
    version: int | None
    latest: int

    @property
    def current(self) -> bool:
        return self.reachable and self.version == self.latest


async def check_health(database: Database) -> Health:
    """`SELECT 1` and the highest migration applied; any database error reads as unreachable."""
    latest = max(migration.version for migration in MIGRATIONS)
    try:
        await database.fetch_value("SELECT 1")
        version = await database.fetch_value("SELECT MAX(version) FROM schema_migrations")
    except Exception:  # a closed connection, a locked or corrupt file: all mean "not healthy"
        return Health(False, None, latest)
    return Health(True, int(version) if version is not None else None, latest)
