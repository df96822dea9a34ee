"""Errors described for a log line on every channel: type and place, never the message."""

from __future__ import annotations

import traceback
from pathlib import Path


def describe_error(error: BaseException | None) -> str:
    """An error as its type and where it was raised (innermost frame first), never its message.

    Messages quote data: openpyxl's and pydantic's quote the offending value, which may be a
    citizen's comment, and a log is read by more people than the comments are.
    """
    parts: list[str] = []
    current: BaseException | None = error
    while current is not None and len(parts) < 5:
        frames = traceback.extract_tb(current.__traceback__)[-8:]
        where = " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames[::-1])
        parts.append(f"{type(current).__module__}.{type(current).__qualname__} at {where or '?'}")
        current = current.__cause__ or current.__context__
    return "; from ".join(parts) or "no exception"
