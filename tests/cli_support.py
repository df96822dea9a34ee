"""Running `python -m bot ARGS` as an operator would: a child process, its output captured."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Nothing from the developer's environment (no SIPAS_* variable) reaches the command.
BARE_ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}


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
        env=BARE_ENV,
    )
