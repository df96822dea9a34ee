"""Privacy: no citizen's Telegram id, name or username in the database, exports or logs; the
token and the secret in no log or error message; /forget removes the citizen entirely.

Citizens with distinctive ids, names and usernames complete surveys; the scan covers the SQLite
file with its WAL and shared-memory files, an admin's /export in CSV and XLSX (every member of
the XLSX zip, decompressed), the product's own log records at DEBUG, and the `bot.log` of real
`python -m bot run` processes, one with Bot API calls made to fail, one with `--verbose`, and
one whose token Telegram rejects.
"""

from __future__ import annotations

import gc
import io
import logging
import sqlite3
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram.request import RequestData

from bot.commands import check_config
from bot.config import (
    AgencyEntry,
    ConfigError,
    OfficialEntry,
    Settings,
    load_settings,
)
from handlers.replies import pseudonym
from storage.exports import RESPONDENT_KEY_LENGTH
from tests.chaos_emulator import ChaosEmulator
from tests.cli_support import run_cli
from tests.e2e_support import BotProcess
from tests.settings_support import make_settings
from tests.soak import CATALOGUE, SECRET, TOKEN, write_bot_config
from tests.survey_takers import SurveyTaker, plan_answers
from tests.telegram_fakes import TelegramRules, buttons_of, feed, started_bot

ADMIN = 6_300_000_001
CLOCK = datetime(2026, 10, 14, 3, 0, tzinfo=UTC)
IN_PROCESS_TOKEN = "6300000000:AAE-in-process-token-never-logged"
IN_PROCESS_SECRET = "in-process-pseudonym-secret-never-logged"


@dataclass(frozen=True)
class Person:
    user_id: int
    first_name: str
    last_name: str
    username: str

    @property
    def needles(self) -> list[str]:
        return [str(self.user_id), self.first_name, self.last_name, self.username]


CITIZENS = [
    Person(7_306_119_245, "Zebediah", "Quỳnh-Xoan", "zebediah_q_77"),
    Person(5_987_654_321, "Thục Nhiên", "Vưu", "vuu_thuc_nhien"),
    Person(6_123_450_987, "Ouyang", "Khổng Tước", "khongtuoc_ouyang"),
]


@dataclass
class Uploads(TelegramRules):
    """`TelegramRules` that keeps every uploaded file (export documents)."""

    files: list[tuple[str, bytes]] = field(default_factory=list)

    async def intercept(
        self, name: str, params: dict[str, Any], request_data: RequestData | None
    ) -> tuple[int, bytes] | None:
        if request_data is not None and request_data.contains_files:
            for name, content, *_ in request_data.multipart_data.values():
                data = content if isinstance(content, bytes) else content.read()
                self.files.append((name or "", data))
        return await super().intercept(name, params, request_data)


def settings_for(folder: Path) -> Settings:
    return make_settings(
        folder,
        telegram_token=IN_PROCESS_TOKEN,
        agencies=(AgencyEntry(code="ubnd_xa_a", name="UBND xã A"),),
        officials=(OfficialEntry(telegram_id=ADMIN, role="admin", agencies=("*",)),),
        privacy={"secret": IN_PROCESS_SECRET},
        survey={"min_responses": 1},
    )


@asynccontextmanager
async def running(folder: Path) -> AsyncIterator[tuple[Any, Uploads]]:
    request = Uploads()
    async with started_bot(settings_for(folder), request, clock=lambda: CLOCK) as app:
        yield app, request


_ids = iter(range(900_000_000, 1_000_000_000))


def sender(person: Person) -> dict[str, Any]:
    return {
        "id": person.user_id,
        "is_bot": False,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "username": person.username,
        "language_code": "vi",
    }


def chat(person: Person) -> dict[str, Any]:
    return {
        "id": person.user_id,
        "type": "private",
        "first_name": person.first_name,
        "last_name": person.last_name,
        "username": person.username,
    }


async def say_text(app: Any, person: Person, text: str | None, **extra: Any) -> None:
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": 1_790_000_000,
        "chat": chat(person),
        "from": sender(person),
        **extra,
    }
    if text is not None:
        message["text"] = text
    if text and text.startswith("/"):
        message["entities"] = [
            {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        ]
    await feed(app, {"update_id": next(_ids), "message": message})


async def press(app: Any, request: TelegramRules, person: Person, index: int = 0) -> None:
    labels = []
    for call in reversed(request.to_chat(person.user_id)):
        if labels := buttons_of(call.params.get("reply_markup")):
            break
    query = {
        "id": str(next(_ids)),
        "from": sender(person),
        "chat_instance": "ci",
        "data": labels[index][1],
        "message": {"message_id": 1, "date": 0, "chat": chat(person), "text": "…"},
    }
    await feed(app, {"update_id": next(_ids), "callback_query": query})


async def complete(app: Any, request: TelegramRules, person: Person) -> None:
    await say_text(app, person, "/lang vi")  # a respondents row, too
    await say_text(app, person, "/start ubnd_xa_a")
    while True:
        last = request.to_chat(person.user_id)[-1]
        if not buttons_of(last.params.get("reply_markup")):
            assert str(last.params["text"]).startswith("Cảm ơn"), last.params["text"]
            return
        await press(app, request, person, 3 if str(last.params["text"]).startswith("Câu") else 0)


def database_bytes(database: Path) -> bytes:
    raw = b""
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        raw += path.read_bytes() if path.exists() else b""
    return raw


def export_bytes(files: list[tuple[str, bytes]]) -> bytes:
    """Every export's content; an XLSX is a zip, so its members are read decompressed."""
    raw = b""
    for name, data in files:
        if name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                raw += b"".join(archive.read(member) for member in archive.namelist())
        else:
            raw += data
    return raw


def leaks(haystack: bytes | str, needles: list[str]) -> list[str]:
    """The needles found in the haystack."""
    raw = haystack.encode() if isinstance(haystack, str) else haystack
    return [needle for needle in needles if needle.encode() in raw]


PRODUCT_LOGGERS = ("bot", "handlers", "storage", "survey")


async def test_no_citizen_identity_in_database_exports_or_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(tmp_path) as (app, request):
        for person in CITIZENS:
            await complete(app, request, person)
        # A citizen who shares their contact card: nothing of it is kept either.
        contact = {"phone_number": "+84 912 000 777", "first_name": CITIZENS[0].first_name}
        await say_text(app, CITIZENS[0], None, contact=contact)
        admin = Person(ADMIN, "Admin", "Official", "admin_official")
        await say_text(app, admin, "/export 2026-10 csv")
        await say_text(app, admin, "/export 2026-10 xlsx")
        assert request.refused == []
    assert [name.rsplit(".", 1)[-1] for name, _ in request.files] == ["csv", "xlsx"]
    needles = [n for person in CITIZENS for n in person.needles] + ["912 000 777"]
    exported = export_bytes(request.files)
    keys = [pseudonym(IN_PROCESS_SECRET, "telegram", p.user_id) for p in CITIZENS]
    shown = [key[:RESPONDENT_KEY_LENGTH].encode() for key in keys]
    assert all(key in exported for key in shown)  # what links a citizen's rows: a short HMAC
    assert leaks(exported, needles) == []
    assert leaks(database_bytes(tmp_path / "sipas.sqlite"), needles) == []
    own = [r for r in caplog.records if r.name.split(".")[0] in PRODUCT_LOGGERS]
    assert own, "the product logged nothing at all: is the capture working?"
    lines = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in own)
    assert leaks(lines, [*needles, IN_PROCESS_TOKEN, IN_PROCESS_SECRET]) == []


async def test_forget_removes_the_citizen_and_their_share_of_the_aggregates(
    tmp_path: Path,
) -> None:
    leaving, staying = CITIZENS[0], CITIZENS[1]
    with_both = tmp_path / "both"
    with_one = tmp_path / "one"
    with_both.mkdir()
    with_one.mkdir()
    async with running(with_both) as (app, request):
        await complete(app, request, leaving)
        await complete(app, request, staying)
        await say_text(app, leaving, "/forget")
        await press(app, request, leaving, 0)  # "Xoá dữ liệu của tôi"
        assert "Đã xoá 1 phiếu" in str(request.calls[-1].params.get("text"))
    async with running(with_one) as (app, request):
        await complete(app, request, staying)
    key = pseudonym(IN_PROCESS_SECRET, "telegram", leaving.user_id)
    with sqlite3.connect(with_both / "sipas.sqlite") as db:
        for sql in (
            "SELECT count(*) FROM responses WHERE respondent = ?",
            "SELECT count(*) FROM respondents WHERE respondent = ?",
        ):
            assert db.execute(sql, (key,)).fetchone() == (0,), sql
        for table in ("answers", "extras"):
            orphans = (
                f"SELECT count(*) FROM {table} WHERE response_id NOT IN (SELECT id FROM responses)"
            )
            assert db.execute(orphans).fetchone() == (0,), table
        assert db.execute("SELECT count(*) FROM responses").fetchone() == (1,)
    assert aggregates(with_both / "sipas.sqlite") == aggregates(with_one / "sipas.sqlite")


def aggregates(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The daily tables without the rows that add up to nothing."""
    with sqlite3.connect(database) as db:
        return {
            "responses": db.execute(
                "SELECT * FROM daily_responses WHERE responses OR comments ORDER BY 1, 2, 3"
            ).fetchall(),
            "counts": db.execute(
                "SELECT * FROM daily_counts WHERE count ORDER BY 1, 2, 3, 4, 5"
            ).fetchall(),
            "pairs": db.execute(
                "SELECT * FROM daily_pairs WHERE ss OR sv OR vs OR vv ORDER BY 1, 2, 3, 4, 5"
            ).fetchall(),
        }


# -- the real process ------------------------------------------------------------------------


def run_and_read_log(folder: Path, *args: str, survey: bool = True) -> str:
    """One citizen talks to the real bot while Bot API calls fail; the run's bot.log."""
    api = ChaosEmulator(token=TOKEN)
    form = CATALOGUE["counter-5"]
    bot = BotProcess(
        write_bot_config(folder, api, questionnaire="counter-5"), folder / "bot.log", args=args
    )
    person = CITIZENS[2]
    api.profiles[person.user_id] = (f"{person.first_name} {person.last_name}", person.username)
    try:
        bot.start()
        # The reply to the first message fails (the error text goes out instead), the error
        # text is first refused with a 429 (waited out), and one poll gets a 502.
        api.fail_next("sendMessage", 500)
        api.fail_next("sendMessage", 429, retry_after=1)
        api.fail_next("getUpdates", 502)
        if survey:
            taker = SurveyTaker(
                api, person.user_id, form, plan_answers(person.user_id, form, 3), reply_timeout=4
            )
            taker.run()
            assert taker.finished, taker.failure or taker.log
        else:
            api.send_text(person.user_id, "/start ubnd_xa_a")
            api.wait_for(lambda: len(api.messages(person.user_id)) >= 1, timeout=20)
        assert bot.stop() == 0
    finally:
        if bot.process is not None and bot.process.poll() is None:
            bot.process.kill()
        api.close()
    log = (folder / "bot.log").read_text(encoding="utf-8", errors="replace")
    assert "Bot API call failed" in log  # the failure did happen, and was logged
    return log


def test_the_bot_log_of_a_run_with_failing_calls_names_no_secret_and_no_citizen(
    tmp_path: Path,
) -> None:
    log = run_and_read_log(tmp_path)
    assert leaks(log, [TOKEN, SECRET, *CITIZENS[2].needles]) == []


def test_the_verbose_bot_log_names_no_secret_and_no_citizen(tmp_path: Path) -> None:
    log = run_and_read_log(tmp_path, "--verbose", survey=False)
    assert leaks(log, [TOKEN, SECRET, *CITIZENS[2].needles]) == []


def test_a_rejected_token_is_not_printed(tmp_path: Path) -> None:
    with ChaosEmulator(token=TOKEN) as api:
        config = write_bot_config(tmp_path, api)
        wrong = TOKEN.replace("AAH", "AAX")
        config.write_text(config.read_text().replace(TOKEN, wrong), encoding="utf-8")
        done = run_cli("run", "--config", str(config))
    assert done.returncode != 0
    assert wrong not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "broken",
    [
        '[privacy]\nsecret = "{secret}"\nunknown = 1\n',
        '[privacy]\nsecret = "short"\n[telegram]\ntoken = "{token}"\nmode = "webhook"\n',
        '[telegram]\ntoken = "{token}"\nport = "not a port"\n',
        '[telegram]\ntoken = "{token}\n',  # an unterminated string: a syntax error on that line
        '[telegram]\ntoken = ["{token}"]\n[privacy]\nsecret = "{secret}"\n',
        '[privacy]\nsecret = ["{secret}"]\n',
    ],
)
def test_config_errors_never_echo_the_token_or_the_secret(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(broken.format(token=TOKEN, secret=SECRET), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(path, environ={})
    assert leaks(str(refused.value), [TOKEN, SECRET]) == []


def test_check_config_prints_neither_the_token_nor_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\n[privacy]\nsecret = "{SECRET}"\n', encoding="utf-8"
    )
    assert check_config(load_settings(path, environ={})) == 0
    shown = capsys.readouterr()
    assert "configuration is valid" in shown.out
    assert leaks(shown.out + shown.err, [TOKEN, SECRET]) == []


async def test_an_error_on_a_comment_is_logged_without_quoting_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # openpyxl's error quotes the offending cell; were a character ever to slip past the
    # cleaning, the failed /export must log where it failed, never the citizen's words.
    comment = "Cán bộ Nguyễn Văn Bê\x0b đòi tiền"
    monkeypatch.setattr("bot.files.sheets.clean_cell", lambda value: value)
    caplog.set_level(logging.DEBUG)
    async with running(tmp_path) as (app, request):
        await complete(app, request, CITIZENS[0])
        with sqlite3.connect(tmp_path / "sipas.sqlite") as db:
            db.execute("UPDATE extras SET value = ? WHERE field = 'comment'", (comment,))
        admin = Person(ADMIN, "Admin", "Official", "admin_official")
        await say_text(app, admin, "/export 2026-10 xlsx")
    # The failed workbook's row writers are closed by the export itself: nothing unraisable is
    # left for the garbage collector (pytest turns that into an error here).
    gc.collect()
    own = [r for r in caplog.records if r.name.split(".")[0] in PRODUCT_LOGGERS]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in own)
    for record in own:
        if record.exc_info and record.exc_info[1] is not None:
            logged += logging.Formatter().formatException(record.exc_info)
    assert "IllegalCharacterError" in logged  # the failure is logged, with where it was
    assert leaks(logged, ["Nguyễn Văn Bê", "đòi tiền"]) == []


@pytest.mark.parametrize("secret", [None, "change-this-secret-before-going-live"])
def test_run_with_a_token_and_the_example_secret_refuses_to_start_in_one_line(
    tmp_path: Path, secret: str | None
) -> None:
    config = tmp_path / "config.toml"
    privacy = f'[privacy]\nsecret = "{secret}"\n' if secret else ""
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "http://127.0.0.1:9/bot"\n{privacy}',
        encoding="utf-8",
    )
    done = run_cli("run", "--config", str(config))
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: {config}: privacy.secret: ")
    assert "SIPAS_SECRET" in line
    assert leaks(done.stdout + done.stderr, [TOKEN]) == []
    assert not (tmp_path / "data").exists()  # nothing was opened, nothing was stored


def test_the_terminal_chat_without_a_token_may_keep_the_example_secret(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[storage]\npath = "sipas.sqlite"\n[[agencies]]\ncode = "a"\nname = "A"\n',
        encoding="utf-8",
    )
    done = run_cli("run", "--config", str(config), "--as-user", "bob", stdin="")
    assert done.returncode == 0, done.stderr
    assert "SIPAS Bot" in done.stdout
