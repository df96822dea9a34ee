"""Shared pieces of the Zalo tests: a config for the emulator, and a citizen who reads numbers."""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

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
