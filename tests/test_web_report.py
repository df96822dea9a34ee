"""The HTML report: `report --html`, the signed /report link, the public page, the QR poster."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
import tornado.httpserver
from tornado.testing import bind_unused_port

from bot.config import Settings, load_settings
from bot.files.report import report, write_html_report
from bot.services import Services, open_services
from bot.web.security import ReportLink, read_report_link, sign_report_link
from bot.web.server import build_application, make_context, report_link, report_url
from handlers.officials import CANONICAL, Request
from survey.numbers import format_number
from survey.period import Period
from tests.cli_support import run_cli
from tests.test_report_cli import OCTOBER, Setup
from tests.test_report_cli import setup as setup  # the fixture: three agencies' answers
from tests.test_tallies import COUNTER

TODAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
SECRET = "a-test-secret-of-some-length"


def html_args(out: Path, agency: str | None, **extra: Any) -> argparse.Namespace:
    values = {
        "html": True,
        "out": out,
        "json": False,
        "force": False,
        "agency": agency,
        "start": OCTOBER.start,
        "end": OCTOBER.end,
    }
    values.update(extra)
    return argparse.Namespace(**values)


def rows(html: str) -> list[list[str]]:
    """Every table row's cells, as text."""
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        found.append([unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells])
    return found


def percent(value: float | None) -> str:
    return "–" if value is None else f"{format_number(value, 'vi')}%"


async def write(setup: Setup, tmp_path: Path, agency: str | None, **extra: Any) -> str:
    out = tmp_path / "report.html"
    code, line = await write_html_report(setup.settings, html_args(out, agency, **extra), TODAY)
    assert code == 0, line
    return out.read_text(encoding="utf-8")


async def json_of(setup: Setup, agency: str | None) -> dict[str, Any]:
    code, text = await report(
        setup.settings,
        agency=agency,
        start=OCTOBER.start,
        end=OCTOBER.end,
        as_json=True,
        today=TODAY,
    )
    assert code == 0
    data: dict[str, Any] = json.loads(text)
    return data


async def test_the_html_report_shows_exactly_the_json_figures(
    setup: Setup, tmp_path: Path
) -> None:
    html = await write(setup, tmp_path, "xa_a")
    data = await json_of(setup, "xa_a")
    assert f"SIPAS: <strong>{percent(data['sipas'])}</strong>" in html
    assert f"n={data['responses']}" in html
    table = rows(html)
    for element in COUNTER.elements:
        figure = data["elements"][element.id]
        low, high = figure["ci95"]
        interval = f"{format_number(low, 'vi')}–{format_number(high, 'vi')}"
        expected = [element.title.vi, percent(figure["value"]), str(figure["n"]), interval]
        assert expected in table
    for number, criterion in enumerate(COUNTER.criteria, start=1):
        figure = data["criteria"][criterion.id]
        assert [str(number), criterion.text.vi, percent(figure["value"]), str(figure["n"])] == (
            next(r for r in table if r[:2] == [str(number), criterion.text.vi])[:4]
        )
    assert "Xu hướng theo tuần" in html
    assert "Xếp hạng các cơ quan" in html
    assert "Phương pháp" in html


async def test_a_suppressed_agency_shows_no_figure_as_in_the_json(
    setup: Setup, tmp_path: Path
) -> None:
    data = await json_of(setup, "xa_b")
    assert data["suppressed"] is True
    html = await write(setup, tmp_path, "xa_b")
    assert "Chưa đủ phiếu để tính chỉ số (n=2; cần ít nhất 3)" in html
    table = rows(html)
    for element in COUNTER.elements:
        assert [element.title.vi, "–", "–", ""] in table
    ranked = next(r for r in table if len(r) == 4 and r[1] == "UBND xã B")
    assert ranked == ["–", "UBND xã B", "–", "2"]


async def test_the_html_file_is_self_contained_and_made_for_a4(
    setup: Setup, tmp_path: Path
) -> None:
    html = await write(setup, tmp_path, None)
    assert "<svg" in html
    assert "size: A4" in html
    for outside in ("<script", "src=", "href=", "url(", "@import", "<link"):
        assert outside not in html, outside
    assert '<html lang="vi">' in html


async def test_the_html_report_goes_through_the_output_path_check(
    setup: Setup, tmp_path: Path
) -> None:
    existing = tmp_path / "old.html"
    existing.write_text("keep", encoding="utf-8")
    code, line = await write_html_report(setup.settings, html_args(existing, None), TODAY)
    assert code == 2
    assert "--force" in line
    assert existing.read_text(encoding="utf-8") == "keep"
    config = html_args(setup.config, None, force=True)
    code, line = await write_html_report(setup.settings, config, TODAY)
    assert code == 2
    assert "config" in line.lower()
    code, line = await write_html_report(
        setup.settings, html_args(tmp_path / "x.html", None, html=False), TODAY
    )
    assert code == 2
    assert "--html --out" in line


async def test_the_report_command_writes_html(setup: Setup, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = run_cli(
        "report", "--config", str(setup.config), "--html", "--out", str(out),
        "--agency", "so_tp", "--from", "2026-10-01", "--to", "2026-10-31",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Sở Tư pháp" in out.read_text(encoding="utf-8")
    refused = run_cli("report", "--config", str(setup.config), "--html", cwd=tmp_path)
    assert refused.returncode == 2
    assert "--out" in refused.stderr


# -- the signed link and the public page, served -------------------------------------------


@dataclass
class Served:
    base: str
    settings: Settings
    services: Services
    now: list[datetime]


def web_config(setup: Setup) -> Path:
    text = setup.config.read_text(encoding="utf-8")
    text = text.replace('code = "xa_a"\n', 'code = "xa_a"\npublic = true\n')
    text += (
        '\n[web]\npublic_url = "https://sipas.example.gov.vn"\n\n'
        '[[officials]]\ntelegram_id = 7\nagencies = ["xa_a"]\n\n'
        '[[officials]]\ntelegram_id = 8\nagencies = ["*"]\n'
    )
    setup.config.write_text(text, encoding="utf-8")
    return setup.config


@pytest.fixture
async def served(setup: Setup) -> AsyncIterator[Served]:
    settings = load_settings(web_config(setup), environ={})
    services = await open_services(settings)
    now = [NOW]
    context = make_context(settings, services, lambda: now[0])
    sock, port = bind_unused_port()
    server = tornado.httpserver.HTTPServer(build_application(context))
    server.add_sockets([sock])
    yield Served(f"http://127.0.0.1:{port}", settings, services, now)
    server.stop()
    await server.close_all_connections()
    await services.close()


async def ask(served: Served, official: int, *args: str) -> str:
    request = Request("report", args, "telegram", str(official), NOW, "vi")
    reply = await served.services.desk.handle(request)
    return reply.text


def local(served: Served, url: str) -> str:
    return url.replace(served.settings.web.public_url or "", served.base)


async def test_report_in_chat_gives_a_signed_link_to_the_same_report(served: Served) -> None:
    text = await ask(served, 7, "2026-10")
    url = re.search(r"https://\S+", text)
    assert url, text
    assert "24 giờ" in text
    async with httpx.AsyncClient() as client:
        page = await client.get(local(served, url.group()))
    assert page.status_code == 200
    assert "UBND xã A" in page.text
    # The official sees xa_a only: the ranking lists nothing else.
    assert "Sở Tư pháp" not in page.text
    assert "UBND xã B" not in page.text


async def test_a_link_for_one_agency_never_shows_another(served: Served) -> None:
    text = await ask(served, 7, "2026-10")
    url = re.search(r"https://\S+", text)
    assert url
    token = url.group().rsplit("/", 1)[1]
    altered = token.replace("xa_a", "so_tp")  # agency and scope
    widened = token.replace("~xa_a~", "~*~")  # the scope to every agency
    async with httpx.AsyncClient() as client:
        for forged in (altered, widened, token[:-1] + "0", "garbage"):
            page = await client.get(f"{served.base}/r/{forged}")
            assert page.status_code in (403, 404), forged
            assert "Sở Tư pháp" not in page.text
    out_of_scope = await ask(served, 7, "so_tp", "2026-10")
    assert "https://" not in out_of_scope


async def test_an_expired_link_is_refused(served: Served) -> None:
    text = await ask(served, 8, "so_tp", "2026-10")
    url = re.search(r"https://\S+", text)
    assert url
    async with httpx.AsyncClient() as client:
        served.now[0] = NOW + timedelta(hours=23)
        assert (await client.get(local(served, url.group()))).status_code == 200
        served.now[0] = NOW + timedelta(hours=25)
        late = await client.get(local(served, url.group()))
    assert late.status_code == 403
    assert "hết hạn" in late.text


def test_a_signed_link_reads_back_only_with_its_secret() -> None:
    link = ReportLink("xa_a", OCTOBER.start, OCTOBER.end, ("xa_a", "xa_b"), 2_000_000_000)
    token = sign_report_link(SECRET, link)
    assert read_report_link(SECRET, token, 1_900_000_000) == link
    assert read_report_link("another-secret-of-some-length", token, 0) == "tampered"
    assert read_report_link(SECRET, token, 2_000_000_001) == "expired"
    assert read_report_link(SECRET, token.replace("2026", "2025", 1), 0) == "tampered"
    bad_day = ReportLink("xa_a", OCTOBER.start, OCTOBER.end, ("xa_a",), 5)
    assert read_report_link(SECRET, sign_report_link(SECRET, bad_day)[:-33] + "~x", 0) == (
        "malformed"
    )


async def test_without_the_web_page_report_says_how_else(setup: Setup) -> None:
    text = setup.config.read_text(encoding="utf-8")
    setup.config.write_text(
        text + '\n[[officials]]\ntelegram_id = 7\nagencies = ["*"]\n', encoding="utf-8"
    )
    services = await open_services(load_settings(setup.config, environ={}))
    try:
        replies = [
            await services.desk.handle(Request(CANONICAL[word], (), "telegram", "7", NOW, "vi"))
            for word in ("report", "baocao")
        ]
    finally:
        await services.close()
    assert all("report --html" in reply.text for reply in replies)


async def test_the_public_page_shows_this_quarter_without_comments(served: Served) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{served.base}/p/xa_a")
        hidden = await client.get(f"{served.base}/p/so_tp")
    assert page.status_code == 200
    assert "SIPAS" in page.text
    assert "01/10/2026 – 31/12/2026" in page.text
    for element in COUNTER.elements:
        assert element.title.vi in page.text
    assert "Các tiêu chí" not in page.text
    assert "Xếp hạng" not in page.text
    assert "góp ý" not in page.text.lower()
    assert hidden.status_code == 404


def test_report_links_are_built_on_the_public_url(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'[privacy]\nsecret = "{SECRET}"\n[web]\npublic_url = "https://x.example/sipas/"\n',
        encoding="utf-8",
    )
    settings = load_settings(config, environ={})
    url = report_url(settings, report_link(None, Period(OCTOBER.start, OCTOBER.end), None, NOW))
    assert url.startswith("https://x.example/sipas/r/*~20261001~20261031~*~")


async def test_the_qr_command_makes_a_poster_for_the_web_page(
    served: Served, tmp_path: Path
) -> None:
    out = tmp_path / "web.svg"
    config = str(served.settings.source)
    made = run_cli("qr", "--config", config, "--agency", "xa_a", "--channel", "web",
                   "--out", str(out), cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "https://sipas.example.gov.vn/s/xa_a" in made.stdout
    assert out.stat().st_size > 1000
    visit = run_cli("qr", "--config", config, "--agency", "xa_a", "--channel", "web", "--visit",
                    "--out", str(tmp_path / "v.png"), cwd=tmp_path)  # fmt: skip
    assert visit.returncode == 0, visit.stderr
    assert "https://sipas.example.gov.vn/s/v/v_" in visit.stdout
