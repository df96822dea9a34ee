"""Typed answers normalised the same way on every channel: digits, full-width, keycaps, words."""

from __future__ import annotations

import unicodedata

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


def read_scale_answer(raw: str) -> int | None:
    """The 1–5 value a typed answer means, or None (`5`, `５`, `5️⃣`, `năm`, `nam`)."""
    text = raw.strip().replace(_VARIATION_SELECTOR, "").replace(_KEYCAP, "")
    text = unicodedata.normalize("NFKC", text).strip().casefold()
    if len(text) == 1 and text in "12345":
        return int(text)
    return _WORDS.get(unicodedata.normalize("NFC", text))


def fold(text: str) -> str:
    """Text for loose matching: no diacritics, đ as d, case-folded, single spaces.

    Citizens often type without diacritics ("tu phap" for "Tư pháp").
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())
