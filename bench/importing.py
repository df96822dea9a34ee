"""Import: `import-responses` of a 100 thousand-row CSV, against a bare executemany of its rows.

The CSV is written once from the synthetic generator (`survey.synthetic`) and cached. The
import runs `bot.files.importing.import_responses` as the command line does (open and migrate the
database, read and validate every row, store responses, answers, extras and aggregates in one
transaction). The baseline, in the same run: read the same CSV with the csv module and
executemany its rows into responses and answers, one transaction, nothing else.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter

import aiosqlite

from bench.common import (
    DATA,
    QUESTIONNAIRE,
    BenchError,
    Figure,
    agency_codes,
    bench_settings,
    figure,
    median,
)
from bot.files.importing import import_responses
from bot.questionnaires import load_catalogue
from storage.database import Database
from storage.migrations import migrate
from survey.paper import EXTRA_COLUMNS
from survey.synthetic import Profile, generate

AGENCIES = agency_codes(12)
ROWS = 100_000
FIRST_DAY = date(2025, 1, 6)
WEEKS = 26


def write_csv(path: Path, rows: int) -> None:
    """`rows` synthetic paper forms in the import's column layout."""
    questionnaire = load_catalogue()[QUESTIONNAIRE]
    criteria = list(questionnaire.criterion_ids)
    extras = [step.id for step in questionnaire.optional if step.id in EXTRA_COLUMNS]
    # A little over `rows` on average, so that the first `rows` cover every agency.
    per_week = rows * 1.05 / (len(AGENCIES) * WEEKS)
    profiles = [
        Profile(code, questionnaire, 3.6 + 0.08 * i, 0.01, per_week)
        for i, code in enumerate(AGENCIES)
    ]
    forms = itertools.islice(generate(profiles, FIRST_DAY, WEEKS, seed=11), rows)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["submitted_at", "agency", *criteria, *extras])
        for form in forms:
            answers = ["NA" if form.answers[c] is None else str(form.answers[c]) for c in criteria]
            writer.writerow(
                [
                    form.submitted_at.strftime("%Y-%m-%d %H:%M"),
                    form.agency,
                    *answers,
                    *(form.extras.get(field) or "" for field in extras),
                ]
            )
            written += 1
    if written != rows:
        raise BenchError(f"the generator gave {written} forms, not {rows}")


def cached_csv(rows: int) -> Path:
    path = DATA / f"import-{rows}.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        write_csv(partial, rows)
        partial.rename(path)
    return path


async def time_import(folder: Path, source: Path) -> float:
    settings = bench_settings(folder / "import.sqlite", AGENCIES)
    start = perf_counter()
    code, message = await import_responses(settings, source, datetime.now(UTC))
    seconds = perf_counter() - start
    if code != 0:
        raise BenchError(f"import-responses refused the benchmark CSV: {message[:500]}")
    return seconds


def _read_rows(source: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with source.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        header = next(reader)
        criteria = [name for name in header[2:] if name not in EXTRA_COLUMNS]
        responses: list[tuple[object, ...]] = []
        answers: list[tuple[object, ...]] = []
        for response_id, row in enumerate(reader, start=1):
            stamp = row[0]
            responses.append((response_id, row[1], stamp, stamp[:10]))
            answers += [
                (response_id, criterion, 0 if cell in ("", "NA") else int(cell))
                for criterion, cell in zip(criteria, row[2:], strict=False)
            ]
    return responses, answers


async def time_bare(folder: Path, source: Path) -> float:
    path = folder / "bare.sqlite"
    database = await Database.open(path)
    try:
        await migrate(database)
        async with database.transaction() as connection:
            await connection.executemany(
                "INSERT INTO agencies (code, name, questionnaire) VALUES (?, ?, ?)",
                [(code, code, QUESTIONNAIRE) for code in AGENCIES],
            )
    finally:
        await database.close()
    start = perf_counter()
    responses, answers = await asyncio.to_thread(_read_rows, source)
    async with aiosqlite.connect(path, isolation_level=None) as connection:
        await connection.execute("PRAGMA synchronous=FULL")
        await connection.execute("BEGIN")
        await connection.executemany(
            "INSERT INTO responses (id, agency, questionnaire, channel, status, position, "
            f"started_at, updated_at, completed_at, day) VALUES (?, ?, '{QUESTIONNAIRE}', "
            "'paper', 'completed', 25, ?3, ?3, ?3, ?4)",
            responses,
        )
        await connection.executemany(
            "INSERT INTO answers (response_id, criterion, value) VALUES (?, ?, ?)", answers
        )
        await connection.execute("COMMIT")
    return perf_counter() - start


async def run(quick: bool) -> list[Figure]:
    runs = 2 if quick else 3
    source = await asyncio.to_thread(cached_csv, ROWS)
    imports: list[float] = []
    bare: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="sipas-bench-") as name:
            imports.append(ROWS / await time_import(Path(name), source))
            bare.append(ROWS / await time_bare(Path(name), source))
    return [
        figure(
            "import.rows_per_s",
            median(imports),
            "rows/s",
            runs=runs,
            baseline=("bare csv + executemany rows/s", median(bare)),
        )
    ]
