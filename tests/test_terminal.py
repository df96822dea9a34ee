"""The terminal chat as an operator runs it: `python -m bot run` in a process, on a real file."""

from __future__ import annotations

import codecs
import os
import queue
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import pytest

from bot.config import load_settings
from bot.questionnaires import load_catalogue
from bot.services import open_services
from handlers.text.terminal import TerminalChat

CRITERIA = load_catalogue()["sipas-2023"].criterion_ids
TYPED = [(index * 3) % 5 + 1 for index in range(len(CRITERIA))]  # every value 1–5 appears
OPTIONAL_STEPS = 5
PROMPT = "> "
TIMEOUT = 20.0
CONFIG = """\
[storage]
path = "sipas.sqlite"

[privacy]
secret = "terminal-test-secret-0123456789"

[[agencies]]
code = "ubnd_xa_a"
name = "UBND xã A"
"""


class Console:
    """A running `python -m bot run`, read by a thread so that nothing blocks or sleeps."""

    def __init__(self, config: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIPAS_")}
        self._stderr = (config.parent / "stderr.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config), "--as-user", "alice"],
            cwd=config.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        self._chunks: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()
        self._pending = ""

    def _pump(self) -> None:
        assert self.process.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")()
        fd = self.process.stdout.fileno()
        while chunk := os.read(fd, 4096):
            self._chunks.put(decoder.decode(chunk))
        self._chunks.put(None)

    def read_reply(self) -> str:
        """Everything printed up to the next input prompt (the prompt itself left out)."""
        while not (self._pending == PROMPT or self._pending.endswith("\n" + PROMPT)):
            try:
                chunk = self._chunks.get(timeout=TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no prompt within {TIMEOUT}s; output so far:\n{self._pending}")
            if chunk is None:
                pytest.fail(f"the bot exited early; output so far:\n{self._pending}")
            self._pending += chunk
        reply, self._pending = self._pending[: -len(PROMPT)], ""
        return reply

    def say(self, line: str) -> str:
        """Type a line; the bot's reply to it."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()
        return self.read_reply()

    def finish(self) -> int:
        """Close the input (Ctrl-D) and wait for a clean exit."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no shutdown code runs
        self.process.wait(timeout=TIMEOUT)

    def __enter__(self) -> Console:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        self._reader.join(timeout=TIMEOUT)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _stored(database: Path) -> list[tuple[int, str, str, int]]:
    """(response id, status, criterion, value) of every stored answer."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT r.id, r.status, a.criterion, a.value FROM answers a "
            "JOIN responses r ON r.id = a.response_id ORDER BY r.id, a.criterion"
        ).fetchall()
    connection.close()
    return rows


def _answer_statements(console: Console, first: int, last: int) -> str:
    """Type the planned answers to statements `first`..`last` (1-based); the last reply."""
    reply = ""
    for number in range(first, last + 1):
        reply = console.say(str(TYPED[number - 1]))
        assert f"→ {TYPED[number - 1]} · " in reply, reply
    return reply


def _finish_survey(console: Console) -> None:
    for _ in range(OPTIONAL_STEPS - 1):
        assert "(không bắt buộc)" in console.say("1")
    thanks = console.say("1")
    assert "Cảm ơn Ông/Bà đã dành thời gian" in thanks
    assert "1 – " not in thanks


def test_a_survey_typed_in_the_terminal_is_stored_as_typed(config: Path) -> None:
    with Console(config) as console:
        banner = console.read_reply()
        assert "ubnd_xa_a" in banner
        consent = console.say("/start ubnd_xa_a")
        assert "UBND xã A" in consent
        assert "1 – Đồng ý tham gia" in consent
        first = console.say("1")
        assert "Câu 1/19" in first
        assert "5 – Rất hài lòng" in first
        assert "0 – Không áp dụng" in first
        last = _answer_statements(console, 1, len(CRITERIA))
        assert "(không bắt buộc)" in last
        _finish_survey(console)
        assert console.finish() == 0
    database = config.parent / "sipas.sqlite"
    stored = _stored(database)
    assert {status for _, status, _, _ in stored} == {"completed"}
    assert {criterion: value for _, _, criterion, value in stored} == dict(
        zip(CRITERIA, TYPED, strict=True)
    )
    assert len(stored) == len(CRITERIA)
    assert b"alice" not in database.read_bytes(), "the login name must be pseudonymised"


def test_a_killed_bot_loses_no_answer_and_resumes_where_it_stopped(config: Path) -> None:
    database = config.parent / "sipas.sqlite"
    with Console(config) as console:
        console.read_reply()
        console.say("/start ubnd_xa_a")
        console.say("1")
        reply = _answer_statements(console, 1, 7)
        assert "Câu 8/19" in reply
        console.kill()
    assert [(c, v) for _, _, c, v in _stored(database)] == sorted(
        zip(CRITERIA[:7], TYPED[:7], strict=True)
    )

    with Console(config) as console:
        console.read_reply()
        resume = console.say("/start")
        assert "7/19" in resume
        assert "1 – Tiếp tục" in resume
        assert "2 – Làm lại từ đầu" in resume
        continued = console.say("1")
        assert "Câu 8/19" in continued
        assert "Câu 7/19" not in continued
        _answer_statements(console, 8, len(CRITERIA))
        _finish_survey(console)
        assert console.finish() == 0

    stored = _stored(database)
    assert len(stored) == len(CRITERIA)
    assert len({(rid, criterion) for rid, _, criterion, _ in stored}) == len(CRITERIA)
    assert {(rid, status) for rid, status, _, _ in stored} == {(stored[0][0], "completed")}
    assert {criterion: value for _, _, criterion, value in stored} == dict(
        zip(CRITERIA, TYPED, strict=True)
    )


NOW = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
async def chat(config: Path) -> AsyncIterator[TerminalChat]:
    settings = load_settings(config, environ={})
    services = await open_services(settings)
    yield TerminalChat(services.text_chat("terminal"), "bob")
    await services.close()


async def test_a_blank_line_gets_no_reply(chat: TerminalChat) -> None:
    assert await chat.handle("   \n", NOW) == ""


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        pytest.param("9", ["từ 1 đến 5", "Câu 1/19"], id="a number beyond the choices is text"),
        # Typed digits are normalised (NFKC) on every channel, so "²" answers 2.
        pytest.param("²", ["→ 2 · Không hài lòng", "Câu 2/19"], id="a superscript digit is 2"),
    ],
)
async def test_an_odd_number_at_the_first_statement(
    chat: TerminalChat, typed: str, expected: list[str]
) -> None:
    await chat.handle("/start ubnd_xa_a", NOW)
    await chat.handle("1", NOW)
    reply = await chat.handle(typed, NOW)
    for part in expected:
        assert part in reply
