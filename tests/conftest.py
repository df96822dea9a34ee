"""Fixtures shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.zalo_emulator import ZaloEmulator


@pytest.fixture
def zalo() -> Iterator[ZaloEmulator]:
    emulator = ZaloEmulator().start()
    emulator.poll_cap = 0.2  # an idle long poll ends soon, so a clean stop is quick
    yield emulator
    emulator.stop()
