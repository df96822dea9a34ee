"""A real browser (headless Chromium, Playwright) takes the web survey on a phone-sized screen
and prints the report; skipped where no system Chromium is installed (CI installs it)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from playwright.async_api import BrowserContext, Locator, Page, Playwright, async_playwright

from bot.web.server import report_link, report_url
from survey.period import Period
from tests.test_web_survey import Form, Site, begin, close_site, open_site, post

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",  # the tests may run as root
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",  # never reach beyond 127.0.0.1
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
INSTALL = "headless Chromium not found: apt-get install -y chromium (Debian) to run these tests"


def _need_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(INSTALL)  # CI installs it (.ci/run): a missing browser is a broken machine
    pytest.skip(INSTALL)


@pytest.fixture
async def browser_site(tmp_path: Path) -> AsyncIterator[Site]:
    _need_chromium()
    opened = await open_site(tmp_path)
    yield opened
    await close_site(opened)


def assert_not_blank(path: Path) -> None:
    """A screenshot with something on it: its pixels vary (a blank page has one colour)."""
    with Image.open(path) as image:
        spread = ImageStat.Stat(image.convert("L")).stddev[0]
    assert spread > 10, f"{path} looks blank (pixel standard deviation {spread:.1f})"


async def _launch(
    playwright: Playwright, tmp_path: Path, *, javascript: bool = True
) -> BrowserContext:
    return await playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),  # a fresh user-data-dir
        executable_path=CHROMIUM,
        args=ARGS,
        headless=True,
        viewport={"width": PHONE["width"], "height": PHONE["height"]},
        java_script_enabled=javascript,
    )


def _keep(path: Path) -> None:
    """With SIPAS_SCREENSHOTS=<folder>, keep a copy (how docs/ got its pictures)."""
    folder = os.environ.get("SIPAS_SCREENSHOTS")
    if folder:
        shutil.copy(path, Path(folder) / f"web-{path.name}")


async def test_a_citizen_takes_the_survey_in_a_phone_browser_without_javascript(
    browser_site: Site, tmp_path: Path
) -> None:
    site = browser_site
    async with async_playwright() as playwright:
        context = await _launch(playwright, tmp_path, javascript=False)
        page = await context.new_page()
        await page.goto(f"{site.base}/s/so_tp")
        assert await page.get_attribute("html", "lang") == "vi"
        await _press(page, "Bắt đầu đánh giá")
        await _press(page, "Đồng ý tham gia")
        chosen: list[int] = []
        reloaded = False
        while True:
            text = await page.inner_text("main")
            if "Cảm ơn Ông/Bà đã dành thời gian" in text:
                break
            statement = re.search(r"Câu (\d+)/(\d+)", text)
            if statement:
                number = int(statement[1])
                if number == 4 and not reloaded:
                    await page.screenshot(path=tmp_path / "statement.png")
                    await page.reload()  # mid-survey: the same question comes back
                    assert "Câu 4/" in await page.inner_text("main")
                    reloaded = True
                value = 5 - number % 3
                chosen.append(value)
                await _press(page, f"{value} ·")
                continue
            if await page.locator("textarea").count():
                await page.fill("textarea", "Cần thêm chỗ ngồi chờ.")
                await _press(page, "Gửi")
                continue
            buttons = page.locator("#step button")
            await _click(page, buttons.first)
        box = await page.locator("main").bounding_box()
        assert box is not None
        assert box["width"] <= PHONE["width"]
        await page.screenshot(path=tmp_path / "thanks.png")
        await context.close()
    assert reloaded
    assert_not_blank(tmp_path / "statement.png")
    assert_not_blank(tmp_path / "thanks.png")
    _keep(tmp_path / "statement.png")
    stored = await site.rows(
        "SELECT a.criterion, a.value FROM answers a JOIN responses r ON r.id = a.response_id "
        "WHERE r.status = 'completed' AND r.channel = 'web' AND r.agency = 'so_tp'"
    )
    assert len(stored) == len(chosen)
    assert sorted(int(str(value)) for _, value in stored) == sorted(chosen)
    comment = await site.rows("SELECT value FROM extras WHERE field = 'comment'")
    assert comment == [("Cần thêm chỗ ngồi chờ.",)]


async def test_the_report_prints_in_the_browser(browser_site: Site, tmp_path: Path) -> None:
    site = browser_site
    async with site.browser() as client:  # two citizens, so the report has figures
        for _ in range(2):
            step = await begin(client)
            for value in ("5 ·", "4 ·", "5 ·", "3 ·", "5 ·"):
                step = await post(client, "/s/xa_a", step, Form(step.text).value(value))
            await post(client, "/s/xa_a", step, Form(step.text).value("Bỏ qua"))
            client.cookies.clear()
    period = Period(site.clock.now.date().replace(day=1), site.clock.now.date())
    url = report_url(site.settings, report_link("xa_a", period, None, site.clock.now))
    local = url.replace(site.settings.web.public_url or "", site.base)
    async with async_playwright() as playwright:
        context = await _launch(playwright, tmp_path)
        page = await context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        response = await page.goto(local)
        assert response is not None
        assert response.status == 200
        await page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
        await page.screenshot(path=tmp_path / "report.png", full_page=True)
        pdf = await page.pdf(format="A4")
        await context.close()
    assert requests == [local]  # nothing fetched beyond the page itself
    assert_not_blank(tmp_path / "report.png")
    _keep(tmp_path / "report.png")
    assert pdf.startswith(b"%PDF")


async def _press(page: Page, label: str) -> None:
    button = page.get_by_role("button", name=re.compile("^" + re.escape(label)))
    await _click(page, button.first)


async def _click(page: Page, button: Locator) -> None:
    async with page.expect_navigation():
        await button.click()
