"""Numbers, percentages, intervals and dates written the way each language's readers expect.

Vietnamese uses a decimal comma and a thousands dot (1.234,5; 82,66%) and dd/mm/yyyy dates;
English uses 1,234.5 and ISO dates. Any language other than "vi" is written the English way.
"""

from __future__ import annotations

from datetime import date

INTERVAL_DASH = "–"
_VIETNAMESE_SEPARATORS = str.maketrans(",.", ".,")


def _is_vietnamese(language: str) -> bool:
    return language == "vi"


def format_number(value: float, language: str, digits: int = 2, *, sign: bool = False) -> str:
    """``value`` rounded to ``digits`` decimals; ``sign`` adds "+" to positive values."""
    if digits < 0:
        raise ValueError(f"digits must be >= 0, got {digits}")
    rounded = round(value, digits)
    if rounded == 0:
        # Avoid "-0,00" for a tiny negative change.
        rounded = 0.0
    text = f"{rounded:{'+' if sign and rounded != 0 else ''},.{digits}f}"
    if _is_vietnamese(language):
        text = text.translate(_VIETNAMESE_SEPARATORS)
    return text


def format_percent(value: float, language: str, digits: int = 2, *, sign: bool = False) -> str:
    """A percentage already on the 0-100 scale: vi ``82,66%``, en ``82.66%``."""
    return f"{format_number(value, language, digits, sign=sign)}%"


def format_interval(low: float, high: float, language: str, digits: int = 2) -> str:
    """A confidence interval's bounds joined by an en dash: vi ``80,10–85,00``."""
    return (
        f"{format_number(low, language, digits)}{INTERVAL_DASH}"
        f"{format_number(high, language, digits)}"
    )


def format_date(d: date, language: str) -> str:
    """vi ``31/10/2026``, en ``2026-10-31``."""
    if _is_vietnamese(language):
        return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
    return d.isoformat()
