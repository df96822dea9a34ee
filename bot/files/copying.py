"""`python -m bot copy-data --to URL`: a pilot's SQLite database into an empty PostgreSQL one.

Every table the migrations made is copied (in their creation order, so parents come before
the rows that reference them) in ONE PostgreSQL transaction: a failure leaves the target as
empty as it was. Identity sequences then continue after the copied ids. Before success is
reported, the row count of every table and `report --json` of every agency (and of all of them)
over the whole span of the data are compared on both databases.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pydantic import SecretStr

from bot.config import Settings
from bot.services import Services, open_services
from storage.database import Database
from storage.migrations import migrate
from storage.postgres import UnitOfWork, describe_url, is_postgres_url
from survey.period import Period
from survey.report_json import report_json

CHUNK = 5000  # rows read and written at a time: memory stays flat for any size


class CopyRefused(Exception):
    """The copy cannot start, or its check failed; the message says why in one line."""


@dataclass
class CopyReport:
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    reports_checked: int = 0

    def summary(self) -> str:
        total = sum(self.rows.values())
        return (
            f"copied {total} rows of {len(self.rows)} tables to {self.target}; row counts and "
            f"report --json of {self.reports_checked} agency scopes are identical on both"
        )


async def copy_data(settings: Settings, url: str) -> CopyReport:
    """Copy the SQLite database at `[storage] path` into the empty PostgreSQL database at
    `url`, then check the copy. Raises CopyRefused (nothing written) or StorageError."""
    if not is_postgres_url(url):
        raise CopyRefused("--to must be a postgresql:// URL")
    path = settings.storage.path
    if not path.exists():
        raise CopyRefused(f"no SQLite database at {path} ([storage] path) to copy")
    report = CopyReport(describe_url(url))
    source = await Database.open(path, settings.storage.synchronous)
    try:
        await migrate(source)  # what the bot does at start-up: both sides have every table
        target = await Database.open(url)
        try:
            await migrate(target)
            tables = await _tables(source)
            await _refuse_filled(target, tables, report.target)
            await _copy(source, target, tables)
            report.rows = dict.fromkeys(tables, 0)
        finally:
            await target.close()
    finally:
        await source.close()
    await _check(settings, url, report)
    return report


async def _tables(source: Database) -> list[str]:
    rows = await source.fetch_all(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != 'schema_migrations' ORDER BY rowid"
    )
    return [str(row[0]) for row in rows]


async def _count(database: Database, table: str) -> int:
    return int(await database.fetch_value(f"SELECT COUNT(*) FROM {table}"))


async def _refuse_filled(target: Database, tables: Sequence[str], where: str) -> None:
    for table in tables:
        if await _count(target, table):
            raise CopyRefused(
                f"{where} is not empty (table {table} has rows); copy-data fills only an "
                "empty database: create a new one (createdb) and copy again"
            )


async def _copy(source: Database, target: Database, tables: Sequence[str]) -> None:
    async with source.transaction() as reader, target.transaction() as writer:
        assert isinstance(writer, UnitOfWork), "copy-data writes to PostgreSQL only"
        for table in tables:
            columns = [
                str(row[1]) for row in await reader.execute_fetchall(f"PRAGMA table_info({table})")
            ]
            # COPY's text format: a number SQLite kept in a text column (processed_updates)
            # arrives as its text, which is what PostgreSQL's text column holds.
            async with reader.execute(f"SELECT {', '.join(columns)} FROM {table}") as cursor:
                while rows := await cursor.fetchmany(CHUNK):
                    await writer.copy_rows(table, columns, rows)
        for table, column in await writer.execute_fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ):
            # The next id after the copied ones (ids were given explicitly).
            await writer.execute(
                f"SELECT setval(pg_get_serial_sequence(?, ?), "
                f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)",
                (table, column),
            )


async def _check(settings: Settings, url: str, report: CopyReport) -> None:
    """Counts and every agency's report, on both; CopyRefused names the first difference."""
    sqlite = settings.model_copy(
        update={"storage": settings.storage.model_copy(update={"url": None})}
    )
    postgres = settings.model_copy(
        update={"storage": settings.storage.model_copy(update={"url": SecretStr(url)})}
    )
    before, after = await open_services(sqlite), await open_services(postgres)
    try:
        # Counted after both were opened as the bot opens them (agencies synced from the config).
        for table in report.rows:
            rows = report.rows[table] = await _count(before.database, table)
            copied = await _count(after.database, table)
            if copied != rows:
                raise CopyRefused(
                    f"the copy differs: table {table} has {rows} rows here, {copied} there"
                )
        period = await _span(before.database)
        scopes: list[str | None] = [None, *(agency.code for agency in settings.agencies)]
        for scope in scopes:
            if await _report(before, scope, period) != await _report(after, scope, period):
                raise CopyRefused(
                    f"the copy differs: report --json of {scope or 'all agencies'} "
                    f"for {period} is not the same on both"
                )
            report.reports_checked += 1
    finally:
        await before.close()
        await after.close()


async def _span(database: Database) -> Period:
    """From the first to the last day with data (today when there is none)."""
    row = await database.fetch_one("SELECT MIN(day), MAX(day) FROM daily_responses")
    if row is None or row[0] is None:
        today = datetime.now(UTC).date()
        return Period(today, today)
    return Period(date.fromisoformat(row[0]), date.fromisoformat(row[1]))


async def _report(services: Services, agency: str | None, period: Period) -> str:
    card = await services.scores.scorecard(agency, period)
    return json.dumps(report_json(card), ensure_ascii=False, sort_keys=True)


async def copy_command(settings: Settings, url: str) -> int:
    try:
        report = await copy_data(settings, url)
    except CopyRefused as refusal:
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0
