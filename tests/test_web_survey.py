"""The citizen web page over real HTTP: the conversation as forms, and every way a post can lie."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
import tornado.httpserver
from tornado.testing import bind_unused_port

from bot.config import Settings, load_settings
from bot.services import Services, open_services
from bot.web.security import RateLimiter, form_token, form_token_ok
from bot.web.server import build_application, make_context
from handlers.codes import visit_token

SECRET = "a-web-test-secret-of-some-length"
START = datetime(2026, 10, 14, 3, 0, tzinfo=UTC)
CONFIG = f"""
[storage]
path = "data/sipas.sqlite"

[survey]
min_responses = 1

[privacy]
secret = "{SECRET}"

[web]
public_url = "http://127.0.0.1"

[[agencies]]
code = "xa_a"
name = "UBND xã A"
questionnaire = "counter-5"
public = true

[[agencies]]
code = "so_tp"
name = "Sở Tư pháp"

[[agencies]]
code = "xa_v"
name = "UBND xã V"
questionnaire = "counter-5"
visit_required = true
"""


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Site:
    base: str
    settings: Settings
    services: Services
    clock: Clock
    servers: list[tornado.httpserver.HTTPServer] = field(default_factory=list)

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, follow_redirects=True, timeout=10)

    async def rows(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        found = await self.services.database.fetch_all(sql, params)
        return [tuple(row) for row in found]


def write_config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG + extra, encoding="utf-8")
    return config


async def open_site(tmp_path: Path, requests_per_minute: int = 600) -> Site:
    settings = load_settings(write_config(tmp_path), environ={})
    services = await open_services(settings)
    clock = Clock()
    context = make_context(settings, services, clock, requests_per_minute=requests_per_minute)
    sock, port = bind_unused_port()
    server = tornado.httpserver.HTTPServer(build_application(context), xheaders=True)
    server.add_sockets([sock])
    return Site(f"http://127.0.0.1:{port}", settings, services, clock, [server])


async def close_site(site: Site) -> None:
    for server in site.servers:
        server.stop()
        await server.close_all_connections()
    await site.services.close()


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    opened = await open_site(tmp_path)
    yield opened
    await close_site(opened)


class Form(HTMLParser):
    """The page as a person sees its forms: the CSRF token, the buttons, the text box."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.csrf: str | None = None
        self.buttons: list[tuple[str, str]] = []  # (label, value)
        self.textarea = False
        self.lang: str | None = None
        self._button: str | None = None
        self._label = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        if tag == "input" and found.get("name") == "csrf":
            self.csrf = found.get("value")
        if tag == "button":
            self._button, self._label = found.get("value") or "", ""
        if tag == "textarea":
            self.textarea = True

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._label += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.buttons.append((self._label.strip(), self._button))
            self._button = None

    def value(self, label_start: str) -> str:
        return next(value for label, value in self.buttons if label.startswith(label_start))

    def answers(self) -> list[str]:
        return [value for _, value in self.buttons if value.startswith("1|a|")]


async def post(
    browser: httpx.AsyncClient, path: str, page: httpx.Response, action: str, **extra: str
) -> httpx.Response:
    form = Form(page.text)
    assert form.csrf, page.text
    return await browser.post(path, data={"csrf": form.csrf, "a": action, **extra})


async def begin(browser: httpx.AsyncClient, path: str = "/s/xa_a") -> httpx.Response:
    landing = await browser.get(path)
    assert landing.status_code == 200
    consent = await post(browser, path, landing, "start")
    assert "đồng ý tham gia" in consent.text.lower(), consent.text
    return await post(browser, path, consent, Form(consent.text).value("Đồng ý"))


async def test_a_citizen_takes_the_whole_survey_and_each_answer_is_stored(site: Site) -> None:
    async with site.browser() as browser:
        page = await begin(browser)
        assert "Câu 1/5" in page.text
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("4 ·"))
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("5 ·"))
        assert "Câu 3/5" in page.text
        # Back: question 2 again, then a different answer.
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("«"))
        assert "Câu 2/5" in page.text
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("3 ·"))
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("Không áp dụng"))
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("2 ·"))
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("5 ·"))
        assert Form(page.text).textarea  # the comment
        page = await post(browser, "/s/xa_a", page, "text", text="Cần thêm ghế <b>chờ</b>")
        assert page.status_code == 200
        assert "Cảm ơn Ông/Bà" in page.text
        assert "<b>chờ</b>" not in page.text
    answers = await site.rows(
        "SELECT a.criterion, a.value FROM answers a JOIN responses r ON r.id = a.response_id "
        "WHERE r.status = 'completed' AND r.channel = 'web' ORDER BY a.criterion"
    )
    assert sorted(int(str(value)) for _, value in answers) == [0, 2, 3, 4, 5]  # 0: not applicable
    comment = await site.rows("SELECT value FROM extras WHERE field = 'comment'")
    assert comment == [("Cần thêm ghế <b>chờ</b>",)]
    respondents = await site.rows("SELECT respondent FROM responses")
    assert all(re.fullmatch(r"[0-9a-f]{64}", str(r[0])) for r in respondents)  # a pseudonym


async def test_the_thank_you_shows_the_agency_index_when_not_suppressed(site: Site) -> None:
    async with site.browser() as browser:
        page = await begin(browser)
        for _ in range(5):
            page = await post(browser, "/s/xa_a", page, Form(page.text).value("5 ·"))
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("Bỏ qua"))
    assert "Chỉ số hài lòng của UBND xã A" in page.text  # min_responses = 1 here


async def test_reloading_or_coming_back_later_resumes_at_the_open_question(site: Site) -> None:
    async with site.browser() as browser:
        page = await begin(browser)
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("4 ·"))
        assert "Câu 2/5" in page.text
        again = await browser.get("/s/xa_a")
        assert "Câu 2/5" in again.text
        site.clock.now += timedelta(hours=5)
        later = await browser.get("/s/XA_A")  # the code as printed, any case
        assert "Câu 2/5" in later.text


async def test_a_post_without_the_form_token_is_refused_and_stores_nothing(site: Site) -> None:
    async with site.browser() as browser:
        page = await begin(browser)
        action = Form(page.text).value("4 ·")
        missing = await browser.post("/s/xa_a", data={"a": action})
        wrong = await browser.post("/s/xa_a", data={"a": action, "csrf": "0" * 32})
        assert missing.status_code == wrong.status_code == 403
        assert "Biểu mẫu đã hết hạn" in wrong.text
    assert await site.rows("SELECT * FROM answers") == []


async def test_another_browsers_token_does_not_fit_this_cookie(site: Site) -> None:
    async with site.browser() as alice, site.browser() as mallory:
        page = await begin(alice)
        action = Form(page.text).value("4 ·")
        await mallory.get("/s/xa_a")
        stolen = Form(page.text).csrf
        assert stolen
        refused = await mallory.post("/s/xa_a", data={"a": action, "csrf": stolen})
        assert refused.status_code == 403
    assert await site.rows("SELECT * FROM answers") == []


async def test_a_forged_cookie_is_a_stranger(site: Site) -> None:
    async with site.browser() as browser:
        page = await begin(browser)
        form = Form(page.text)
        signed = browser.cookies.get("sipas_visitor")
        assert signed
        forged_value = signed.replace(signed.split("|")[-1], "0" * 64)  # the signature altered
        browser.cookies.clear()
        browser.cookies.set("sipas_visitor", forged_value, domain="127.0.0.1", path="/s")
        refused = await browser.post(
            "/s/xa_a", data={"a": form.value("4 ·"), "csrf": form.csrf or ""}
        )
        assert refused.status_code == 403
        fresh = await browser.get("/s/xa_a")  # a new visitor: the landing page, not question 1
        assert "Bắt đầu đánh giá" in fresh.text
    assert await site.rows("SELECT * FROM answers") == []


async def test_a_replayed_answer_changes_nothing(site: Site) -> None:
    async with site.browser() as browser:
        page = await begin(browser)
        first = Form(page.text)
        page = await post(browser, "/s/xa_a", page, first.value("4 ·"))
        replay = await browser.post("/s/xa_a", data={"a": first.value("1 ·"), "csrf": first.csrf})
        assert replay.status_code == 200
        assert "Câu 2/5" in replay.text  # still the open question, with a notice
        assert "đã được ghi nhận trước đó" in replay.text
    assert [row[0] for row in await site.rows("SELECT value FROM answers")] == [4]


async def test_a_forged_or_garbled_action_is_refused_politely(site: Site) -> None:
    async with site.browser() as alice, site.browser() as mallory:
        page = await begin(alice)
        theirs = Form(page.text).value("4 ·")  # Alice's response id, in Mallory's post
        mine = await begin(mallory)
        for action in (theirs, "1|a|zz|1|9", "<script>", "2|a|1|1|4"):
            refused = await post(mallory, "/s/xa_a", mine, action)
            assert refused.status_code == 200
            assert "Câu 1/5" in refused.text
            assert "Nút này không còn hiệu lực" in refused.text
            assert "<script>" not in refused.text
    assert await site.rows("SELECT * FROM answers") == []


async def test_a_visit_token_starts_one_survey_and_only_one(site: Site) -> None:
    token = visit_token(SECRET, "xa_v", site.clock.now, timedelta(hours=2))
    path = f"/s/v/{token}"
    async with site.browser() as first, site.browser() as second:
        page = await begin(first, path)
        assert "Câu 1/5" in page.text
        landing = await second.get(path)
        used = await post(second, path, landing, "start")
        assert "đã được dùng" in used.text
    started = await site.rows("SELECT agency FROM responses")
    assert started == [("xa_v",)]


async def test_an_agency_that_takes_visits_asks_for_the_visit_code(site: Site) -> None:
    async with site.browser() as browser:
        landing = await browser.get("/s/xa_v")
        page = await post(browser, "/s/xa_v", landing, "start")
        assert "mã QR" in page.text or "QR" in page.text
    assert await site.rows("SELECT * FROM responses") == []


async def test_a_tampered_or_expired_visit_link_says_so(site: Site) -> None:
    token = visit_token(SECRET, "xa_v", site.clock.now, timedelta(hours=2))
    async with site.browser() as browser:
        tampered = await browser.get(f"/s/v/{token[:-4]}xa_a")
        assert tampered.status_code == 400
        site.clock.now += timedelta(hours=3)
        expired = await browser.get(f"/s/v/{token}")
        assert expired.status_code == 400
        assert "hết hạn" in expired.text


async def test_declining_stores_nothing_and_says_so(site: Site) -> None:
    async with site.browser() as browser:
        landing = await browser.get("/s/xa_a")
        consent = await post(browser, "/s/xa_a", landing, "start")
        page = await post(browser, "/s/xa_a", consent, Form(consent.text).value("Không tham gia"))
        assert "Không có thông tin nào được lưu" in page.text
    assert await site.rows("SELECT * FROM responses") == []


async def test_the_same_browser_is_asked_to_wait_before_rating_again(site: Site) -> None:
    async with site.browser() as browser:
        page = await begin(browser)
        for _ in range(5):
            page = await post(browser, "/s/xa_a", page, Form(page.text).value("5 ·"))
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("Bỏ qua"))
        landing = await browser.get("/s/xa_a")
        again = await post(browser, "/s/xa_a", landing, "start")
        assert "gần đây" in again.text


async def test_the_language_switch_turns_the_page_english(site: Site) -> None:
    async with site.browser() as browser:
        page = await begin(browser)
        assert Form(page.text).lang == "vi"
        page = await post(browser, "/s/xa_a", page, Form(page.text).value("English"))
        assert Form(page.text).lang == "en"
        assert "Q1/5" in page.text or "1/5" in page.text
        assert "Very satisfied" in page.text or "satisfied" in page.text


async def test_an_unknown_agency_or_path_is_a_404_page(site: Site) -> None:
    async with site.browser() as browser:
        for path in ("/s/nope", "/nothing/here", "/s/v/v_garbage"):
            page = await browser.get(path)
            assert page.status_code in (404, 400), path
            assert "<html" in page.text


async def test_a_body_over_the_cap_is_refused_unread(site: Site) -> None:
    async with site.browser() as browser:
        landing = await browser.get("/s/xa_a")
        form = Form(landing.text)
        big = await browser.post(
            "/s/xa_a", data={"csrf": form.csrf or "", "a": "text", "text": "x" * 40_000}
        )
        assert big.status_code == 413
    assert await site.rows("SELECT * FROM responses") == []


async def test_one_address_is_slowed_down_past_the_limit(tmp_path: Path) -> None:
    site = await open_site(tmp_path, requests_per_minute=5)
    try:
        async with site.browser() as browser:
            codes = [(await browser.get("/s/xa_a")).status_code for _ in range(7)]
            assert codes[:5] == [200] * 5
            assert codes[5:] == [429, 429]
            other = await browser.get("/s/xa_a", headers={"X-Real-IP": "10.0.0.9"})
            assert other.status_code == 200  # another citizen behind the proxy
            health = await browser.get("/healthz")
            assert health.status_code == 200  # monitoring is not rate limited
    finally:
        await close_site(site)


async def test_cookies_are_signed_httponly_and_same_site(site: Site) -> None:
    async with site.browser() as browser:
        page = await browser.get("/s/xa_a")
        header = page.headers["set-cookie"]
        assert "httponly" in header.lower()
        assert "samesite=lax" in header.lower()
        assert "default-src 'none'" in page.headers["content-security-policy"]


def test_the_rate_limit_forgets_an_address_after_its_window() -> None:
    now = [0.0]
    limiter = RateLimiter(SECRET, limit=2, window=60, clock=lambda: now[0])
    assert [limiter.allow("10.0.0.1") for _ in range(3)] == [True, True, False]
    now[0] = 61
    assert limiter.allow("10.0.0.1")
    assert "10.0.0.1" not in repr(limiter.__dict__)  # kept only as a keyed hash


def test_the_rate_limit_keeps_a_bounded_memory() -> None:
    now = [0.0]
    limiter = RateLimiter(SECRET, limit=5, window=60, clock=lambda: now[0])
    limiter.MAX_TRACKED = 10
    for number in range(10):
        limiter.allow(f"10.0.0.{number}")
    now[0] = 120
    limiter.allow("10.0.1.1")  # the table is full: the stale addresses go
    assert len(limiter.__dict__["_seen"]) == 1


def test_a_form_token_needs_both_the_cookie_and_the_token() -> None:
    token = form_token(SECRET, "visitor", "survey")
    assert form_token_ok(SECRET, "visitor", "survey", token)
    assert not form_token_ok(SECRET, "visitor", "other purpose", token)
    assert not form_token_ok(SECRET, None, "survey", token)
    assert not form_token_ok(SECRET, "visitor", "survey", None)


async def test_a_failure_inside_is_a_short_page_not_a_traceback(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    await site.services.database.close()
    async with site.browser() as browser:
        page = await browser.get("/s/xa_a")
    assert page.status_code == 500
    assert "Xin lỗi, hệ thống đang gặp sự cố" in page.text
    assert "Traceback" not in page.text
    assert "sipas_visitor" not in caplog.text  # the request's cookies are not logged
