"""The Zalo Bot API client, its retries, update parsing, the [zalo] config and token secrecy."""

from __future__ import annotations

import copy
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import ConfigError, load_settings
from bot.logs import QUIET
from bot.zalo.api import BotInfo, ZaloApiError, ZaloBotApi, wait_after, with_retry
from handlers.retry import MAX_RETRY_AFTER, MAX_TRIES
from handlers.text.zalo import ZaloMessage, parse_update
from survey.channels import ZALO, utf16_length
from tests.zalo_emulator import FIXTURES, ZaloEmulator, fixture

# A distinctive token, so any leak of it (or of its secret half) is easy to spot.
ACCESS = "s3cr3t-Leak-Canary_42"
TOKEN = f"8675309:{ACCESS}"
CITIZEN = "e4ea2cd5189df1c3a88c"
HOOK_SECRET = "sipas-webhook-secret"
LIMIT = ZALO.text_limit


class Sleeps(list[float]):
    """A fake `asyncio.sleep` that only writes down how long it was asked to wait."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _no_token(text: str) -> bool:
    return TOKEN not in text and ACCESS not in text


@pytest.fixture
def zalo() -> Iterator[ZaloEmulator]:
    with ZaloEmulator(TOKEN) as emulator:
        emulator.poll_cap = 0.0  # an idle getUpdates answers 408 at once
        yield emulator


@pytest.fixture
async def api(zalo: ZaloEmulator) -> AsyncIterator[ZaloBotApi]:
    client = ZaloBotApi(TOKEN, zalo.base_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port bound but not listening: connections to it are refused."""
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield int(reserved.getsockname()[1])


def _mock_api(
    handler: Callable[[httpx.Request], httpx.Response],
    base_url: str = "https://bot-api.zaloplatforms.com",
) -> ZaloBotApi:
    return ZaloBotApi(TOKEN, base_url, transport=httpx.MockTransport(handler))


def _answer(
    status: int,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


def _from_fixture(name: str) -> Callable[[httpx.Request], httpx.Response]:
    data = fixture(name)
    return _answer(int(data["status"]), data["body"])


# ---------------------------------------------------------------- call(): URL, payload, answers


async def test_a_call_posts_json_to_bot_token_method_under_the_base_url() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"ok": True, "result": {"message_id": "m", "date": 1}})

    api = _mock_api(handler, "https://bot-api.zaloplatforms.com/")
    try:
        result = await api.call("sendMessage", {"chat_id": CITIZEN, "text": "Xin chào"})
        await api.call("getMe")
    finally:
        await api.aclose()
    assert result == {"message_id": "m", "date": 1}
    assert [r.method for r in requests] == ["POST", "POST"]
    assert str(requests[0].url) == f"https://bot-api.zaloplatforms.com/bot{TOKEN}/sendMessage"
    assert requests[0].headers["content-type"] == "application/json"
    assert json.loads(requests[0].content) == {"chat_id": CITIZEN, "text": "Xin chào"}
    assert json.loads(requests[1].content) == {}


@pytest.mark.parametrize(
    ("name", "result"),
    [
        ("getMe", fixture("getMe")["body"]["result"]),
        ("sendMessage", {"message_id": "82599fa32f56d00e8941", "date": 1749632637199}),
        ("sendPhoto", {"message_id": "82599fa32f56d00e8941", "date": 1749632637199}),
        ("sendChatAction", None),  # documented as {"ok": true} without a result
        ("setWebhook", {"url": "https://your-webhookurl.com", "updated_at": 1749538250568}),
        ("getWebhookInfo", {"url": "https://your-webhookurl.com", "updated_at": 1749538250568}),
        ("deleteWebhook", {"url": "", "updated_at": 1749538250568}),
    ],
)
async def test_documented_answers_give_their_result(name: str, result: Any) -> None:
    api = _mock_api(_from_fixture(name))
    try:
        assert await api.call(name) == result
    finally:
        await api.aclose()


@pytest.mark.parametrize(
    ("status", "body", "code", "transient"),
    [
        pytest.param(401, fixture("unauthorized-401")["body"], 401, False, id="401"),
        pytest.param(400, {"ok": False, "error_code": 400, "description": "x"}, 400, False),
        pytest.param(200, {"ok": False, "error_code": 403, "description": "x"}, 403, False),
        pytest.param(404, fixture("getWebhookInfo-none-404")["body"], 404, False, id="404"),
        pytest.param(429, {"ok": False, "description": "Too Many Requests"}, 429, True),
        pytest.param(500, {"ok": False, "error_code": 400, "description": "x"}, 500, True),
        pytest.param(503, {"ok": False}, 503, True, id="503-bare"),
    ],
)
async def test_a_refusal_is_a_zalo_api_error_with_its_code(
    status: int, body: Any, code: int, transient: bool
) -> None:
    api = _mock_api(_answer(status, body))
    try:
        with pytest.raises(ZaloApiError) as caught:
            await api.call("sendMessage", {"chat_id": CITIZEN, "text": "x"})
    finally:
        await api.aclose()
    assert caught.value.method == "sendMessage"
    assert caught.value.code == code
    assert caught.value.transient is transient
    assert str(caught.value).startswith(f"Zalo sendMessage: {code} ")


async def test_a_5xx_html_page_is_a_transient_error_not_a_crash() -> None:
    api = _mock_api(_answer(502, content=b"<html><body>Bad gateway</body></html>"))
    try:
        with pytest.raises(ZaloApiError) as caught:
            await api.call("getMe")
    finally:
        await api.aclose()
    assert (caught.value.code, caught.value.description) == (502, "not a JSON object")
    assert caught.value.transient


async def test_a_long_description_is_cut_to_200_characters() -> None:
    api = _mock_api(_answer(400, {"ok": False, "error_code": 400, "description": "é" * 5000}))
    try:
        with pytest.raises(ZaloApiError) as caught:
            await api.call("getMe")
    finally:
        await api.aclose()
    assert caught.value.description == "é" * 200


@pytest.mark.parametrize(
    ("body", "headers", "retry_after"),
    [
        pytest.param({"parameters": {"retry_after": 7}}, {}, 7.0, id="body"),
        pytest.param({}, {"Retry-After": "9"}, 9.0, id="header"),
        pytest.param({"parameters": {"retry_after": 7}}, {"Retry-After": "9"}, 7.0, id="both"),
        pytest.param({}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None, id="date"),
        pytest.param({}, {}, None, id="none"),
    ],
)
async def test_a_429_reads_retry_after_from_the_body_then_the_header(
    body: dict[str, Any], headers: dict[str, str], retry_after: float | None
) -> None:
    full = {"ok": False, "error_code": 429, "description": "Too Many Requests", **body}
    api = _mock_api(_answer(429, full, headers=headers))
    try:
        with pytest.raises(ZaloApiError) as caught:
            await api.call("sendMessage", {"chat_id": CITIZEN, "text": "x"})
    finally:
        await api.aclose()
    assert caught.value.code == 429
    assert caught.value.retry_after == retry_after


async def test_a_429_without_a_json_body_still_honours_the_retry_after_header() -> None:
    api = _mock_api(_answer(429, content=b"<html>slow down</html>", headers={"Retry-After": "7"}))
    try:
        with pytest.raises(ZaloApiError) as caught:
            await api.call("sendMessage", {"chat_id": CITIZEN, "text": "x"})
    finally:
        await api.aclose()
    assert (caught.value.code, caught.value.retry_after) == (429, 7.0)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"ok": False, "error_code": "E_LIMIT", "description": "x"}, id="code"),
        pytest.param(
            {"ok": False, "error_code": 429, "parameters": {"retry_after": [1]}}, id="ra"
        ),
    ],
)
async def test_a_malformed_error_body_is_still_a_zalo_api_error(body: dict[str, Any]) -> None:
    api = _mock_api(_answer(429, body))
    try:
        with pytest.raises(ZaloApiError):
            await api.call("getMe")
    finally:
        await api.aclose()


# ---------------------------------------------------------------- ZaloApiError and with_retry


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        *[(code, True) for code in (0, 429, 500, 502, 503, 504)],
        *[(code, False) for code in (400, 401, 403, 404, 408)],
    ],
)
def test_transient_means_429_5xx_or_network(code: int, transient: bool) -> None:
    assert ZaloApiError("sendMessage", code, "x").transient is transient


class Script:
    """A send that raises the given errors in turn, then succeeds; counts its calls."""

    def __init__(self, *errors: ZaloApiError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"message_id": "m"}


def _error(code: int, description: str = "x", retry_after: float | None = None) -> ZaloApiError:
    return ZaloApiError("sendMessage", code, description, retry_after)


async def test_with_retry_waits_retry_after_after_a_429(sleeps: Sleeps) -> None:
    send = Script(_error(429, retry_after=3))
    await with_retry(send, sleeps)
    assert (send.calls, sleeps) == (2, [3.0])


async def test_with_retry_backs_off_1_2_4_after_5xx_and_network_errors(sleeps: Sleeps) -> None:
    send = Script(_error(500), _error(0, "network error (ConnectError)"), _error(503))
    await with_retry(send, sleeps)
    assert (send.calls, sleeps) == (4, [1.0, 2.0, 4.0])


async def test_a_429_without_retry_after_backs_off_and_does_not_reset_the_backoff(
    sleeps: Sleeps,
) -> None:
    send = Script(_error(502), _error(429, retry_after=5), _error(429), _error(500))
    await with_retry(send, sleeps)
    assert sleeps == [1.0, 5.0, 2.0, 4.0]


async def test_with_retry_gives_up_after_max_tries_with_the_last_error(sleeps: Sleeps) -> None:
    errors = [_error(500, f"try {n}") for n in range(1, MAX_TRIES + 1)]
    send = Script(*errors, _error(500, "never reached"))
    with pytest.raises(ZaloApiError) as caught:
        await with_retry(send, sleeps)
    assert caught.value is errors[-1]
    assert send.calls == MAX_TRIES == 5
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize("code", [400, 401, 403, 404])
async def test_a_permanent_refusal_raises_at_once(sleeps: Sleeps, code: int) -> None:
    send = Script(_error(code))
    with pytest.raises(ZaloApiError) as caught:
        await with_retry(send, sleeps)
    assert caught.value.code == code
    assert (send.calls, sleeps) == (1, [])


async def test_a_retry_after_beyond_the_cap_raises_instead_of_waiting(sleeps: Sleeps) -> None:
    send = Script(_error(429, retry_after=MAX_RETRY_AFTER + 1))
    with pytest.raises(ZaloApiError):
        await with_retry(send, sleeps)
    assert (send.calls, sleeps) == (1, [])
    await with_retry(Script(_error(429, retry_after=MAX_RETRY_AFTER)), sleeps)
    assert sleeps == [MAX_RETRY_AFTER]


@pytest.mark.parametrize(
    ("error", "wait"),
    [
        pytest.param(_error(429, retry_after=3), 3.0, id="429-retry-after"),
        pytest.param(_error(429), "backoff", id="429-bare"),
        pytest.param(_error(500), "backoff", id="500"),
        pytest.param(_error(0), "backoff", id="network"),
        pytest.param(_error(400), None, id="400"),
        pytest.param(ValueError("not ours"), None, id="other-exception"),
    ],
)
def test_wait_after_classifies_errors(error: Exception, wait: object) -> None:
    assert wait_after(error) == wait


async def test_an_exception_that_is_not_a_zalo_error_is_not_retried(sleeps: Sleeps) -> None:
    calls: list[int] = []

    async def send() -> object:
        calls.append(1)
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        await with_retry(send, sleeps)
    assert (len(calls), sleeps) == (1, [])


# ---------------------------------------------------------------- sending through the emulator


def _statuses(zalo: ZaloEmulator, method: str) -> list[int | None]:
    return [call["status"] for call in zalo.calls(method)]


async def test_a_429_with_retry_after_then_success_delivers_one_message(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps
) -> None:
    zalo.add_chat(CITIZEN)
    zalo.fail_next("sendMessage", 429, retry_after=3)
    await api.send_message(CITIZEN, "Cảm ơn anh/chị", sleeps)
    assert zalo.texts(CITIZEN) == ["Cảm ơn anh/chị"]
    assert sleeps == [3.0]
    assert _statuses(zalo, "sendMessage") == [429, 200]


async def test_two_5xx_then_success_back_off_1_then_2_seconds(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps
) -> None:
    zalo.add_chat(CITIZEN)
    zalo.fail_next("sendMessage", 502, 2)
    await api.send_message(CITIZEN, "Xin chào", sleeps)
    assert zalo.texts(CITIZEN) == ["Xin chào"]
    assert sleeps == [1.0, 2.0]
    assert _statuses(zalo, "sendMessage") == [502, 502, 200]


async def test_a_dropped_connection_is_retried_like_a_network_error(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps
) -> None:
    zalo.add_chat(CITIZEN)
    zalo.drop_next("sendMessage")
    await api.send_message(CITIZEN, "Xin chào", sleeps)
    assert zalo.texts(CITIZEN) == ["Xin chào"]
    assert sleeps == [1.0]
    assert _statuses(zalo, "sendMessage") == [None, 200]


async def test_five_failures_raise_the_last_error_and_deliver_nothing(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps
) -> None:
    zalo.add_chat(CITIZEN)
    zalo.fail_next("sendMessage", 500, MAX_TRIES - 1, description="earlier")
    zalo.fail_next("sendMessage", 503, 1, description="the last one")
    with pytest.raises(ZaloApiError) as caught:
        await api.send_message(CITIZEN, "Xin chào", sleeps)
    assert (caught.value.code, caught.value.description) == (503, "the last one")
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert zalo.sent() == []
    assert len(zalo.calls("sendMessage")) == MAX_TRIES


async def test_a_400_raises_at_once_without_sleeping(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps
) -> None:
    # Nobody with this id wrote to the bot, so the emulator refuses the chat (400).
    with pytest.raises(ZaloApiError) as caught:
        await api.send_message("0123456789abcdef0123", "Xin chào", sleeps)
    assert caught.value.code == 400
    assert not caught.value.transient
    assert sleeps == []
    assert len(zalo.calls("sendMessage")) == 1


def _lines_text(length: int) -> str:
    line = "Dịch vụ công trực tuyến mức độ 4, tiếp nhận và trả kết quả tại bộ phận một cửa."
    text = ""
    while len(text) < length:
        text += line + "\n"
    return text[:length]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x" * 4500, id="one-long-line"),
        pytest.param(_lines_text(4500), id="lines"),
    ],
)
async def test_a_4500_character_text_goes_out_as_three_messages(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps, text: str
) -> None:
    assert len(text) == 4500
    zalo.add_chat(CITIZEN)
    await api.send_message(CITIZEN, text, sleeps)
    parts = zalo.texts(CITIZEN)
    assert len(parts) == 3
    assert all(0 < utf16_length(part) <= LIMIT for part in parts)
    joiner = "" if "\n" not in text else "\n"
    assert joiner.join(parts) == text
    assert sleeps == []


async def test_emoji_count_twice_so_1999_of_them_need_two_messages(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps
) -> None:
    text = "😀" * 1999  # 1,999 code points (the emulator's own count) but 3,998 UTF-16 units
    assert utf16_length(text) == 3998
    zalo.add_chat(CITIZEN)
    await api.send_message(CITIZEN, text, sleeps)
    parts = zalo.texts(CITIZEN)
    assert len(parts) == 2
    assert [utf16_length(part) for part in parts] == [2000, 1998]
    assert "".join(parts) == text


class FailOnce(httpx.AsyncBaseTransport):
    """The real network, but the n-th sendMessage is refused once by the emulator."""

    def __init__(self, zalo: ZaloEmulator, nth: int, status: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._zalo, self._nth, self._status = zalo, nth, status
        self._seen = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sendMessage"):
            self._seen += 1
            if self._seen == self._nth:
                self._zalo.fail_next("sendMessage", self._status)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_retried_part_is_not_sent_twice_and_order_is_kept(
    zalo: ZaloEmulator, sleeps: Sleeps
) -> None:
    zalo.add_chat(CITIZEN)
    text = "a" * LIMIT + "b" * LIMIT + "c" * 500
    api = ZaloBotApi(TOKEN, zalo.base_url, transport=FailOnce(zalo, nth=2, status=500))
    try:
        await api.send_message(CITIZEN, text, sleeps)
    finally:
        await api.aclose()
    assert zalo.texts(CITIZEN) == ["a" * LIMIT, "b" * LIMIT, "c" * 500]
    assert _statuses(zalo, "sendMessage") == [200, 500, 200, 200]
    assert sleeps == [1.0]


async def test_a_part_that_keeps_failing_stops_the_rest(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps
) -> None:
    zalo.add_chat(CITIZEN)
    zalo.fail_next("sendMessage", 403)
    with pytest.raises(ZaloApiError):
        await api.send_message(CITIZEN, "a" * LIMIT + "b", sleeps)
    assert zalo.sent() == []
    assert len(zalo.calls("sendMessage")) == 1


async def test_no_part_is_only_a_line_break(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps
) -> None:
    zalo.add_chat(CITIZEN)
    await api.send_message(CITIZEN, "a" * LIMIT + "\n", sleeps)
    await api.send_message(CITIZEN, "a" * LIMIT + "\nb", sleeps)
    assert zalo.texts(CITIZEN) == ["a" * LIMIT, "a" * LIMIT, "b"]


async def test_get_me_reads_display_name_else_account_name(api: ZaloBotApi) -> None:
    assert await api.get_me() == BotInfo("1459232241454765289", "Bot SIPAS")
    documented = _mock_api(_from_fixture("getMe"))
    try:
        assert await documented.get_me() == BotInfo("1459232241454765289", "bot.VDKyGxQvc")
    finally:
        await documented.aclose()


# ---------------------------------------------------------------- getUpdates and webhooks


async def test_an_idle_get_updates_returns_none(zalo: ZaloEmulator, api: ZaloBotApi) -> None:
    assert await api.get_update(30) is None
    assert _statuses(zalo, "getUpdates") == [408]
    assert zalo.calls("getUpdates")[0]["body"] == {"timeout": "30"}


async def test_an_idle_408_without_error_code_returns_none() -> None:
    api = _mock_api(_from_fixture("getUpdates-idle-408"))
    try:
        assert await api.get_update(30) is None
    finally:
        await api.aclose()


async def test_the_long_poll_read_timeout_outlasts_the_poll() -> None:
    timeouts: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return httpx.Response(408, json={"ok": False, "description": "Request timeout"})

    api = ZaloBotApi(TOKEN, "https://x.invalid", transport=httpx.MockTransport(handler))
    try:
        assert await api.get_update(25) is None
    finally:
        await api.aclose()
    assert timeouts[0]["read"] > 25


async def test_get_update_returns_one_update_that_parses(
    zalo: ZaloEmulator, api: ZaloBotApi
) -> None:
    message_id = zalo.send_text(CITIZEN, "Xin chào")
    zalo.send_sticker(CITIZEN)
    first = parse_update(await api.get_update(30))
    second = parse_update(await api.get_update(30))
    assert first == ZaloMessage(CITIZEN, CITIZEN, message_id, "Xin chào", True)
    assert second is not None
    assert (second.chat_id, second.text) == (CITIZEN, None)
    assert await api.get_update(30) is None


async def test_get_update_raises_other_refusals(zalo: ZaloEmulator, api: ZaloBotApi) -> None:
    zalo.fail_next("getUpdates", 502)
    with pytest.raises(ZaloApiError) as caught:
        await api.get_update(30)
    assert caught.value.code == 502


async def test_webhook_lifecycle(zalo: ZaloEmulator, api: ZaloBotApi) -> None:
    assert zalo.webhook is None
    await api.set_webhook("https://sipas.example.gov.vn/zalo/hook", HOOK_SECRET)
    assert zalo.webhook is not None
    assert zalo.webhook["secret_token"] == HOOK_SECRET
    assert zalo.webhook["url"] == "https://sipas.example.gov.vn/zalo/hook"
    with pytest.raises(ZaloApiError) as caught:
        await api.get_update(30)  # polling is refused while a webhook is set
    assert caught.value.code == 400
    await api.delete_webhook()
    assert zalo.webhook is None
    assert await api.get_update(30) is None


async def test_set_webhook_refused_by_the_server_raises(api: ZaloBotApi) -> None:
    with pytest.raises(ZaloApiError) as caught:
        await api.set_webhook("https://sipas.example.gov.vn/zalo/hook", "short")
    assert caught.value.code == 400


# ---------------------------------------------------------------- parse_update


DOCUMENTED_USER = "e4ea2cd5189df1c3a88c"
UPDATE_FIXTURES = {
    "getUpdates-documented": ZaloMessage(
        DOCUMENTED_USER, DOCUMENTED_USER, "16f6366b3f02645a3d15", "Xin chào", True
    ),
    "image": ZaloMessage(DOCUMENTED_USER, DOCUMENTED_USER, "7b1d3f5a9c2e4b6d8f0a", None, True),
    "sticker": ZaloMessage(DOCUMENTED_USER, DOCUMENTED_USER, "5a0c2f1e9d8b7a6c5e4f", None, True),
    "webhook-top-level": ZaloMessage("chat-123", "user-1", "msg-1", "Cho em xem menu", True),
    "webhook-wrapped": ZaloMessage(
        "6ede9afa66b88fe6d6a9", "6ede9afa66b88fe6d6a9", "2d758cb5e222177a4e35", "checkin", True
    ),
}
ALL_FIXTURES = sorted(path.stem for path in FIXTURES.glob("*.json"))


def _is_update_shaped(body: Any) -> bool:
    inner = body.get("result") if isinstance(body, dict) and "result" in body else body
    return isinstance(inner, dict) and "message" in inner


def test_every_update_shaped_fixture_has_an_expected_message() -> None:
    shaped = {name for name in ALL_FIXTURES if _is_update_shaped(fixture(name)["body"])}
    assert shaped == set(UPDATE_FIXTURES)


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_parse_update_reads_every_fixture(name: str) -> None:
    assert parse_update(fixture(name)["body"]) == UPDATE_FIXTURES.get(name)


def test_the_wrapped_and_top_level_forms_parse_alike() -> None:
    top = fixture("webhook-top-level")["body"]
    assert parse_update({"ok": True, "result": top}) == parse_update(top)
    wrapped = fixture("webhook-wrapped")["body"]
    assert parse_update(wrapped["result"]) == parse_update(wrapped)


def _edited(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    update: dict[str, Any] = copy.deepcopy(fixture("webhook-top-level")["body"])
    change(update["message"])
    return update


@pytest.mark.parametrize(
    ("update", "private"),
    [
        pytest.param(_edited(lambda m: m["chat"].update(chat_type="GROUP")), False, id="GROUP"),
        pytest.param(_edited(lambda m: m["chat"].update(chat_type="group")), False, id="group"),
        pytest.param(_edited(lambda m: m["chat"].update(chat_type="private")), True, id="private"),
        pytest.param(_edited(lambda m: m["chat"].pop("chat_type")), True, id="no-chat-type"),
    ],
)
def test_group_chats_are_not_private(update: dict[str, Any], private: bool) -> None:
    message = parse_update(update)
    assert message is not None
    assert message.private is private
    assert message.text == "Cho em xem menu"


@pytest.mark.parametrize(
    "update",
    [
        pytest.param(_edited(lambda m: m["from"].update(is_bot=True)), id="from-a-bot"),
        pytest.param(_edited(lambda m: m["from"].pop("id")), id="no-user-id"),
        pytest.param(_edited(lambda m: m["chat"].pop("id")), id="no-chat-id"),
        pytest.param(_edited(lambda m: m["chat"].update(id="")), id="empty-chat-id"),
        pytest.param(_edited(lambda m: m.pop("message_id")), id="no-message-id"),
        pytest.param(_edited(lambda m: m.pop("from")), id="no-from"),
        pytest.param(_edited(lambda m: m.update(chat="chat-123")), id="chat-not-object"),
        pytest.param({"event_name": "message.text.received"}, id="no-message"),
        pytest.param({"ok": False, "description": "Request timeout"}, id="error-envelope"),
        pytest.param({"ok": True, "result": None}, id="empty-result"),
        pytest.param({"message": "hi"}, id="message-not-object"),
        pytest.param(None, id="none"),
        pytest.param([], id="list"),
        pytest.param("text", id="string"),
    ],
)
def test_updates_without_a_usable_message_give_none(update: Any) -> None:
    assert parse_update(update) is None


@pytest.mark.parametrize(
    "update",
    [
        pytest.param(
            _edited(lambda m: None) | {"event_name": "message.unsupported.received"},
            id="other-event-with-text",
        ),
        pytest.param(_edited(lambda m: m.update(text=42)), id="text-not-a-string"),
        pytest.param(_edited(lambda m: m.pop("text")), id="no-text"),
    ],
)
def test_anything_but_a_text_event_has_no_text(update: dict[str, Any]) -> None:
    message = parse_update(update)
    assert message is not None
    assert message.text is None


def test_numeric_ids_are_read_as_text() -> None:
    update = _edited(
        lambda m: (m["chat"].update(id=7), m["from"].update(id=7), m.update(message_id=9))
    )
    assert parse_update(update) == ZaloMessage("7", "7", "9", "Cho em xem menu", True)


# ---------------------------------------------------------------- the [zalo] config section


def _config(tmp_path: Path, zalo: str, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"[zalo]\n{zalo}\n{extra}", encoding="utf-8")
    return path


WEBHOOK = 'mode = "webhook"\nwebhook_url = "https://sipas.example.gov.vn/zalo/hook"\n'


def test_a_good_zalo_section_loads_with_trailing_slashes_stripped(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        f'token = "{TOKEN}"\nbase_url = "https://bot-api.zaloplatforms.com/"\n'
        'public_media_url = "https://sipas.example.gov.vn/zalo-media/"\n',
    )
    zalo = load_settings(path, environ={}).zalo
    assert zalo.token is not None
    assert zalo.token.get_secret_value() == TOKEN
    assert zalo.base_url == "https://bot-api.zaloplatforms.com"
    assert zalo.public_media_url == "https://sipas.example.gov.vn/zalo-media"
    assert zalo.mode == "polling"


def test_a_blank_token_means_no_zalo(tmp_path: Path) -> None:
    assert load_settings(_config(tmp_path, 'token = ""'), environ={}).zalo.token is None


@pytest.mark.parametrize("length", [8, 256])
def test_webhook_mode_accepts_a_secret_of_8_to_256_characters(tmp_path: Path, length: int) -> None:
    path = _config(tmp_path, WEBHOOK + f'secret_token = "{"s" * length}"')
    zalo = load_settings(path, environ={}).zalo
    assert zalo.mode == "webhook"
    assert zalo.secret_token is not None
    assert len(zalo.secret_token.get_secret_value()) == length


BAD_ZALO = [
    pytest.param('token = "no-colon-here"', "", "zalo.token", "<bot id>:<access token>", id="t1"),
    pytest.param('token = ":only-the-secret"', "", "zalo.token", "<bot id>", id="t2"),
    pytest.param('token = "12345:"', "", "zalo.token", "<bot id>", id="t3"),
    pytest.param('token = "123 45:abc"', "", "zalo.token", "<bot id>", id="t4"),
    pytest.param('token = "123:abc/def"', "", "zalo.token", "<bot id>", id="t5"),
    pytest.param('base_url = "ftp://bot-api.zaloplatforms.com"', "", "zalo.base_url", "http(s)"),
    pytest.param('base_url = "bot-api.zaloplatforms.com"', "", "zalo.base_url", "http(s)"),
    pytest.param('public_media_url = "example.gov.vn/m"', "", "zalo.public_media_url", "http(s)"),
    pytest.param('mode = "webhook"\nsecret_token = "long-enough"', "", "zalo", "webhook_url"),
    pytest.param(WEBHOOK, "", "zalo", "secret_token of 8–256", id="webhook-no-secret"),
    pytest.param(WEBHOOK + 'secret_token = "1234567"', "", "zalo", "8–256", id="secret-7"),
    pytest.param(WEBHOOK + f'secret_token = "{"s" * 257}"', "", "zalo", "8–256", id="secret-257"),
    pytest.param('mode = "push"', "", "zalo.mode", "polling", id="mode"),
    pytest.param("port = 0", "", "zalo.port", "1", id="port"),
    pytest.param("colour = 1", "", "zalo.colour", "unknown key", id="unknown-key"),
    pytest.param(
        "", '[[officials]]\nrole = "admin"\n', "officials[0]", "telegram_id, zalo_id or both"
    ),
    pytest.param(
        "", '[[officials]]\nzalo_id = "has space"\n', "officials[0].zalo_id", "", id="zalo-id"
    ),
]


@pytest.mark.parametrize(("zalo", "extra", "key", "reason"), BAD_ZALO)
def test_a_bad_zalo_setting_is_one_line_naming_file_key_and_reason(
    tmp_path: Path, zalo: str, extra: str, key: str, reason: str
) -> None:
    path = _config(tmp_path, zalo, extra)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    error = caught.value
    assert error.key == key
    assert reason in error.reason
    assert str(error) == f"{path}: {key}: {error.reason}"
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    "extra",
    [
        '[[officials]]\nzalo_id = "0000000000000000000a"\n',
        "[[officials]]\ntelegram_id = 12345\n",
        '[[officials]]\ntelegram_id = 12345\nzalo_id = "0000000000000000000a"\nrole = "admin"\n',
    ],
    ids=["zalo", "telegram", "both"],
)
def test_an_official_needs_telegram_id_or_zalo_id_or_both(tmp_path: Path, extra: str) -> None:
    assert len(load_settings(_config(tmp_path, "", extra), environ={}).officials) == 1


def test_the_environment_token_overrides_the_file(tmp_path: Path) -> None:
    path = _config(tmp_path, 'token = "1:from-the-file"')
    zalo = load_settings(path, environ={"SIPAS_ZALO_TOKEN": TOKEN}).zalo
    assert zalo.token is not None
    assert zalo.token.get_secret_value() == TOKEN
    kept = load_settings(path, environ={"SIPAS_ZALO_TOKEN": ""}).zalo.token
    assert kept is not None
    assert kept.get_secret_value() == "1:from-the-file"


def test_the_environment_token_works_without_a_zalo_section(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[bot]\ntimezone = 'Asia/Ho_Chi_Minh'\n", encoding="utf-8")
    token = load_settings(path, environ={"SIPAS_ZALO_TOKEN": TOKEN}).zalo.token
    assert token is not None
    assert token.get_secret_value() == TOKEN


def test_a_malformed_token_is_refused_without_being_repeated(tmp_path: Path) -> None:
    bad = f"8675309/{ACCESS}"
    for zalo, environ in [(f'token = "{bad}"', {}), ('token = ""', {"SIPAS_ZALO_TOKEN": bad})]:
        path = _config(tmp_path, zalo)
        with pytest.raises(ConfigError) as caught:
            load_settings(path, environ=environ)
        assert caught.value.key == "zalo.token"
        assert ACCESS not in str(caught.value)


def test_secrets_stay_out_of_the_settings_repr(tmp_path: Path) -> None:
    path = _config(tmp_path, WEBHOOK + f'secret_token = "{HOOK_SECRET}"')
    settings = load_settings(path, environ={"SIPAS_ZALO_TOKEN": TOKEN})
    for text in (repr(settings), str(settings), repr(settings.zalo)):
        assert _no_token(text)
        assert HOOK_SECRET not in text


@pytest.mark.parametrize("url", ["https://", "http://"])
def test_a_base_url_without_a_host_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError):
        load_settings(_config(tmp_path, f'base_url = "{url}"'), environ={})


# ---------------------------------------------------------------- the token stays secret


async def refused_get_me(base_url: str) -> ZaloApiError:
    """What getMe with TOKEN at `base_url` raises (it must raise)."""
    api = ZaloBotApi(TOKEN, base_url)
    try:
        with pytest.raises(ZaloApiError) as caught:
            await api.get_me()
    finally:
        await api.aclose()
    return caught.value


async def test_a_refused_call_never_shows_the_token(zalo: ZaloEmulator) -> None:
    zalo.fail_next("getMe", 403, description="Forbidden")
    error = await refused_get_me(zalo.base_url)
    assert str(error) == "Zalo getMe: 403 Forbidden"
    assert _no_token(repr(error))
    assert _no_token("".join(traceback.format_exception(error)))


async def test_a_wrong_token_is_refused_without_being_shown() -> None:
    with ZaloEmulator("1:the-right-token") as zalo:
        error = await refused_get_me(zalo.base_url)
    assert error.code == 401
    assert _no_token(str(error))


async def test_a_network_error_never_shows_the_token(closed_port: int, sleeps: Sleeps) -> None:
    api = ZaloBotApi(TOKEN, f"http://127.0.0.1:{closed_port}")
    try:
        with pytest.raises(ZaloApiError) as caught:
            await api.get_me()
        with pytest.raises(ZaloApiError) as retried:
            await api.send_message(CITIZEN, "Xin chào", sleeps)
    finally:
        await api.aclose()
    error = caught.value
    assert (error.code, error.transient) == (0, True)
    assert error.description.startswith("network error")
    assert _no_token(str(error))
    assert _no_token(repr(error))
    # The httpx error (whose request holds the URL) is neither the cause nor shown as context.
    assert error.__cause__ is None
    assert error.__suppress_context__
    assert _no_token("".join(traceback.format_exception(error)))
    assert retried.value.code == 0
    assert _no_token(str(retried.value))
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize(
    "raised",
    [
        pytest.param(httpx.ConnectError, id="connect"),
        pytest.param(httpx.ReadTimeout, id="timeout"),
        pytest.param(httpx.RemoteProtocolError, id="protocol"),
    ],
)
async def test_an_httpx_message_with_the_url_is_not_passed_on(
    raised: type[httpx.TransportError],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised(f"failed talking to {request.url}", request=request)

    api = _mock_api(handler)
    try:
        with pytest.raises(ZaloApiError) as caught:
            await api.get_update(30)
    finally:
        await api.aclose()
    assert caught.value.code == 0
    assert _no_token(str(caught.value))
    assert _no_token("".join(traceback.format_exception(caught.value)))


async def test_a_full_round_logs_nothing_with_the_token(
    zalo: ZaloEmulator, api: ZaloBotApi, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    zalo.send_text(CITIZEN, "Xin chào")
    await api.get_me()
    await api.set_webhook("https://sipas.example.gov.vn/zalo/hook", HOOK_SECRET)
    await api.delete_webhook()
    assert parse_update(await api.get_update(30)) is not None
    assert await api.get_update(30) is None
    zalo.fail_next("sendMessage", 429, retry_after=2)
    zalo.fail_next("sendMessage", 500)
    zalo.drop_next("sendMessage")
    await api.send_message(CITIZEN, "x" * 2500, sleeps)
    zalo.fail_next("sendMessage", 403)
    with pytest.raises(ZaloApiError):
        await api.send_message(CITIZEN, "Xin chào", sleeps)
    assert sleeps == [2.0, 1.0, 2.0]

    own = [record for record in caplog.records if record.name.startswith(("bot.", "handlers."))]
    assert len(own) == 3  # one line per retry
    others = [r for r in caplog.records if r.name.split(".")[0] not in ("httpx", "httpcore")]
    formatter = logging.Formatter()
    for record in others:
        text = record.getMessage()
        if record.exc_info:
            text += formatter.formatException(record.exc_info)
        assert _no_token(text), f"{record.name}: {text}"
    # Only the libraries print URLs; logs.configure_logging keeps them at WARNING or above.
    leaking = {r.name.split(".")[0] for r in caplog.records if not _no_token(r.getMessage())}
    assert all(QUIET.get(name, logging.NOTSET) >= logging.WARNING for name in leaking)


async def test_the_retry_log_line_names_method_code_and_wait(
    caplog: pytest.LogCaptureFixture, sleeps: Sleeps
) -> None:
    caplog.set_level(logging.DEBUG, logger="handlers.retry")
    send: Callable[[], Awaitable[object]] = Script(_error(429, "Too Many Requests", 4))
    await with_retry(send, sleeps)
    [record] = [r for r in caplog.records if r.name == "handlers.retry"]
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert "Zalo sendMessage: 429 Too Many Requests" in message
    assert "4 s" in message
    assert "1 of 5" in message
