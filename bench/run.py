"""`python -m bench.run [--quick] [--only NAME ...]`: run the benchmarks, print, write JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter

from bench import answer_path, calls, digest, importing, memory, postgres, queries, zalo
from bench.common import RESULTS, Figure

Bench = Callable[[bool], Awaitable[list[Figure]]]
# Cheap ones first, so that a failure in them shows before the long builds.
BENCHES: dict[str, Bench] = {
    "calls": calls.run,
    "answer_path": answer_path.run,
    "zalo": zalo.run,
    "import": importing.run,
    "queries": queries.run,
    "memory": memory.run,
    "digest": digest.run,
    "postgres": postgres.run,
}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes (10k and 100k) and fewer runs"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(BENCHES),
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHES)}",
    )
    return parser.parse_args(argv)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def table(figures: Sequence[Figure]) -> str:
    header = ("name", "value", "unit", "baseline", "ratio", "target", "met?", "baseline is")
    rows = [header]
    for f in figures:
        met = f.met()
        rows.append(
            (
                f.name,
                _cell(f.value),
                f.unit,
                _cell(f.baseline_value),
                _cell(f.ratio),
                f.target or "",
                "" if met is None else ("yes" if met else "NO"),
                f.baseline_name or "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> list[Figure]:
    figures: list[Figure] = []
    for name, bench in BENCHES.items():
        if args.only and name not in args.only:
            continue
        print(f"{name} …", flush=True)
        start = perf_counter()
        found = await bench(args.quick)
        print(f"  {name}: {len(found)} figure(s) in {perf_counter() - start:.0f} s", flush=True)
        figures += found
    return figures


def cli(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    start = perf_counter()
    figures = asyncio.run(main(args))
    elapsed = perf_counter() - start
    RESULTS.write_text(
        json.dumps([f.as_json() for f in figures], ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    print()
    print(table(figures))
    print()
    verdicts = [f.met() for f in figures if f.target is not None]
    print(
        f"targets met: {sum(bool(v) for v in verdicts)} of {len(verdicts)}; "
        f"cores: {os.cpu_count()}; mode: {'quick' if args.quick else 'full'}; "
        f"took {elapsed:.0f} s; wrote {RESULTS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(cli())
