"""Logging set-up: readable lines, quiet libraries, and no secret ever written out."""

from __future__ import annotations

import logging
from collections.abc import Iterable

# Libraries whose debug output carries Bot API URLs (with the token) or citizens' updates.
QUIET = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "telegram": logging.INFO}
QUIET_ALWAYS = {"aiosqlite": logging.INFO}
REDACTED = "<redacted>"


class Redact(logging.Filter):
    """Replaces secrets in every record, whatever logged it (a traceback included)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, REDACTED)
            record.msg, record.args, record.exc_info, record.exc_text = message, None, None, None
        return True


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name, level in {**QUIET, **QUIET_ALWAYS}.items():
        logging.getLogger(name).setLevel(level)


def redact(secrets: Iterable[str]) -> None:
    """Install the redaction on every handler of the root logger."""
    guard = Redact(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(guard)
