"""Architecture rules: survey/ is pure, storage/ knows no Telegram, modules say what they are."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "survey", "storage")
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
}
CLOCK_IMPORTS = {("time", "time"), ("time", "time_ns")}


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _module_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported_roots(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every import statement, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module.split(".")[0]


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _clock_reads(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = _dotted(node.func.value)
            if owner and (owner.split(".")[-1], node.func.attr) in CLOCK_CALLS:
                yield node.lineno, f"{owner}.{node.func.attr}()"
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (node.module, alias.name) in CLOCK_IMPORTS:
                    yield node.lineno, f"from {node.module} import {alias.name}"


def test_the_package_folders_hold_modules() -> None:
    for package in PACKAGES:
        assert _modules(package), f"no modules found under {package}/"


@pytest.mark.parametrize("path", _modules("survey"), ids=_module_id)
def test_survey_modules_do_no_io(path: Path) -> None:
    forbidden = {"telegram", "aiosqlite", "sqlite3"}
    found = [
        f"line {line}: {root}" for line, root in _imported_roots(_parse(path)) if root in forbidden
    ]
    assert not found, f"{_module_id(path)} imports I/O libraries: {found}"


@pytest.mark.parametrize("path", _modules("survey"), ids=_module_id)
def test_survey_modules_never_read_the_clock(path: Path) -> None:
    found = [f"line {line}: {what}" for line, what in _clock_reads(_parse(path))]
    assert not found, f"{_module_id(path)} reads the clock (pass times in instead): {found}"


@pytest.mark.parametrize("path", _modules("storage"), ids=_module_id)
def test_storage_modules_know_nothing_of_telegram(path: Path) -> None:
    found = [line for line, root in _imported_roots(_parse(path)) if root == "telegram"]
    assert not found, f"{_module_id(path)} imports telegram at lines {found}"


@pytest.mark.parametrize(
    "path",
    [*_modules("survey"), *_modules("storage"), *_modules("handlers"), *_modules("bot")],
    ids=_module_id,
)
def test_every_module_says_what_it_is_for(path: Path) -> None:
    docstring = ast.get_docstring(_parse(path))
    assert docstring, f"{_module_id(path)} has no module docstring"
    assert docstring.strip(), f"{_module_id(path)} has an empty module docstring"


def test_the_clock_scanner_catches_the_usual_spellings() -> None:
    source = textwrap.dedent(
        """
        import datetime as dt
        from datetime import date, datetime
        from time import time
        datetime.now()
        dt.datetime.now(dt.UTC)
        date.today()
        """
    )
    found = {what for _, what in _clock_reads(ast.parse(source))}
    assert found == {
        "datetime.now()",
        "dt.datetime.now()",
        "date.today()",
        "from time import time",
    }


_IMPORT_PROBE = """
import importlib, io, logging, os, pkgutil, sys, threading, warnings

warnings.simplefilter("error")
before = set(os.listdir("."))
out, err = io.StringIO(), io.StringIO()
sys.stdout, sys.stderr = out, err
try:
    pure = []
    for name in ("survey", "storage"):
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            importlib.import_module(info.name)
            pure.append(info.name)
    telegram_after_pure = "telegram" in sys.modules
    for name in ("bot", "handlers"):
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            importlib.import_module(info.name)
finally:
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
root = logging.getLogger()
print("root handlers:", root.handlers)
print("root level:", logging.getLevelName(root.level))
print("threads:", threading.active_count())
print("new files:", sorted(set(os.listdir(".")) - before))
print("output:", repr(out.getvalue() + err.getvalue()))
print("telegram after survey+storage:", telegram_after_pure)
print("pure modules:", len(pure))
"""


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SIPAS_", "PYTHON"))}


def test_importing_the_packages_has_no_side_effects(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**_clean_environ(), "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    report = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert report["root handlers"] == "[]", "importing configured logging"
    assert report["root level"] == "WARNING", "importing changed the root log level"
    assert report["threads"] == "1", "importing started threads"
    assert report["new files"] == "[]", "importing created files in the working directory"
    assert report["output"] == "''", "importing printed something"
    assert report["telegram after survey+storage"] == "False", "survey/storage pulled in telegram"
    assert int(report["pure modules"]) >= 10


# Who may import whom ------------------------------------------------------------------------

TELEGRAM_HOMES = (
    "handlers/telegram/",
    "bot/telegram_app.py",
    "bot/telegram_webhook.py",
    "bot/__main__.py",
)
"""The Telegram adapter package and the wiring that builds, runs and reports on the Application."""
HTTPX_HOMES = ("bot/zalo/api.py", "bot/zalo_oa/api.py")
"""The Zalo client; nothing else talks HTTP itself (the Bot API goes through PTB)."""


def _imports(package: str) -> list[tuple[str, int, str]]:
    return [
        (_module_id(path), line, root)
        for path in _modules(package)
        for line, root in _imported_roots(_parse(path))
    ]


def _breaches(rule: Callable[[str, str], bool]) -> list[str]:
    return [
        f"{module}:{line} imports {root}"
        for package in PACKAGES
        for module, line, root in _imports(package)
        if rule(module, root)
    ]


def test_handlers_never_import_bot() -> None:
    assert _breaches(lambda module, root: module.startswith("handlers/") and root == "bot") == []


def test_storage_never_imports_handlers_or_bot() -> None:
    found = _breaches(lambda module, root: module.startswith("storage/") and root in PACKAGES[:2])
    assert found == []


def test_telegram_is_imported_only_by_its_adapter_and_the_wiring() -> None:
    found = _breaches(
        lambda module, root: root == "telegram" and not module.startswith(TELEGRAM_HOMES)
    )
    assert found == []


def test_httpx_is_imported_only_by_the_zalo_client() -> None:
    found = _breaches(lambda module, root: root == "httpx" and not module.startswith(HTTPX_HOMES))
    assert found == []


def test_the_rules_see_a_breach() -> None:
    # The scanner itself: a handler importing bot, at any depth, is reported.
    tree = ast.parse("def f():\n    from bot.config import Settings\n")
    assert list(_imported_roots(tree)) == [(2, "bot")]
