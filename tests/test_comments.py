"""Comments cleaned before they are stored and written to XLSX: table tests of the pure rules."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import pytest

from survey.comments import clean_cell, clean_comment, personal_number_in

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


PERSONAL = [
    ("Gọi tôi 0912345678 nhé", "phone"),
    ("0912 345 678", "phone"),
    ("0912.345.678", "phone"),
    ("0912-345-678", "phone"),
    ("sđt:0987654321.", "phone"),
    ("+84 912 345 678", "phone"),
    ("+84912345678", "phone"),
    ("(+84) 912 345 678", "phone"),
    ("84912345678", "phone"),
    ("(028) 3829 1234", "phone"),
    ("028 3829 1234", "phone"),
    ("số ０９１２３４５６７８", "phone"),  # full-width digits
    ("0912345678 0987654321", "phone"),
    ("CCCD 001099012345", "id_card"),
    ("CCCD: 001 099 012 345", "id_card"),
    ("CMND 182345678", "id_card"),
    ("cmnd số 024.123.456", "id_card"),
]
NOT_PERSONAL = [
    "Rất tốt, cán bộ nhiệt tình",
    "Chờ 3 tiếng, 2 lần phải quay lại",
    "Hẹn ngày 12/10/2026 nhưng 15/10/2026 mới có",
    "Ngày 12-10-2026 lúc 9:30",
    "Thủ tục 1.000894.000.00.00.H12 quá rườm rà",
    "Mã thủ tục 2.002154",
    "Hồ sơ 000.00.12.H12-261014-0001",
    "Lệ phí 150.000.000 đồng là quá cao",
    "Hết 1.500.000.000 đồng",
    "Năm 2024 2025 2026 đều vậy",
    "Gọi tổng đài 1900 1234 không ai nghe",
    "Phòng 12 tầng 3, quầy số 5",
    "",
]


@pytest.mark.parametrize(("text", "kind"), PERSONAL)
def test_phone_and_id_card_numbers_are_recognised(text: str, kind: str) -> None:
    assert personal_number_in(text) == kind


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_ordinary_sentences_dates_amounts_and_codes_are_not_personal(text: str) -> None:
    assert personal_number_in(text) is None
