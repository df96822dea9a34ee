"""Citizens' free-text comments made safe to store and export, and checked for contacts."""

from __future__ import annotations

import unicodedata

# Characters that render as nothing: a comment made only of these is no comment.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u180e")
_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x85": "\n"}


def clean_comment(text: str) -> str:
    """`text` as it may be stored and written to XML: "" when nothing visible is left.

    Keeps line breaks (as `\\n`) and tabs; drops other C0/C1 controls, lone surrogates and what
    XML 1.0 cannot hold (an XLSX with a `\\x0b` in one cell cannot be written at all); composes
    (NFC, as some keyboards send NFD); trims whitespace and invisible characters at both ends.
    """
    for old, new in _LINE_BREAKS.items():
        text = text.replace(old, new)
    kept = "".join(ch for ch in text if _xml_safe(ch))
    composed = unicodedata.normalize("NFC", kept)
    start, end = 0, len(composed)
    while start < end and _invisible(composed[start]):
        start += 1
    while end > start and _invisible(composed[end - 1]):
        end -= 1
    return composed[start:end]


def clean_cell(value: str) -> str:
    """A stored string made writable to XML without trimming it (a defence for old rows)."""
    return "".join(ch for ch in value if _xml_safe(ch))


def _xml_safe(ch: str) -> bool:
    """Whether XML 1.0 can hold `ch` and it is not a control character other than \\n or \\t."""
    code = ord(ch)
    if ch in "\n\t":
        return True
    if code < 0x20 or 0x7F <= code <= 0x9F:  # C0 and C1 controls (and DEL)
        return False
    if 0xD800 <= code <= 0xDFFF:  # surrogates: only lone ones reach a str, never valid text
        return False
    return not (0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE)  # noncharacters


def _invisible(ch: str) -> bool:
    """Whitespace, format characters (zero-width space, joiners, BOM) and blank fillers."""
    if ch.isspace() or ch in _FILLERS:
        return True
    if "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef":  # variation selectors
        return True
    return unicodedata.category(ch) in {"Cf", "Cc", "Zs", "Zl", "Zp"}
