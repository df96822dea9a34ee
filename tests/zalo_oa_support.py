"""Shared pieces of the OA tests: a config for the emulator, the channel in process, a citizen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.config import Settings, load_settings
from bot.services import Services, open_services
from bot.zalo_oa.channel import OaChannel, build_channel
from handlers.replies import pseudonym
from tests.zalo_oa_emulator import OaEmulator, Sent
from tests.zalo_support import free_port, no_wait

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
SECRET = "zalo-oa-test-secret-0123456789"
CITIZEN = "2512523625412515"
ADMIN = 1001
PATH = "/zalo-oa/webhook"


def write_oa_config(folder: Path, oa: OaEmulator, port: int, *, extra: str = "") -> Path:
    config = folder / "config.toml"
    config.write_text(
        f"""
{oa.config(port)}

[storage]
path = "{folder / "sipas.sqlite"}"

[survey]
min_responses = 1

[privacy]
secret = "{SECRET}"

[[agencies]]
code = "ubnd_xa_a"
name = "UBND xã A"

[[agencies]]
code = "so_tu_phap"
name = "Sở Tư pháp"

[[officials]]
telegram_id = {ADMIN}
role = "admin"
agencies = ["*"]
{extra}
""",
        encoding="utf-8",
    )
    return config


@dataclass
class Clock:
    """The bot's clock, moved by the test."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class OaRun:
    oa: OaEmulator
    settings: Settings
    services: Services
    channel: OaChannel
    clock: Clock
    port: int

    async def post(
        self, body: dict[str, Any], *, signature: str = "right", mac: bool = False
    ) -> httpx.Response:
        """POST an event to the listener (same event loop), as Zalo would."""
        raw, headers = self.oa.signed(body, signature=signature, mac=mac)
        async with httpx.AsyncClient() as client:
            return await client.post(
                f"http://127.0.0.1:{self.port}{PATH}", content=raw, headers=headers
            )

    def event(self, user_id: str, text: str | None = None, **kw: Any) -> dict[str, Any]:
        kw.setdefault("timestamp_ms", self.clock.ms())
        return self.oa.event(user_id, text, **kw)

    async def settle(self) -> None:
        """Wait for the replies under way (they go out after the 200)."""
        for _ in range(200):
            tasks = list(self.channel._tasks)
            if not tasks:
                return
            await asyncio.wait(tasks, timeout=10)


@asynccontextmanager
async def oa_running(
    folder: Path, oa: OaEmulator, *, extra: str = "", owner: str | None = None
) -> AsyncIterator[OaRun]:
    port = free_port()
    settings = load_settings(write_oa_config(folder, oa, port, extra=extra))
    services = await open_services(settings)
    clock = Clock()
    channel = build_channel(settings.zalo_oa, services, clock, sleep=no_wait, owner=owner)
    try:
        await channel.start()
        yield OaRun(oa, settings, services, channel, clock, port)
    finally:
        await channel.stop()
        await services.close()


@dataclass
class OaCitizen:
    """Someone on the OA: sends a text or presses a button, and reads the one reply."""

    run: OaRun
    user_id: str = CITIZEN
    seen: list[Sent] = field(default_factory=list)

    async def say(self, text: str) -> Sent:
        before = len(self.run.oa.sent(self.user_id))
        body = self.run.event(self.user_id, text)
        response = await self.run.post(body)
        assert response.status_code == 200, response.text
        await self.run.settle()
        sent = self.run.oa.sent(self.user_id)
        assert len(sent) == before + 1, [s.text[:50] for s in sent[before:]]
        reply = sent[-1]
        assert reply.reply_to == body["message"]["msg_id"]  # a reply to their own message
        self.seen.append(reply)
        return reply

    async def press(self, title_start: str) -> Sent:
        return await self.say(self.seen[-1].payload(title_start))

    @property
    def last(self) -> Sent:
        return self.seen[-1]


def is_statement(sent: Sent) -> bool:
    return [t[:1] for t in sent.titles[:5]] == ["1", "2", "3", "4", "5"]


def respondent(user_id: str = CITIZEN) -> str:
    return pseudonym(SECRET, "zalo_oa", user_id)


async def stored_values(services: Services, user_id: str = CITIZEN) -> list[int]:
    rows = await services.database.fetch_all(
        "SELECT a.criterion, a.value FROM answers a JOIN responses r ON r.id = a.response_id "
        "WHERE r.respondent = ?",
        (respondent(user_id),),
    )
    found = {row["criterion"]: row["value"] for row in rows}
    order = services.catalogue["sipas-2023"].criterion_ids
    return [found[criterion] for criterion in order if criterion in found]
