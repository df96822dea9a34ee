"""The agency registry: lookups by typed code, names, scopes in config order, and name search."""

from __future__ import annotations

import pytest

from survey.agencies import Agencies, Agency

AGENCIES = Agencies(
    [
        Agency("ubnd_xa_a", "UBND xã Hòa An", "sipas-2023"),
        Agency("so_tp", "Sở Tư pháp", "sipas-2023"),
        Agency("ubnd_phuong_b", "UBND phường Sông Hiến", "counter-5"),
    ]
)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("ubnd_xa_a", "ubnd_xa_a"), ("  UBND_XA_A ", "ubnd_xa_a"), ("so", None), ("", None)],
)
def test_find_reads_a_typed_code_whatever_its_case(typed: str, code: str | None) -> None:
    found = AGENCIES.find(typed)
    assert (found.code if found else None) == code


def test_name_falls_back_to_the_code_of_an_agency_no_longer_configured() -> None:
    assert AGENCIES.name("so_tp") == "Sở Tư pháp"
    assert AGENCIES.name("gone") == "gone"


def test_within_keeps_config_order_and_drops_unknown_codes() -> None:
    assert AGENCIES.within(None) == ["ubnd_xa_a", "so_tp", "ubnd_phuong_b"]
    assert AGENCIES.within(["ubnd_phuong_b", "gone", "ubnd_xa_a"]) == [
        "ubnd_xa_a",
        "ubnd_phuong_b",
    ]


@pytest.mark.parametrize(
    ("typed", "codes"),
    [
        ("hoa an", ["ubnd_xa_a"]),  # without diacritics
        ("UBND", ["ubnd_xa_a", "ubnd_phuong_b"]),
        ("tòa án", []),  # a search that finds nothing
        ("Xin chào", None),  # a greeting is no search
        ("3", None),  # nor a number
        ("👍", None),
    ],
)
def test_search_by_name(typed: str, codes: list[str] | None) -> None:
    found = AGENCIES.search(typed)
    assert (None if found is None else [a.code for a in found]) == codes
