"""`import-responses`: read a sheet of paper forms, check it against the database, store it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from bot.config import Settings
from bot.files.sheets import SheetError, read_paper_forms
from bot.services import open_services
from storage.imports import AlreadyImported, already_imported, import_paper_responses
from survey.paper import (
    PaperFormError,
    PaperResponse,
    PaperSheet,
    fingerprint,
    rows_per_agency_and_month,
)

_SHOWN_WARNINGS = 20  # a sheet of a thousand look-alike rows should not bury the summary


async def import_responses(
    settings: Settings,
    path: Path,
    now: datetime,
    dry_run: bool = False,
    skip_duplicates: bool = False,
) -> tuple[int, str]:
    """Validate every row of `path`, then store all of them in one transaction, or none.

    Returns the exit code (0 imported or checked, 1 the file was refused) and the message to
    print: what was done, then the summary (rows per agency and month, columns, warnings).
    """
    services = await open_services(settings)
    try:
        try:
            sheet = read_paper_forms(settings, services.catalogue, path, now)
        except SheetError as error:
            return 1, str(error)
        except PaperFormError as error:
            return 1, f"{path}: nothing imported, {error}"
        if dry_run:
            known = await already_imported(services.database, map(fingerprint, sheet.responses))
            skipped = [r.line for r in sheet.responses if fingerprint(r) in known]
            if skipped and not skip_duplicates:
                return 1, f"{path}: nothing would be imported, {AlreadyImported(skipped)}"
            done = f"dry run, nothing stored: {len(sheet.responses) - len(skipped)} responses"
            done += f" would be imported from {path}"
        else:
            try:
                result = await import_paper_responses(
                    services.database, sheet.responses, settings.bot.zone, now, skip_duplicates
                )
            except AlreadyImported as error:
                return 1, f"{path}: nothing imported, {error}"
            skipped = result.skipped_lines
            done = f"imported {result.stored} responses from {path}"
    finally:
        await services.close()
    if skipped:
        done += f"; skipped {len(skipped)} row(s) imported before"
    kept = [r for r in sheet.responses if r.line not in set(skipped)]
    return 0, "\n".join([done, *summary(sheet, kept)])


def summary(sheet: PaperSheet, stored: Sequence[PaperResponse]) -> list[str]:
    """Rows per agency and month, how each column was read, and the warnings."""
    lines = ["responses per agency and month:"]
    counts = rows_per_agency_and_month(stored)
    width = max((len(agency) for agency, _ in counts), default=0)
    lines += [f"  {agency:<{width}}  {month}  {n}" for (agency, month), n in counts.items()]
    if not counts:
        lines.append("  none")
    lines.append("columns:")
    lines += [f"  {line}" for line in sheet.mapping]
    if sheet.warnings:
        lines.append("warnings:")
        lines += [f"  {warning}" for warning in sheet.warnings[:_SHOWN_WARNINGS]]
        if len(sheet.warnings) > _SHOWN_WARNINGS:
            lines.append(f"  … and {len(sheet.warnings) - _SHOWN_WARNINGS} more")
    return lines
