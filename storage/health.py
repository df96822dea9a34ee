"""Whether the database answers and has every migration: for check-config and /healthz."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import Database
from storage.migrations import MIGRATIONS, pending


@dataclass(frozen=True)
class Health:
    reachable: bool
    migrations_current: bool
    pending: tuple[int, ...] = ()  # versions not applied yet

    @property
    def ok(self) -> bool:
        return self.reachable and self.migrations_current


async def health(database: Database) -> Health:
    """Ask the database (one round trip or two); never raises for a database that is down."""
    try:
        await database.fetch_value("SELECT 1")
    except Exception:  # whatever the driver raises when the server or the file is gone
        return Health(reachable=False, migrations_current=False)
    try:
        missing = await pending(database)
    except Exception:
        return Health(reachable=False, migrations_current=False)
    return Health(True, not missing, tuple(m.version for m in missing))


def latest_version() -> int:
    return max(migration.version for migration in MIGRATIONS)
