"""What every benchmark shares: figures and targets, timing statistics, paths and settings."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.config import AgencyEntry, OfficialEntry, Settings, StorageSection, TelegramSection

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = BENCH / ".data"  # cached databases and files; gitignored
RESULTS = BENCH / "results.json"
QUESTIONNAIRE = "sipas-2023"
TOKEN = "123456:BENCH"
ADMIN_ID = 900_000_001
THANKS = "Cảm ơn"

_TARGET = re.compile(r"^(ratio\s*)?(<=|>=)\s*([0-9]+(?:\.[0-9]+)?)$")


class BenchError(RuntimeError):
    """The system under test did not behave as the benchmark expects (a bug, not a slow run)."""


@dataclass(frozen=True)
class Figure:
    """One measured figure, its same-run baseline and, where there is one, its target."""

    name: str
    value: float
    unit: str
    baseline_name: str | None
    baseline_value: float | None
    ratio: float | None
    target: str | None
    runs: int

    def met(self) -> bool | None:
        """Whether the target holds; None without a target."""
        if self.target is None:
            return None
        match = _TARGET.match(self.target.strip())
        if match is None:
            raise ValueError(f"cannot read target {self.target!r}")
        on_ratio, operator, limit = bool(match[1]), match[2], float(match[3])
        measured = self.ratio if on_ratio else self.value
        if measured is None:
            return False
        return measured <= limit if operator == "<=" else measured >= limit

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    runs: int,
    baseline: tuple[str, float] | None = None,
    target: str | None = None,
) -> Figure:
    """A figure with its ratio to the baseline (value / baseline) computed."""
    baseline_name, baseline_value = baseline if baseline else (None, None)
    ratio = None
    if baseline_value:
        ratio = round(value / baseline_value, 4)
    return Figure(
        name=name,
        value=_round(value),
        unit=unit,
        baseline_name=baseline_name,
        baseline_value=None if baseline_value is None else _round(baseline_value),
        ratio=ratio,
        target=target,
        runs=runs,
    )


def _round(value: float) -> float:
    """Four significant digits: more would only be noise."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, max(0, 3 - math.floor(math.log10(abs(value)))))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: a value that was actually observed."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def agency_codes(count: int) -> list[str]:
    return [f"agency_{number:03d}" for number in range(1, count + 1)]


def bench_settings(
    database: Path,
    agencies: Sequence[str],
    *,
    base_url: str | None = None,
    officials: Sequence[OfficialEntry] = (),
) -> Settings:
    """The configuration the benchmarks run the bot with: defaults, a token, these agencies."""
    telegram = TelegramSection(token=TOKEN, base_url=base_url)  # type: ignore[arg-type]
    return Settings(
        telegram=telegram,
        storage=StorageSection(path=database),
        agencies=tuple(
            AgencyEntry(code=code, name=f"UBND xã {code.rsplit('_', 1)[-1]}") for code in agencies
        ),
        officials=tuple(officials),
    )


def config_text(database: Path, agencies: Sequence[str], base_url: str, admin: int) -> str:
    """A config file for `python -m bot run`: the emulator's URLs, the database, one admin."""
    blocks = "".join(
        f'[[agencies]]\ncode = "{code}"\nname = "UBND xã {code.rsplit("_", 1)[-1]}"\n\n'
        for code in agencies
    )
    file_url = base_url.removesuffix("/bot") + "/file/bot"
    return (
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{base_url}"\n'
        f'base_file_url = "{file_url}"\n\n'
        f'[storage]\npath = "{database}"\n\n'
        '[privacy]\nsecret = "benchmark-secret-not-for-production"\n\n'
        f"{blocks}"
        f'[[officials]]\ntelegram_id = {admin}\nrole = "admin"\nagencies = ["*"]\n'
    )
