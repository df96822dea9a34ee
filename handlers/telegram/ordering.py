"""Concurrent update processing that handles each person's own updates in order.

A person's updates wait for their turn *before* taking one of the shared processing slots, and a
person may have only a few updates queued: a flood from one account is dropped at the door and
never slows down anybody else.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)
MAX_QUEUED_PER_PERSON = 8


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Many people at once, one update at a time per person, a bounded queue per person.

    PTB's own semaphore (taken before `do_process_update`) is set high, as a memory guard only;
    the real limit on concurrent work is taken *after* the person's turn has come, so people
    waiting behind their own earlier updates hold no slot.
    """

    def __init__(
        self, max_concurrent_updates: int, max_queued_per_person: int = MAX_QUEUED_PER_PERSON
    ) -> None:
        super().__init__(max_concurrent_updates * (max_queued_per_person + 1))
        self._working = asyncio.Semaphore(max_concurrent_updates)
        self._max_queued = max_queued_per_person
        self._locks: dict[int, asyncio.Lock] = {}
        self._queued: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            async with self._working:
                await coroutine
            return
        if self._queued.get(user.id, 0) >= self._max_queued:
            if inspect.iscoroutine(coroutine):
                coroutine.close()  # dropped on purpose: never run, never "not awaited"
            log.info("dropped an update from a flooding account")
            return
        lock = self._locks.setdefault(user.id, asyncio.Lock())
        self._queued[user.id] = self._queued.get(user.id, 0) + 1
        try:
            async with lock, self._working:
                await coroutine
        finally:
            self._queued[user.id] -= 1
            if self._queued[user.id] == 0:  # forget idle people so the maps stay small
                del self._queued[user.id]
                del self._locks[user.id]

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""
