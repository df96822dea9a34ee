"""Shared pieces of the Zalo tests: a config for the emulator, and a citizen who reads numbers."""

from __future__ import annotations

import asyncio
import re
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Settings, load_settings
from bot.questionnaires import load_catalogue
from bot.services import Services, open_services
from bot.zalo.channel import ZaloChannel, build_channel
from handlers.replies import pseudonym
from handlers.text.chat import TextChat
from tests.zalo_emulator import ZaloEmulator

CHOICE_LINE = re.compile(r"^(\d+) – ", re.MULTILINE)
SCALE = frozenset(range(1, 6))
SCALE_NA = frozenset(range(6))


def write_zalo_config(
    folder: Path, zalo: ZaloEmulator, *, extra: str = "", zalo_extra: str = ""
) -> Path:
    config = folder / "config.toml"
    config.write_text(
        f"""
[zalo]
token = "{zalo.token}"
base_url = "{zalo.base_url}"
media_dir = "{folder / "media"}"
{zalo_extra}

[storage]
path = "{folder / "sipas.sqlite"}"

[survey]
min_responses = 1

[privacy]
secret = "zalo-test-secret-0123456789"

[[agencies]]
code = "ubnd_xa_a"
name = "UBND xã A"

[[agencies]]
code = "so_tu_phap"
name = "Sở Tư pháp"
{extra}
""",
        encoding="utf-8",
    )
    return config


def numbers(text: str) -> frozenset[int]:
    """The choice numbers a message lists (lines beginning `N – `)."""
    return frozenset(int(n) for n in CHOICE_LINE.findall(text))


def is_statement(text: str) -> bool:
    return numbers(text) in (SCALE, SCALE_NA)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ZaloCitizen:
    """Someone on Zalo: sends a text and waits (in a thread, no sleeps) for the next reply."""

    zalo: ZaloEmulator
    user_id: str
    answers: list[int] = field(default_factory=list)

    async def say(self, text: str, replies: int = 1) -> list[str]:
        before = len(self.zalo.texts(self.user_id))
        self.zalo.send_text(self.user_id, text)
        got = await asyncio.to_thread(self.zalo.wait_for, self.user_id, before + replies, 15.0)
        return got[before:]

    def last(self) -> str:
        return self.zalo.texts(self.user_id)[-1]

    async def start(self, *answers: str, agency: str = "ubnd_xa_a") -> None:
        """Open `agency`'s survey, agree, and answer the first statements with `answers`."""
        for text in (f"/start {agency}", "1", *answers):
            await self.say(text)

    async def reach_the_comment(self) -> str:
        """From anywhere in the survey: 3 to every statement, 1 to every other step, until the
        optional comment is asked. Returns that question."""
        text = self.last()
        while "(không bắt buộc)" not in text or numbers(text) != {1}:
            (text,) = await self.say("3" if is_statement(text) else "1")
        return text

    async def take_survey(self, values: list[int], *, comment: str | None = None) -> str:
        """Answer as a checker of the UI contract would: statements with the next value,
        every other step with `1` (or the comment). Returns the final message."""
        pending = list(values)
        text = self.last()
        while "Cảm ơn" not in text and "Thank you" not in text:
            if is_statement(text):
                value = pending.pop(0)
                self.answers.append(value)
                (text,) = await self.say(str(value))
            elif comment is not None and numbers(text) == {1} and "ý kiến" in text.lower():
                (text,) = await self.say(comment)
            else:
                (text,) = await self.say("1")
        assert not pending, f"{len(pending)} values were not asked for"
        return text


NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
SECRET = "zalo-test-secret-0123456789"
CITIZEN = "e4ea2cd5189df1c3a88c"
VALUES = [5, 4, 3, 2, 1, 0, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 5, 4, 3]  # 0 = not applicable


@dataclass
class Running:
    zalo: ZaloEmulator
    settings: Settings
    services: Services
    channel: ZaloChannel


@asynccontextmanager
async def running(
    folder: Path, zalo: ZaloEmulator, *, extra: str = "", zalo_extra: str = ""
) -> AsyncIterator[Running]:
    settings = load_settings(write_zalo_config(folder, zalo, extra=extra, zalo_extra=zalo_extra))
    services = await open_services(settings)
    channel = build_channel(settings.zalo, services.text_chat("zalo"), lambda: NOW, sleep=no_wait)
    try:
        await channel.start()
        yield Running(zalo, settings, services, channel)
    finally:
        await channel.stop()
        await services.close()


async def no_wait(_: float) -> None:
    """Pauses between polls and retries, without a real clock."""
    await asyncio.sleep(0)


async def stored_answers(services: Services, user_id: str) -> dict[str, int]:
    respondent = pseudonym(SECRET, "zalo", user_id)
    rows = await services.database.fetch_all(
        "SELECT a.criterion, a.value FROM answers a JOIN responses r ON r.id = a.response_id "
        "WHERE r.respondent = ?",
        (respondent,),
    )
    found = {row["criterion"]: row["value"] for row in rows}
    order = services.catalogue["sipas-2023"].criterion_ids
    return {criterion: found[criterion] for criterion in order if criterion in found}


OFFICIAL = "0fficia1000000000000a"


def official_config(role: str = "admin", agencies: str = '"*"') -> str:
    """An `[[officials]]` entry for OFFICIAL on Zalo."""
    return f'[[officials]]\nzalo_id = "{OFFICIAL}"\nrole = "{role}"\nagencies = [{agencies}]\n'


def media_config() -> str:
    """`[zalo]` keys serving digest charts on a free local port."""
    port = free_port()
    return f'public_media_url = "http://127.0.0.1:{port}/media"\nport = {port}'


@asynccontextmanager
async def text_chat(folder: Path, zalo: ZaloEmulator) -> AsyncIterator[tuple[Services, TextChat]]:
    """The Zalo text chat over a fresh database, without a channel (tests play the network)."""
    services = await open_services(load_settings(write_zalo_config(folder, zalo)))
    try:
        yield services, services.text_chat("zalo")
    finally:
        await services.close()


def stored_by_statement(database: Path, user_id: str) -> list[tuple[str, int, int]]:
    """(response status, statement number, value) of every answer one Zalo user stored,
    read from the database file as an operator would."""
    order = load_catalogue()["sipas-2023"].criterion_ids
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT r.status, a.criterion, a.value FROM answers a "
            "JOIN responses r ON r.id = a.response_id WHERE r.respondent = ?",
            (pseudonym(SECRET, "zalo", user_id),),
        ).fetchall()
    return sorted((status, order.index(c) + 1, value) for status, c, value in rows)
