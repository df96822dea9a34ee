"""Storage faults: a locked, read-only, full or corrupt database.

While the bot runs (in process, the real PTB Application faked only at the network by
`tests.soak.TelegramRules`), a write that the database refuses must leave the citizen told to
try again (the error text, never "thank you" or the next question), nothing half-stored, the
bot serving others, and a press after the fault works. At start-up (the real `python -m bot run`
against the Bot API emulator), an unusable database file ends the process with one clear line
naming the file, no traceback.

How each fault is made:
- locked: another process holds `BEGIN EXCLUSIVE` on the file. The bot's busy timeout is
  shortened from 5 s to 0.3 s on its connection (`Database` internals) to keep the test fast.
- read-only while running: chmod changes nothing for the bot's already-open file descriptors
  (and nothing at all for root), so the test makes the database file, its WAL and the folder
  immutable with `chattr +i`, which fails every write through the open descriptors with EPERM
  like a read-only remount does. The -shm file is left alone: SQLite maps it into memory, and
  an immutable mapping kills the process with SIGBUS. Needs root and a file system with the
  flag (ext4); skipped otherwise. At start-up, the same flags as root, or chmod 0444/0555
  otherwise.
- full: `PRAGMA max_page_count` on the bot's own connection (`Database` internals) caps the
  file at its current size, so the next write that needs a page fails with SQLITE_FULL.
- corrupt: garbage bytes, a truncated file, and a real database with pages overwritten.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import AgencyEntry, Settings, TelegramSection
from bot.services import Services
from bot.telegram_app import build_application, on_shutdown, on_startup, services_of
from storage.imports import store_paper_responses
from survey.flow import steps
from survey.paper import PaperResponse
from survey.texts import say
from tests.botapi_emulator import BotApiEmulator
from tests.e2e_support import ROOT
from tests.soak import CATALOGUE, write_bot_config
from tests.telegram_fakes import TelegramRules, buttons_of, feed, press_update, text_update

A, B = 6_200_000_001, 6_200_000_002
ERROR = say("vi", "error")
SIPAS = CATALOGUE["sipas-2023"]


@asynccontextmanager
async def running(folder: Path) -> AsyncIterator[tuple[Any, TelegramRules, Services]]:
    base = Settings(
        telegram=TelegramSection(token="123:TEST"),  # type: ignore[arg-type]
        agencies=(AgencyEntry(code="ubnd_xa_a", name="UBND xã A"),),
    )
    storage = base.storage.model_copy(update={"path": folder / "sipas.sqlite"})
    request = TelegramRules()
    app = build_application(
        base.model_copy(update={"storage": storage}), request=request, rate_limiter=False
    )
    async with app:
        await on_startup(app)
        try:
            yield app, request, services_of(app)
        finally:
            await on_shutdown(app)


def buttons(request: TelegramRules, user_id: int) -> list[tuple[str, str]]:
    for call in reversed(request.to_chat(user_id)):
        if found := buttons_of(call.params.get("reply_markup")):
            return found
    return []


async def press(app: Any, request: TelegramRules, user_id: int, prefix: str) -> str:
    data = next(d for label, d in buttons(request, user_id) if label.startswith(prefix))
    await feed(app, press_update(user_id, data))
    return data


async def begin(app: Any, request: TelegramRules, user_id: int) -> None:
    await feed(app, text_update(user_id, "/start ubnd_xa_a"))
    await press(app, request, user_id, buttons(request, user_id)[0][0])  # consent


def outcome(request: TelegramRules, user_id: int, since: int) -> tuple[list[str], list[str]]:
    """(callback notices, message texts) the citizen got from call number `since` on."""
    notices = [
        str(c.params.get("text"))
        for c in request.calls[since:]
        if c.method == "answerCallbackQuery"
    ]
    texts = [str(c.params.get("text")) for c in request.to_chat(user_id, since)]
    return notices, texts


def answers(database: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT criterion, value FROM answers ORDER BY 1").fetchall()


def told_to_try_again(notices: list[str], texts: list[str]) -> None:
    assert ERROR in notices + texts, (notices, texts)
    assert not any(t.startswith(("Câu ", "Cảm ơn Ông/Bà đã dành")) for t in texts), texts


# -- locked -------------------------------------------------------------------------------------


@contextlib.contextmanager
def locked_by_another_process(database: Path) -> Iterator[None]:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"db = sqlite3.connect({str(database)!r}, isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        assert holder.stdout is not None
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()  # left open, the pipe leaked until a later test's gc found it


async def test_a_locked_database_asks_to_try_again_then_works(tmp_path: Path) -> None:
    async with running(tmp_path) as (app, request, services):
        await services.database._connection.execute("PRAGMA busy_timeout = 300")
        await begin(app, request, A)
        database = tmp_path / "sipas.sqlite"
        with locked_by_another_process(database):
            since = len(request.calls)
            data = await press(app, request, A, "4")
            told_to_try_again(*outcome(request, A, since))
            since = len(request.calls)
            await feed(app, text_update(B, "/start ubnd_xa_a"))  # a new survey needs a write
            told_to_try_again(*outcome(request, B, since))
        assert answers(database) == []
        since = len(request.calls)
        await feed(app, press_update(A, data))  # the same button again
        notices, texts = outcome(request, A, since)
        assert notices == ["None"]
        assert texts[-1].startswith("Câu 2/19")
        assert answers(database) == [("access_1", 4)]
        await begin(app, request, B)
        assert buttons(request, B)[0][0].startswith("1 ")
    assert request.refused == []


# -- read-only ----------------------------------------------------------------------------------


def immutable_supported(folder: Path) -> str | None:
    """Why `chattr +i` cannot be used here, or None when it can."""
    if os.geteuid() != 0:
        return "making open files read-only needs root (chattr +i); chmod leaves open fds writable"
    probe = folder / "probe"
    probe.write_bytes(b"x")
    try:
        done = subprocess.run(["chattr", "+i", str(probe)], capture_output=True, timeout=10)
    except FileNotFoundError:
        return "chattr is not installed"
    if done.returncode != 0:
        return f"the file system refuses chattr +i: {done.stderr.decode().strip()}"
    subprocess.run(["chattr", "-i", str(probe)], check=True, timeout=10)
    probe.unlink()
    return None


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    names = [str(p) for p in paths if p.exists()]
    subprocess.run(["chattr", "+i", *names], check=True, timeout=10)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *names], check=True, timeout=10)


async def test_a_database_made_read_only_while_running_asks_to_try_again(
    tmp_path: Path,
) -> None:
    if (why := immutable_supported(tmp_path)) is not None:
        pytest.skip(why)
    database = tmp_path / "sipas.sqlite"
    async with running(tmp_path) as (app, request, _):
        await begin(app, request, A)
        await begin(app, request, B)
        wal = database.with_name(database.name + "-wal")
        with immutable(database, wal, tmp_path):
            since = len(request.calls)
            data = await press(app, request, A, "5")
            told_to_try_again(*outcome(request, A, since))
            since = len(request.calls)
            await feed(app, text_update(B, "/start"))  # reading still works for others
            assert outcome(request, B, since)[1][-1].startswith("Ông/Bà đang làm dở")
        assert answers(database) == []
        await feed(app, press_update(A, data))
        assert answers(database) == [("access_1", 5)]
        assert request.to_chat(A)[-1].params["text"].startswith("Câu 2/19")


# -- full ---------------------------------------------------------------------------------------


def table_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        return {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                "answers",
                "extras",
                "daily_responses",
                "daily_counts",
                "daily_pairs",
                "resubmit_locks",
                "processed_updates",
            )
        }


async def test_a_full_disk_stores_nothing_half_and_keeps_serving(tmp_path: Path) -> None:
    database = tmp_path / "sipas.sqlite"
    async with running(tmp_path) as (app, request, services):
        await begin(app, request, A)
        await begin(app, request, B)
        last = len(steps(SIPAS)) - 1
        for _ in range(last - 1):  # everything but the final (optional, skippable) step
            await press(app, request, A, buttons(request, A)[0][0])
        connection = services.database._connection
        pages = (await (await connection.execute("PRAGMA page_count")).fetchone() or [0])[0]
        await connection.execute(f"PRAGMA max_page_count = {pages}")
        before = table_counts(database)
        since = len(request.calls)
        data = await press(app, request, A, buttons(request, A)[0][0])  # completes: needs pages
        told_to_try_again(*outcome(request, A, since))
        assert table_counts(database) == before  # the failed unit left nothing behind
        with sqlite3.connect(database) as db:
            assert db.execute(
                "SELECT status, position FROM responses WHERE id = 1"
            ).fetchone() == (
                "in_progress",
                last,
            )
        since = len(request.calls)
        await feed(app, text_update(B, "/start"))  # others are still served
        assert outcome(request, B, since)[1][-1].startswith("Ông/Bà đang làm dở")
        await press(app, request, B, "Tiếp tục")
        assert request.to_chat(B)[-1].params["text"].startswith("Câu 1/19")
        await connection.execute("PRAGMA max_page_count = 1073741823")  # space again
        since = len(request.calls)
        await feed(app, press_update(A, data))
        assert outcome(request, A, since)[1][-1].startswith("Cảm ơn Ông/Bà đã dành")
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT sum(responses) FROM daily_responses").fetchone() == (1,)
            assert db.execute("SELECT count(*) FROM answers").fetchone() == (19,)


# -- at start-up --------------------------------------------------------------------------------


def start_bot(config: Path, api: BotApiEmulator, timeout: float = 20.0) -> tuple[int | None, str]:
    """Run `python -m bot run` until it exits, or until it polls (it accepted the database)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            if api.calls_to("getUpdates"):
                break  # it is serving citizens on this database
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            process.kill()
        output, _ = process.communicate(timeout=10)
    return process.returncode if not api.calls_to("getUpdates") else None, output


def one_clear_line(output: str, database: Path) -> None:
    lines = [line for line in output.splitlines() if line.strip() and " INFO " not in line]
    assert "Traceback" not in output, output[-1500:]
    assert len(lines) == 1, output[-1500:]
    assert lines[0].startswith("error: ")
    assert str(database) in lines[0]


def make_real_database(folder: Path) -> Path:
    """A bot database with a few hundred paper responses, so it spans many pages."""
    import asyncio

    from storage.database import Database
    from storage.migrations import migrate

    database = folder / "sipas.sqlite"

    async def fill() -> None:
        db = await Database.open(database)
        await migrate(db)
        await db.execute_many(
            "INSERT INTO agencies (code, name, questionnaire) VALUES (?, ?, ?)",
            [("ubnd_xa_a", "UBND xã A", "sipas-2023")],
        )
        forms = [
            PaperResponse(
                line=n + 2,
                agency="ubnd_xa_a",
                questionnaire="sipas-2023",
                position=len(steps(SIPAS)),
                submitted_at=datetime(2026, 9, 1 + n % 28, 9),
                answers=dict.fromkeys(SIPAS.criterion_ids, 1 + n % 5),
                extras={"comment": f"góp ý số {n} " * 5},
            )
            for n in range(400)
        ]
        now = datetime(2026, 10, 5, tzinfo=UTC)
        await store_paper_responses(db, forms, SIPAS_ZONE, now)
        await db._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        await db.close()

    asyncio.run(fill())
    return database


SIPAS_ZONE = Settings().bot.zone


def corrupt(folder: Path, how: str) -> Path:
    database = folder / "sipas.sqlite"
    rng = random.Random(how)
    if how == "garbage":
        database.write_bytes(rng.randbytes(64 * 1024))
        return database
    make_real_database(folder)
    data = bytearray(database.read_bytes())
    if how == "truncated":
        database.write_bytes(bytes(data[: len(data) // 3 + 123]))
    else:  # pages in the middle overwritten: the header is fine, the tables are not
        middle = (len(data) // 4096 // 2) * 4096
        data[middle : middle + 8 * 4096] = rng.randbytes(8 * 4096)
        database.write_bytes(bytes(data))
    return database


@pytest.mark.parametrize(
    "how",
    [
        "garbage",
        "truncated",
        "overwritten_pages",
    ],
)
def test_a_corrupt_database_stops_the_bot_with_one_clear_line(tmp_path: Path, how: str) -> None:
    with BotApiEmulator(token="6200000009:CORRUPT") as api:
        config = write_bot_config(tmp_path, api)
        database = corrupt(tmp_path, how)
        code, output = start_bot(config, api)
    assert code is not None, "the bot started serving on a corrupt database"
    assert code != 0
    one_clear_line(output, database)


def test_a_read_only_database_at_start_up_stops_the_bot_with_one_clear_line(
    tmp_path: Path,
) -> None:
    with BotApiEmulator(token="6200000009:READONLY") as api:
        config = write_bot_config(tmp_path, api)
        database = make_real_database(tmp_path)
        root = os.geteuid() == 0
        if root and immutable_supported(tmp_path) is not None:
            pytest.skip(str(immutable_supported(tmp_path)))
        if root:
            with immutable(database, tmp_path):
                code, output = start_bot(config, api)
        else:
            database.chmod(0o444)
            tmp_path.chmod(0o555)
            try:
                code, output = start_bot(config, api)
            finally:
                tmp_path.chmod(0o755)
                database.chmod(0o644)
    assert code is not None, "the bot started serving on a read-only database"
    assert code != 0
    one_clear_line(output, database)
