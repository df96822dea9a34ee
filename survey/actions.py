"""Button payloads: compact, versioned, validated (Telegram allows 64 bytes of callback data).

Format: `1|<kind>|<fields…>`. The leading version lets a future format coexist with buttons
already sitting in citizens' chats; anything that does not parse is refused as forged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

VERSION = "1"
MAX_BYTES = 64
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_VALUE = re.compile(r"^[a-z0-9_]{1,16}$")


@dataclass(frozen=True)
class Answer:
    """An answer button of step `position` of response `response_id`."""

    response_id: int
    position: int
    value: str


@dataclass(frozen=True)
class GoBack:
    response_id: int
    position: int


@dataclass(frozen=True)
class Resume:
    response_id: int
    choice: Literal["continue", "restart"]


@dataclass(frozen=True)
class ChooseAgency:
    code: str


@dataclass(frozen=True)
class AgencyPage:
    page: int


@dataclass(frozen=True)
class Forget:
    confirmed: bool


@dataclass(frozen=True)
class SetLanguage:
    language: Literal["vi", "en"]


ButtonAction = Answer | GoBack | Resume | ChooseAgency | AgencyPage | Forget | SetLanguage


def encode(action: ButtonAction) -> str:
    """The payload string for a button."""
    match action:
        case Answer(response_id, position, value):
            fields = ["a", to_base36(response_id), str(position), value]
        case GoBack(response_id, position):
            fields = ["b", to_base36(response_id), str(position)]
        case Resume(response_id, choice):
            fields = ["r", to_base36(response_id), choice[0]]
        case ChooseAgency(code):
            fields = ["g", code]
        case AgencyPage(page):
            fields = ["p", str(page)]
        case Forget(confirmed):
            fields = ["f", "y" if confirmed else "n"]
        case SetLanguage(language):
            fields = ["l", language]
    data = "|".join([VERSION, *fields])
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"button payload over {MAX_BYTES} bytes: {data!r}")
    return data


def decode(data: str | None) -> ButtonAction | None:
    """The action a payload stands for, or None for anything malformed, foreign or forged."""
    if not data or len(data) > MAX_BYTES:
        return None
    parts = data.split("|")
    if parts[0] != VERSION or len(parts) < 2:
        return None
    try:
        return _decode_fields(parts[1], parts[2:])
    except ValueError:
        return None


def _decode_fields(kind: str, fields: list[str]) -> ButtonAction | None:
    match kind, fields:
        case "a", [rid, position, value] if _VALUE.match(value):
            return Answer(_int36(rid), _small_int(position), value)
        case "b", [rid, position]:
            return GoBack(_int36(rid), _small_int(position))
        case "r", [rid, "c" | "r" as choice]:
            return Resume(_int36(rid), "continue" if choice == "c" else "restart")
        case "g", [code] if _CODE.match(code):
            return ChooseAgency(code)
        case "p", [page]:
            return AgencyPage(_small_int(page))
        case "f", ["y" | "n" as answer]:
            return Forget(answer == "y")
        case "l", ["vi" | "en" as language]:
            return SetLanguage(language)
    return None


def to_base36(number: int) -> str:
    """Lower-case base 36, the compact number form of payloads."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


def _int36(text: str) -> int:
    if not re.fullmatch(r"[0-9a-z]{1,12}", text):
        raise ValueError(text)
    return int(text, 36)


def _small_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,4}", text):
        raise ValueError(text)
    return int(text)
