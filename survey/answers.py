"""Typed answers normalised the same way on every channel: digits, full-width, keycaps, words."""

from __future__ import annotations

import unicodedata
from typing import Literal

Word = Literal["back", "skip", "cancel", "help"]

_WORDS = {
    "mot": 1,
    "một": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "bốn": 4,
    "tu": 4,
    "tư": 4,
    "nam": 5,
    "năm": 5,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
}
_KEYCAP = "\u20e3"
_VARIATION_SELECTOR = "\ufe0f"


# Typed instead of pressed on every channel (the only way on text-only ones), folded.
_COMMAND_WORDS: dict[str, Word] = {
    "quay lai": "back",
    "tro lai": "back",
    "back": "back",
    "bo qua": "skip",
    "skip": "skip",
    "huy": "cancel",
    "cancel": "cancel",
    "stop": "cancel",
    "huong dan": "help",
    "tro giup": "help",
    "help": "help",
}


def read_scale_answer(raw: str) -> int | None:
    """The 1–5 value a typed answer means, or None (`5`, `５`, `5️⃣`, `năm`, `nam`)."""
    value = read_number(raw)
    return value if value is not None and 1 <= value <= 5 else None


def read_number(raw: str) -> int | None:
    """A typed choice number 0–99, or None (`3`, `３`, `3️⃣`, `ba`, `12`)."""
    text = raw.strip().replace(_VARIATION_SELECTOR, "").replace(_KEYCAP, "")
    text = unicodedata.normalize("NFKC", text).strip().casefold()
    if 1 <= len(text) <= 2 and text.isascii() and text.isdigit():
        return int(text)
    return _WORDS.get(unicodedata.normalize("NFC", text))


def read_command_word(raw: str) -> Word | None:
    """`quay lại`, `bỏ qua`, `hủy`, `hướng dẫn` (with or without diacritics, en too), or None."""
    return _COMMAND_WORDS.get(fold(raw).strip(" .!"))


def fold(text: str) -> str:
    """Text for loose matching: no diacritics, đ as d, case-folded, single spaces.

    Citizens often type without diacritics ("tu phap" for "Tư pháp").
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())
