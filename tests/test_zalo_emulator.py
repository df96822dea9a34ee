"""Tests for the Zalo Bot Platform emulator, driven by a plain httpx client."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.zalo_emulator import (
    FIXTURES,
    IMAGE_EVENT,
    SECRET_HEADER,
    STICKER_EVENT,
    ZaloEmulator,
    fixture,
)

TOKEN = "12345689:test-token"
CITIZEN = "e4ea2cd5189df1c3a88c"
OFFICIAL = "6ede9afa66b88fe6d6a9"
SECRET = "sipas-webhook-secret"
HEX20 = re.compile(r"[0-9a-f]{20}")


@pytest.fixture
def zalo() -> Iterator[ZaloEmulator]:
    with ZaloEmulator(TOKEN) as emulator:
        emulator.poll_cap = 0.2
        yield emulator


@pytest.fixture
def api(zalo: ZaloEmulator) -> Iterator[httpx.Client]:
    # trust_env=False: never route the loopback calls through a proxy from the environment.
    with httpx.Client(base_url=zalo.api_url, timeout=5, trust_env=False) as client:
        yield client


def _call(api: httpx.Client, method: str, **body: Any) -> httpx.Response:
    return api.post(f"/{method}", json=body)


def _keys(value: Any) -> Any:
    """The nested key structure of a JSON value, to compare shapes rather than values."""
    if isinstance(value, dict):
        return {key: _keys(item) for key, item in value.items()}
    return type(value).__name__


def _subset(small: Any, big: Any) -> bool:
    if isinstance(small, dict):
        return isinstance(big, dict) and all(
            k in big and _subset(v, big[k]) for k, v in small.items()
        )
    return bool(small == big)


def test_fixtures_are_tagged_with_source_and_kind() -> None:
    names = sorted(path.stem for path in FIXTURES.glob("*.json"))
    assert {"getMe", "getUpdates-documented", "webhook-wrapped", "webhook-top-level"} <= set(names)
    for name in names:
        data = fixture(name)
        assert set(data) >= {"source", "kind", "status", "body"}, name
        assert data["kind"] in {"documented", "observed", "assumption"}, name
        assert "http" in data["source"] or "zalo.md" in data["source"], name


def test_get_me_has_the_documented_fields(api: httpx.Client) -> None:
    response = api.post("/getMe")  # no body at all: treated as {}
    assert response.status_code == 200
    body = response.json()
    assert body["result"]["display_name"] == "Bot SIPAS"
    assert _subset(_keys(fixture("getMe")["body"]), _keys(body))


def test_wrong_token_and_unknown_method(zalo: ZaloEmulator) -> None:
    with httpx.Client(base_url=zalo.base_url, timeout=5, trust_env=False) as client:
        wrong = client.post("/bot12345689:wrong/getMe", json={})
        unknown = client.post(f"/bot{TOKEN}/sendSticker", json={})
    assert wrong.status_code == 401
    assert wrong.json() == fixture("unauthorized-401")["body"]
    assert unknown.status_code == 404
    assert unknown.json()["ok"] is False
    assert [c["status"] for c in zalo.calls()] == [401, 404]
    assert TOKEN not in json.dumps(zalo.calls())


def test_idle_poll_answers_408_after_the_cap(zalo: ZaloEmulator, api: httpx.Client) -> None:
    started = time.monotonic()
    response = _call(api, "getUpdates", timeout="30")
    assert 0.15 < time.monotonic() - started < 2
    assert response.status_code == 408
    assert response.json() == {"ok": False, "error_code": 408, "description": "Request timeout"}
    assert _subset(fixture("getUpdates-idle-408")["body"], response.json())
    # timeout 0 answers at once
    assert _call(api, "getUpdates", timeout=0).status_code == 408


def test_long_poll_wakes_when_a_citizen_writes(zalo: ZaloEmulator, api: httpx.Client) -> None:
    zalo.poll_cap = 10

    def citizen_writes_once_the_bot_polls() -> None:
        zalo.wait_polling()
        zalo.send_text(CITIZEN, "xin chào")

    writer = threading.Thread(target=citizen_writes_once_the_bot_polls)
    writer.start()
    started = time.monotonic()
    response = _call(api, "getUpdates", timeout=30)
    writer.join()
    assert time.monotonic() - started < 2
    assert response.json()["result"]["message"]["text"] == "xin chào"


def test_one_update_per_call_in_the_observed_shape(zalo: ZaloEmulator, api: httpx.Client) -> None:
    first = zalo.send_text(CITIZEN, "1", display_name="Trần Thị B")
    second = zalo.send_text(OFFICIAL, "/start")
    assert HEX20.fullmatch(first)

    one = _call(api, "getUpdates", timeout=0).json()["result"]
    two = _call(api, "getUpdates", timeout=0).json()["result"]
    assert isinstance(one, dict)
    assert [one["message"]["message_id"], two["message"]["message_id"]] == [first, second]
    assert one["event_name"] == "message.text.received"
    assert one["message"]["from"] == {"id": CITIZEN, "display_name": "Trần Thị B", "is_bot": False}
    assert one["message"]["chat"] == {"id": CITIZEN, "chat_type": "PRIVATE"}
    assert one["message"]["date"] > 1_700_000_000_000  # milliseconds
    assert _keys(one) == _keys(fixture("webhook-top-level")["body"])
    assert _call(api, "getUpdates", timeout=0).status_code == 408  # consumed; no offset needed


def test_sticker_and_image_events(zalo: ZaloEmulator, api: httpx.Client) -> None:
    zalo.send_sticker(CITIZEN)
    zalo.send_image(CITIZEN, caption="Ảnh")
    sticker = _call(api, "getUpdates").json()["result"]
    image = _call(api, "getUpdates").json()["result"]
    assert sticker["event_name"] == STICKER_EVENT
    assert "text" not in sticker["message"]
    assert _keys(sticker) == _keys(fixture("sticker")["body"]["result"])
    assert image["event_name"] == IMAGE_EVENT
    assert image["message"]["photo_url"].startswith("https://")
    assert _keys(image) == _keys(fixture("image")["body"]["result"])


def test_replay_mode_serves_each_update_twice() -> None:
    with (
        ZaloEmulator(TOKEN, replay=True) as zalo,
        httpx.Client(base_url=zalo.api_url, timeout=5, trust_env=False) as client,
    ):
        zalo.poll_cap = 0.05
        a = zalo.send_text(CITIZEN, "a")
        b = zalo.send_text(CITIZEN, "b")
        served = []
        while (response := _call(client, "getUpdates", timeout=1)).status_code == 200:
            served.append(response.json()["result"]["message"]["message_id"])
        assert served == [a, a, b, b]


def test_replay_all_requeues_served_updates(zalo: ZaloEmulator, api: httpx.Client) -> None:
    a = zalo.send_text(CITIZEN, "a")
    _call(api, "getUpdates")
    b = zalo.send_text(CITIZEN, "b")
    zalo.replay_all()
    ids = [_call(api, "getUpdates").json()["result"]["message"]["message_id"] for _ in range(2)]
    assert ids == [a, b]
    assert zalo.pending() == 0


def test_send_message_text_limits(zalo: ZaloEmulator, api: httpx.Client) -> None:
    zalo.send_text(CITIZEN, "hi")
    # Vietnamese letters count once each, whatever their UTF-8 or UTF-16 size.
    ok = _call(api, "sendMessage", chat_id=CITIZEN, text="ệ" * 2000)
    too_long = _call(api, "sendMessage", chat_id=CITIZEN, text="a" * 2001)
    empty = _call(api, "sendMessage", chat_id=CITIZEN, text="")
    assert ok.status_code == 200
    assert _keys(ok.json()) == _keys(fixture("sendMessage")["body"])
    assert HEX20.fullmatch(ok.json()["result"]["message_id"])
    assert [too_long.status_code, empty.status_code] == [400, 400]
    assert too_long.json()["ok"] is False
    assert zalo.texts(CITIZEN) == ["ệ" * 2000]


def test_unknown_chat_refused_until_it_writes(zalo: ZaloEmulator, api: httpx.Client) -> None:
    refused = _call(api, "sendMessage", chat_id=CITIZEN, text="Câu 1/10")
    assert refused.status_code == 400
    assert "chat not found" in refused.json()["description"]
    zalo.send_text(CITIZEN, "bắt đầu")
    sent = _call(api, "sendMessage", chat_id=CITIZEN, text="Câu 1/10").json()["result"]
    [record] = zalo.sent(CITIZEN)
    assert record["method"] == "sendMessage"
    assert (record["chat_id"], record["text"], record["message_id"]) == (
        CITIZEN,
        "Câu 1/10",
        sent["message_id"],
    )
    assert record["at"] == sent["date"]
    assert zalo.sent(OFFICIAL) == []


def test_send_photo_by_url_only(zalo: ZaloEmulator, api: httpx.Client) -> None:
    zalo.send_text(OFFICIAL, "báo cáo")
    photo = "https://example.com/chart.png"
    assert _call(api, "sendPhoto", chat_id=OFFICIAL, photo=photo, caption="Tuần 12").is_success
    assert _call(api, "sendPhoto", chat_id=OFFICIAL, photo=photo).is_success
    assert _call(api, "sendPhoto", chat_id=OFFICIAL, photo="/tmp/chart.png").status_code == 400
    assert zalo.texts(OFFICIAL) == ["Tuần 12"]
    assert [r["method"] for r in zalo.sent(OFFICIAL)] == ["sendPhoto", "sendPhoto"]
    assert zalo.sent(OFFICIAL)[0]["photo"] == photo


def test_wait_for_blocks_until_texts_arrive(zalo: ZaloEmulator, api: httpx.Client) -> None:
    zalo.send_text(CITIZEN, "hi")
    sender = threading.Thread(
        target=lambda: [_call(api, "sendMessage", chat_id=CITIZEN, text=t) for t in "xyz"]
    )
    sender.start()
    assert zalo.wait_for(CITIZEN, 3, timeout=5) == ["x", "y", "z"]
    sender.join()
    with pytest.raises(AssertionError, match=r"expected 4 texts .* got 3: \['x', 'y', 'z'\]"):
        zalo.wait_for(CITIZEN, 4, timeout=0.05)


def test_webhook_lifecycle_blocks_polling(zalo: ZaloEmulator, api: httpx.Client) -> None:
    assert zalo.webhook is None
    assert (
        _call(api, "setWebhook", url="http://example.com/h", secret_token=SECRET).status_code
        == 400
    )
    assert (
        _call(api, "setWebhook", url="https://example.com/h", secret_token="short").status_code
        == 400
    )
    assert _call(api, "setWebhook", url="https://example.com/h").status_code == 400

    result = _call(api, "setWebhook", url="https://example.com/h", secret_token=SECRET).json()
    assert _keys(result) == _keys(fixture("setWebhook")["body"])
    assert zalo.webhook is not None
    assert {"url": zalo.webhook["url"], "updated_at": zalo.webhook["updated_at"]} == result[
        "result"
    ]
    blocked = _call(api, "getUpdates", timeout=0)
    assert blocked.status_code == 400
    assert "webhook" in blocked.json()["description"]

    deleted = _call(api, "deleteWebhook").json()
    assert deleted["result"]["url"] == ""
    assert _keys(deleted) == _keys(fixture("deleteWebhook")["body"])
    assert _call(api, "getUpdates", timeout=0).status_code == 408


def test_fail_next_429_with_retry_after(zalo: ZaloEmulator, api: httpx.Client) -> None:
    zalo.send_text(CITIZEN, "hi")
    zalo.fail_next("sendMessage", 429, retry_after=3)
    zalo.fail_next("sendMessage", 429)
    limited = _call(api, "sendMessage", chat_id=CITIZEN, text="a")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests",
        "parameters": {"retry_after": 3},
    }
    bare = _call(api, "sendMessage", chat_id=CITIZEN, text="a")
    assert bare.status_code == 429
    assert "Retry-After" not in bare.headers
    assert "parameters" not in bare.json()
    assert _call(api, "sendMessage", chat_id=CITIZEN, text="a").is_success
    assert zalo.texts(CITIZEN) == ["a"]


def test_drop_next_closes_without_an_answer(zalo: ZaloEmulator, api: httpx.Client) -> None:
    zalo.drop_next("getMe")
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/getMe", json={})
    assert api.post("/getMe", json={}).is_success
    assert [c["status"] for c in zalo.calls("getMe")] == [None, 200]


def test_fault_rate_is_seeded() -> None:
    def statuses(seed: int) -> list[int]:
        with (
            ZaloEmulator(TOKEN, seed=seed) as zalo,
            httpx.Client(base_url=zalo.api_url, timeout=5, trust_env=False) as client,
        ):
            zalo.fault_rate = 0.5
            zalo.send_text(CITIZEN, "hi")
            codes = [
                _call(client, "sendMessage", chat_id=CITIZEN, text="x").status_code
                for _ in range(12)
            ]
            assert len(zalo.texts(CITIZEN)) == codes.count(200)
            assert _call(client, "getMe").is_success  # only sends are faulted
            return codes

    first = statuses(7)
    assert first == statuses(7)
    assert 200 in first
    assert set(first) - {200}
    assert set(first) <= {200, 500, 502, 503}


def test_stop_answers_a_waiting_poll_promptly() -> None:
    zalo = ZaloEmulator(TOKEN).start()
    zalo.poll_cap = 30
    outcome: list[Any] = []

    def poll() -> None:
        with httpx.Client(base_url=zalo.api_url, timeout=10, trust_env=False) as client:
            try:
                outcome.append(_call(client, "getUpdates", timeout=30).status_code)
            except httpx.TransportError as exc:
                outcome.append(exc)

    poller = threading.Thread(target=poll)
    poller.start()
    zalo.wait_polling()
    started = time.monotonic()
    zalo.stop()
    poller.join(timeout=5)
    assert time.monotonic() - started < 2
    assert outcome == [408]


class _Receiver(BaseHTTPRequestHandler):
    """The bot's webhook endpoint, reduced to what the tests check."""

    server: _ReceiverServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        secret = self.headers.get(SECRET_HEADER)
        self.server.received.append((dict(self.headers), body))
        if secret != SECRET:
            status = 403
        elif not self.headers.get("Content-Type", "").startswith("application/json"):
            status = 415
        else:
            status = 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    received: list[tuple[dict[str, str], bytes]]


@pytest.fixture
def receiver() -> Iterator[_ReceiverServer]:
    server = _ReceiverServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_post_webhook_both_shapes(
    zalo: ZaloEmulator, api: httpx.Client, receiver: _ReceiverServer
) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/zalo/webhook"
    assert _call(api, "setWebhook", url=url, secret_token=SECRET).is_success
    update = zalo.make_update(CITIZEN, "5")

    assert zalo.post_webhook(update) == 200
    assert zalo.post_webhook(update, shape="top") == 200
    assert zalo.post_webhook(update, secret=None) == 403
    assert zalo.post_webhook(update, secret="wrong-secret") == 403
    assert zalo.post_webhook(update, content_type="text/plain") == 415

    (headers, wrapped), (_, top), (no_secret, _), *_ = receiver.received
    assert headers[SECRET_HEADER] == SECRET
    assert json.loads(wrapped) == {"ok": True, "result": update}
    assert json.loads(top) == update
    assert _keys(json.loads(wrapped)) == _keys(fixture("webhook-wrapped")["body"])
    assert SECRET_HEADER not in no_secret
    assert [p["status"] for p in zalo.webhook_posts] == [200, 200, 403, 403, 415]
    # The citizen wrote (through the webhook), so the bot may answer.
    assert _call(api, "sendMessage", chat_id=CITIZEN, text="Cảm ơn").is_success
