"""Where the bot writes and what it serves: never the database or the config."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.config import ConfigError, Settings

# SQLite keeps committed answers in these beside the database until a checkpoint.
_DATABASE_COMPANIONS = ("-wal", "-shm", "-journal")


class OutputPathError(ValueError):
    """An output path a command must not write to; the message is one line for the operator."""


def protected_files(settings: Settings) -> list[Path]:
    """The files no output may replace: the database (and its journals), the config and the
    questionnaires it names."""
    database = settings.storage.path
    companions = [database.with_name(database.name + end) for end in _DATABASE_COMPANIONS]
    return [database, *companions, settings.source, *settings.survey.questionnaire_files]


def holds(folder: Path, path: Path) -> bool:
    """Whether `path` is `folder` or lies anywhere below it (links followed)."""
    return path.resolve().is_relative_to(folder.resolve())


def check_output(out: Path, settings: Settings, *, force: bool, folder: bool = False) -> None:
    """Refuse (OutputPathError) an `out` the command must not write to.

    A file: not a folder, not a protected file (even with `force`), not an existing file
    unless `force`. A folder (`folder=True`, the command writes new files into it): not an
    existing file, not one that holds a protected file, not a non-empty one unless `force`.
    """
    protected = protected_files(settings)
    if folder:
        if out.exists() and not out.is_dir():
            raise OutputPathError(f"{out} is a file; --out takes a folder to write into")
        if any(holds(out, path) for path in protected):
            raise OutputPathError(
                f"{out} holds the bot's database or config; choose a folder of its own"
            )
        if out.is_dir() and any(out.iterdir()) and not force:
            raise OutputPathError(f"{out} is not empty; add --force to write into it anyway")
        return
    if out.is_dir():
        raise OutputPathError(f"{out} is a folder; --out takes a file name")
    if any(_same_file(out, path) for path in protected):
        raise OutputPathError(f"{out} is the bot's database or config; choose another file")
    if out.exists() and not force:
        raise OutputPathError(f"{out} exists; add --force to overwrite it")


def check_media_dir(settings: Settings) -> None:
    """ConfigError if the chart server would publish a folder holding the database or config.

    Only chart names are served, but a folder of its own keeps a wrong guess from mattering.
    """
    zalo = settings.zalo
    if zalo.public_media_url and any(holds(zalo.media_dir, p) for p in protected_files(settings)):
        raise ConfigError(
            settings.source,
            "zalo.media_dir",
            f"{zalo.media_dir} holds the database or the config, and its files are public; "
            "give the charts a folder of their own (default data/media)",
        )


def _same_file(one: Path, other: Path) -> bool:
    if one.resolve() == other.resolve():
        return True
    try:
        return one.samefile(other)  # a hard link, or the same file by another path
    except OSError:
        return False


def may_write(out: Path, settings: Settings, *, force: bool, folder: bool = False) -> bool:
    """Whether `out` may be written; if not, says why in one line."""
    try:
        check_output(out, settings, force=force, folder=folder)
    except OutputPathError as error:
        print(f"error: {error}", file=sys.stderr)
        return False
    except OSError as error:  # e.g. a folder we may not list
        print(f"error: cannot use {out}: {error.strerror or error}", file=sys.stderr)
        return False
    return True


def cannot_write(out: Path, error: OSError) -> int:
    """Say in one line that writing `out` failed; the exit code."""
    print(f"error: cannot write {out}: {error.strerror or error}", file=sys.stderr)
    return 1
