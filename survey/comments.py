"""Citizens' free-text comments made safe to store and export, and checked for contacts."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

PersonalNumber = Literal["phone", "id_card"]

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


# Digit groups joined by single spaces, dots or dashes, not part of a longer word or number;
# "+84" may lead. A slash never joins (12/10/2026 is a date, not one number).
_NUMBER = re.compile(r"(?<![\w.+/-])(\+?)(\d+(?:[ .-]\d+)*)(?![\w/]|[.-]\d)", re.ASCII)
_AREA_CODE = re.compile(r"\((\+?\d{2,4})\)\s?")  # (028) 3829 1234, (+84) 912 345 678
_AMOUNT = re.compile(r"[1-9]\d{0,2}(?:[.,]\d{3})+")  # 150.000.000 (đồng), not an id


def personal_number_in(text: str) -> PersonalNumber | None:
    """Whether a comment seems to carry a Vietnamese phone or ID-card number, and which.

    Phones: 10 digits from 0 (11 for landlines), `+84`/`84` and 9–10 more; ID cards: CCCD 12
    digits from 0 (a province code), CMND 9 digits. Amounts (150.000.000), dates, small numbers
    and procedure codes (1.000894.000.00.00.H12) are none of these.
    """
    normal = _AREA_CODE.sub(r"\1 ", unicodedata.normalize("NFKC", text))
    for match in _NUMBER.finditer(normal):
        plus, number = match.groups()
        # The whole run, and each unbroken group (two numbers typed one after the other).
        runs = [number, *re.split(r"[ .-]", number)] if re.search(r"[ .-]", number) else [number]
        for run in runs:
            found = _kind(run, bool(plus) and run is number)
            if found is not None:
                return found
    return None


def _kind(number: str, international: bool) -> PersonalNumber | None:
    digits = re.sub(r"[ .-]", "", number)
    if international or (len(digits) == 11 and digits[:2] == "84" and digits[2] in "35789"):
        return "phone" if digits[:2] == "84" and len(digits) in (11, 12) else None
    if digits[:1] == "0" and len(digits) in (10, 11):
        return "phone"
    if digits[:1] == "0" and len(digits) == 12:
        return "id_card"
    if len(digits) == 9 and not _AMOUNT.fullmatch(number):
        return "id_card"
    return None


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
