"""The OA client's edges and the channel's fallbacks: secrets never shown, failures read right."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bot.zalo_oa.api import Button, OaApi, OaApiError, RefreshRefused, wait_after
from bot.zalo_oa.tokens import OaUnavailable, TokenKeeper
from tests.zalo_oa_emulator import OaEmulator
from tests.zalo_oa_support import CITIZEN, OaCitizen, oa_running, stored_values

SECRET = "the-app-secret"
TOKEN = "at-secret-access"


def client(handler: httpx.MockTransport) -> OaApi:
    return OaApi(
        "123", SECRET, "https://openapi.example", "https://oauth.example", transport=handler
    )


async def test_a_send_carries_the_token_in_a_header_and_buttons_as_a_template() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"error": 0, "data": {"message_id": "m1"}})

    api = client(httpx.MockTransport(answer))
    buttons = [Button(f"{n} · x" * 40, f"p{n}") for n in range(12)]
    assert await api.send(TOKEN, "u1", "a" * 2500, buttons, reply_to="in-1") == "m1"
    (request,) = seen
    assert request.url.path == "/v3.0/oa/message/cs"
    assert request.headers["access_token"] == TOKEN
    assert TOKEN not in str(request.url)
    body = json.loads(request.content)
    assert body["recipient"] == {"user_id": "u1", "message_id": "in-1"}
    assert len(body["message"]["text"]) == 2000
    sent = body["message"]["attachment"]["payload"]["buttons"]
    assert len(sent) == 8
    assert {b["type"] for b in sent} == {"oa.query.hide"}
    assert max(len(b["title"]) for b in sent) <= 100
    assert "123" in repr(api)
    assert SECRET not in repr(api)
    await api.aclose()


@pytest.mark.parametrize(
    ("response", "code", "transient"),
    [
        (httpx.Response(200, json={"error": -216, "message": f"bad token {TOKEN}"}), -216, False),
        (httpx.Response(200, json={"error": -32, "message": "slow down"}), -32, True),
        (httpx.Response(429, text="too many"), 429, True),
        (httpx.Response(502, text="<html>proxy</html>"), 502, True),
        (httpx.Response(404, text="<html>gone</html>"), 404, False),
        (httpx.Response(200, json=[1, 2]), 200, False),
    ],
    ids=["expired", "rate-limited", "429", "5xx", "html-404", "not-an-object"],
)
async def test_refusals_are_read_without_quoting_a_token(
    response: httpx.Response, code: int, transient: bool
) -> None:
    api = client(httpx.MockTransport(lambda _: response))
    with pytest.raises(OaApiError) as caught:
        await api.send(TOKEN, "u1", "hi")
    error = caught.value
    assert error.code == code
    assert error.transient is transient
    assert error.expired is (code == -216)
    assert TOKEN not in str(error)
    assert (wait_after(error) == "backoff") is transient
    await api.aclose()


@pytest.mark.parametrize(
    "failure", [httpx.ConnectTimeout("slow"), httpx.ConnectError("down")], ids=["timeout", "down"]
)
async def test_network_failures_are_passing(failure: Exception) -> None:
    def fail(_: httpx.Request) -> httpx.Response:
        raise failure

    api = client(httpx.MockTransport(fail))
    with pytest.raises(OaApiError) as caught:
        await api.refresh("rt-1")
    assert caught.value.transient
    await api.aclose()


async def test_a_refresh_posts_the_form_and_reads_string_seconds() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"access_token": "a2", "refresh_token": "r2", "expires_in": "90000"}
        return httpx.Response(200, json=body)

    api = client(httpx.MockTransport(answer))
    grant = await api.refresh("r1")
    assert (grant.access_token, grant.refresh_token, grant.expires_in) == ("a2", "r2", 90000.0)
    assert "a2" not in repr(grant)
    assert "r2" not in repr(grant)
    (request,) = seen
    assert request.url.path == "/v4/oa/access_token"
    assert request.headers["secret_key"] == SECRET
    assert request.content.decode() == "app_id=123&grant_type=refresh_token&refresh_token=r1"
    await api.aclose()


async def test_a_refused_refresh_names_no_secret() -> None:
    body = {"error": -14014, "error_name": f"Invalid refresh token r1 for {SECRET}"}
    api = client(httpx.MockTransport(lambda _: httpx.Response(400, json=body)))
    with pytest.raises(RefreshRefused) as caught:
        await api.refresh("r1")
    assert "r1" not in str(caught.value)
    assert SECRET not in str(caught.value)
    await api.aclose()


async def test_refused_buttons_fall_back_to_numbered_text(tmp_path: Path) -> None:
    with OaEmulator(max_buttons=3) as oa:  # a stricter limit than assumed
        async with oa_running(tmp_path, oa) as run:
            citizen = OaCitizen(run)
            consent = await citizen.say("ubnd_xa_a")  # two buttons: within the limit
            assert consent.buttons
            statement = await citizen.say("1")
            assert statement.buttons == []
            assert "1 – " in statement.text  # numbered, as on the Bot Platform
            nxt = await citizen.say("4")
            assert "2/19" in nxt.text
            assert await stored_values(run.services) == [4]


async def test_a_failing_refresh_leaves_nothing_stored_and_is_tried_again(
    tmp_path: Path,
) -> None:
    with OaEmulator() as oa:
        async with oa_running(tmp_path, oa) as run:
            keeper = run.channel.tokens
            oa.stop()  # the OAuth server is unreachable
            with pytest.raises(OaUnavailable) as caught:
                await keeper.access_token()
            assert not caught.value.refused
            row = await run.channel.store.current()
            assert row is not None
            assert row.lease_owner is None  # the lease was given back
            assert row.refresh_token == oa.first_refresh_token


async def test_without_any_refresh_token_the_oa_is_unavailable(tmp_path: Path) -> None:
    with OaEmulator() as oa:
        async with oa_running(tmp_path, oa) as run:
            await run.services.database.execute_script("DELETE FROM oa_tokens")
            keeper = TokenKeeper(run.channel.store, run.channel.api, run.clock)
            assert (await keeper.unavailable()) is not None
            with pytest.raises(OaUnavailable):
                await keeper.access_token()
            response = await run.post(run.event(CITIZEN, "ubnd_xa_a"))
            assert response.status_code == 200
            await run.settle()
            assert oa.sent(CITIZEN) == []  # no token: nobody can be told
            assert await stored_values(run.services) == []
