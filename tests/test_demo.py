"""The demo: seeded synthetic data, the ranking, and the files an operator is shown."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import openpyxl

from bot.config import load_settings
from bot.files.demo import AGENCIES, GROUPS, _write_config, run_demo, summary

TODAY = date(2026, 11, 27)


async def test_the_demo_is_the_same_every_run_and_writes_its_files(tmp_path: Path) -> None:
    said: list[str] = []
    first = await run_demo(tmp_path / "a", today=TODAY, responses=900, say=said.append)
    second = await run_demo(tmp_path / "b", today=TODAY, responses=900, say=lambda _: None)
    assert first.responses == second.responses
    assert 700 < first.responses < 1100
    report_a = json.loads((tmp_path / "a" / "report.json").read_text("utf-8"))
    report_b = json.loads((tmp_path / "b" / "report.json").read_text("utf-8"))
    assert report_a == report_b
    assert report_a["from"] == "2026-10-01"
    assert report_a["to"] == "2026-10-31"
    ranking = "\n".join(said)
    assert "Kỳ: 01/10/2026 – 31/10/2026" in ranking
    assert "chưa đủ phiếu" in ranking  # a few agencies stay below min_responses
    # Departments and the provincial centre are ranked apart from the communes and wards.
    departments = ranking.index("■ Sở, ban, ngành và Trung tâm Phục vụ hành chính công tỉnh")
    communes = ranking.index("■ Xã, phường")
    assert departments < ranking.index("Trung tâm Phục vụ hành chính công tỉnh Cao Bằng\n")
    assert departments < ranking.index("Sở Tư pháp") < communes
    assert communes < ranking.index("UBND phường Thục Phán") < ranking.index("Cần ít nhất")
    assert ranking.count("SIPAS chung của nhóm:") == 2
    workbook = openpyxl.load_workbook(tmp_path / "a" / "export-2026-10.xlsx", read_only=True)
    assert workbook.sheetnames == ["Phiếu trả lời", "Chỉ số"]
    digest = (tmp_path / "a" / "digest" / "admin.txt").read_text("utf-8")
    assert digest.startswith("Bản tin SIPAS hằng tuần – Tất cả cơ quan")
    assert "■ Xã, phường – SIPAS chung:" in digest
    assert (tmp_path / "a" / "digest" / "admin.png").read_bytes().startswith(b"\x89PNG")
    posters = sorted((tmp_path / "a" / "qr").glob("*.png"))
    assert len(posters) == len(AGENCIES)
    assert "sipas-demo.sqlite" in summary(first)


def test_the_demo_province_has_no_districts_or_townships_and_two_groups(tmp_path: Path) -> None:
    """Since 1 July 2025: a province and its communes and wards, nothing in between."""
    settings = load_settings(_write_config(tmp_path, "demo.sqlite"), environ={})
    assert [(g.id, g.name) for g in settings.groups] == [(id_, name) for id_, name in GROUPS]
    by_group = {
        g.id: [a.name for a in settings.agencies if a.group == g.id] for g in settings.groups
    }
    assert all(a.group is not None for a in settings.agencies)
    assert "Trung tâm Phục vụ hành chính công tỉnh Cao Bằng" in by_group["so_nganh"]
    assert all(n.startswith(("Sở ", "Trung tâm ")) for n in by_group["so_nganh"])
    assert all(n.startswith(("UBND xã ", "UBND phường ")) for n in by_group["xa_phuong"])
    names = " ".join(a.name for a in settings.agencies).casefold()
    assert "huyện" not in names
    assert "thị trấn" not in names
