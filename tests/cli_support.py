"""Running `python -m bot ARGS` as an operator would: a child process, its output captured."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def clean_env() -> dict[str, str]:
    """This environment without any SIPAS_* variable of the developer's; the rest stays, so
    that coverage measures the child too."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("SIPAS_")}
    return {**kept, "PYTHONPATH": str(ROOT)}


def run_cli(
    *args: str, cwd: Path = ROOT, memory: int | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` in `cwd`, reading `stdin`; `memory` caps the child's address
    space (bytes)."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        preexec_fn=limit,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=clean_env(),
    )
