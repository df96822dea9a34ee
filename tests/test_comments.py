"""Comments cleaned before they are stored and written to XLSX: table tests of the pure rules."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import pytest

from survey.comments import clean_cell, clean_comment

NFD_NAME = unicodedata.normalize("NFD", "Thủ tục nhanh")

CLEANED = [
    ("Rất tốt", "Rất tốt"),
    ("  Rất tốt \n", "Rất tốt"),
    ("dòng 1\ndòng 2", "dòng 1\ndòng 2"),
    ("dòng 1\r\ndòng 2\rdòng 3", "dòng 1\ndòng 2\ndòng 3"),
    ("cột\tcột", "cột\tcột"),
    ("a\x0bb", "ab"),
    ("\x1b[31mđỏ\x1b[0m", "[31mđỏ[0m"),
    ("nul\x00byte", "nulbyte"),
    ("bell\x07 del\x7f c1\x85\x9fend", "bell del c1\nend"),
    ("lone \ud800 surrogate \udfff", "lone  surrogate"),
    ("non\ufffe\uffffchar", "nonchar"),
    (NFD_NAME, "Thủ tục nhanh"),
    ("\u200b\u200b", ""),
    ("\u200b \ufeff\u2060\u00a0\u3000", ""),
    ("\u3164\u115f\u2800", ""),
    ("\u200bxin chào\u200b", "xin chào"),
    ("👍🏽", "👍🏽"),
    ("👩\u200d💻 tốt", "👩\u200d💻 tốt"),
    ("", ""),
    ("   \n\t ", ""),
]


@pytest.mark.parametrize(("raw", "clean"), CLEANED)
def test_clean_comment_keeps_text_and_drops_what_xml_cannot_hold(raw: str, clean: str) -> None:
    assert clean_comment(raw) == clean


@pytest.mark.parametrize(("raw", "_"), CLEANED)
def test_a_cleaned_comment_is_valid_xml_and_stable(raw: str, _: str) -> None:
    cleaned = clean_comment(raw)
    assert ET.fromstring(f"<c>{escape(cleaned)}</c>").text in {cleaned, None}
    assert clean_comment(cleaned) == cleaned


def test_clean_cell_only_drops_what_xml_cannot_hold() -> None:
    assert clean_cell("  a\x0bb\x00 \x1b ") == "  ab  "
    assert clean_cell("  keep\tme\n") == "  keep\tme\n"
