"""What each chat channel can do; renderers and the conversation read this, never a name test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Capabilities:
    """One channel's abilities, as the survey needs to know them."""

    buttons: bool  # choices as buttons (else numbered lines answered by typing the number)
    edits: bool  # a sent message can be rewritten (the pressed question shows its answer)
    text_limit: int  # longest message, in UTF-16 code units (the stricter of the readings)
    deep_links: bool  # a link can carry a start payload (else the citizen types the code)
    photos: Literal["upload", "url", "none"]  # how a chart can be sent
    ids: Literal["int", "text"]  # how the channel's user ids look
    echo: bool = False  # no edits: confirm the answer in a line of its own (costs nothing here)


TELEGRAM = Capabilities(
    buttons=True, edits=True, text_limit=4096, deep_links=True, photos="upload", ids="int"
)
# Zalo Bot Platform: text only, 2,000 characters, photos by public URL (reference/zalo.md).
ZALO = Capabilities(
    buttons=False, edits=False, text_limit=2000, deep_links=False, photos="url", ids="text"
)
# Zalo Official Account: `oa.query.hide` buttons that come back as typed text, no edits,
# 2,000 characters, no chart (an image needs an upload API the channel does not use yet).
ZALO_OA = Capabilities(
    buttons=True, edits=False, text_limit=2000, deep_links=False, photos="none", ids="text"
)
TERMINAL = Capabilities(
    buttons=False,
    edits=False,
    text_limit=100_000,
    deep_links=False,
    photos="none",
    ids="text",
    echo=True,
)
# The bot's web page: a form per question, buttons as submit buttons; a page is rewritten
# whole rather than edited, and the address itself carries the agency (a "deep link").
WEB = Capabilities(
    buttons=True, edits=False, text_limit=100_000, deep_links=True, photos="url", ids="text"
)
CHANNELS = {
    "telegram": TELEGRAM,
    "zalo": ZALO,
    "zalo_oa": ZALO_OA,
    "terminal": TERMINAL,
    "web": WEB,
}


def capabilities(channel: str) -> Capabilities:
    """A known channel's capabilities (a KeyError names an unknown one: add it above)."""
    return CHANNELS[channel]


def utf16_length(text: str) -> int:
    """Length as UTF-16 code units: emoji count twice, Vietnamese letters once."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """Split a long text at line breaks into messages of at most `limit` UTF-16 units.

    A line longer than the limit is cut; no message starts or ends with a line break.
    """
    parts: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        while utf16_length(line) > limit:
            head = _prefix(line, limit)
            if current is not None:
                parts.append(current)
                current = None
            parts.append(head)
            line = line[len(head) :]
        joined = line if current is None else f"{current}\n{line}"
        if utf16_length(joined) > limit:
            parts.append(current or "")
            current = line
        else:
            current = joined
    if current is not None:
        parts.append(current)
    kept = [part.strip("\n") for part in parts if part.strip("\n")]
    return kept or [""]


def _prefix(line: str, limit: int) -> str:
    """The longest prefix of `line` within `limit` units, never splitting a surrogate pair."""
    used = 0
    for index, char in enumerate(line):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return line[:index]
    return line
