"""Per-person ordering: one person's updates in turn, different people at the same time."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update

from handlers.telegram.ordering import PerUserUpdateProcessor
from tests.telegram_fakes import text_update


def update_from(user_id: int) -> Update:
    return Update.de_json(text_update(user_id, "5"), None)


async def test_one_persons_updates_wait_for_each_other_while_others_proceed() -> None:
    processor = PerUserUpdateProcessor(16)
    release = asyncio.Event()
    order: list[str] = []

    async def handle(name: str, wait: bool) -> None:
        order.append(f"{name} start")
        if wait:
            await release.wait()
        order.append(f"{name} end")

    first = asyncio.create_task(
        processor.process_update(update_from(1), handle("alice-1", wait=True))
    )
    second = asyncio.create_task(
        processor.process_update(update_from(1), handle("alice-2", wait=False))
    )
    other = asyncio.create_task(processor.process_update(update_from(2), handle("bob", False)))
    await other  # Bob is not held up by Alice's slow update
    assert order == ["alice-1 start", "bob start", "bob end"]
    release.set()
    await asyncio.gather(first, second)
    assert order[3:] == ["alice-1 end", "alice-2 start", "alice-2 end"]


async def test_idle_people_leave_no_lock_behind() -> None:
    processor = PerUserUpdateProcessor(4)

    async def nothing() -> None:
        return None

    for user_id in range(50):
        await processor.process_update(update_from(user_id), nothing())
    locks: Any = processor._locks
    assert locks == {}


async def test_a_flood_from_one_account_is_dropped_and_does_not_block_others() -> None:
    processor = PerUserUpdateProcessor(4, max_queued_per_person=3)
    release = asyncio.Event()
    handled: list[str] = []

    async def slow(name: str) -> None:
        await release.wait()
        handled.append(name)

    async def quick(name: str) -> None:
        handled.append(name)

    flood = [
        asyncio.create_task(processor.process_update(update_from(1), slow(f"flood-{n}")))
        for n in range(50)
    ]
    await asyncio.sleep(0)
    await processor.process_update(update_from(2), quick("bob"))
    assert handled == ["bob"]  # Bob was served while the flood waited
    release.set()
    await asyncio.gather(*flood)
    assert sorted(handled[1:]) == ["flood-0", "flood-1", "flood-2"]
