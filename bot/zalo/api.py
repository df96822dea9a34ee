"""A thin client for the Zalo Bot Platform API over httpx (JSON POST to `bot<token>/<method>`).

Written in-house: the Python clients published so far are not fit to depend on (see
../shared/reference/zalo.md §3). The token sits in every URL path, so no URL is ever put into
an error message or a log line by this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from handlers.retry import Sleep, Wait, call_with_retry
from survey.channels import ZALO, split_text

IDLE = 408
"""getUpdates' answer when no message came within the timeout: normal, not an error."""


class ZaloApiError(Exception):
    """A refused call: `transient` ones (429, 5xx, network) may succeed if tried again."""

    def __init__(
        self, method: str, code: int, description: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"Zalo {method}: {code} {description}")
        self.method = method
        self.code = code
        self.description = description
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.code == 429 or self.code >= 500 or self.code == 0


@dataclass(frozen=True)
class BotInfo:
    id: str
    name: str


class ZaloBotApi:
    """The documented methods we use; `transport` replaces the network in tests."""

    def __init__(
        self,
        token: str,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._token = token
        self._prefix = f"{base_url.rstrip('/')}/bot{token}/"
        self._timeout = timeout
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, payload: dict[str, Any] | None = None, **kw: Any) -> Any:
        """POST one method; its `result`, or ZaloApiError (the URL and token never in it)."""
        try:
            response = await self._client.post(self._prefix + method, json=payload or {}, **kw)
        except httpx.TimeoutException:
            raise ZaloApiError(method, 0, "timed out") from None
        except httpx.HTTPError as error:
            raise ZaloApiError(method, 0, f"network error ({type(error).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and body.get("ok") is True:
            return body.get("result")
        raise self._refusal(method, response, body if isinstance(body, dict) else {})

    def _refusal(
        self, method: str, response: httpx.Response, body: dict[str, Any]
    ) -> ZaloApiError:
        """The error for a refused call, read defensively: a proxy's HTML page, a code that is
        not a number and a description quoting the URL all happen."""
        status = response.status_code
        # The HTTP status is the better witness (the idle 408 comes with or without a body
        # code); a 200 with `ok: false` has only the body's.
        code = status if status >= 400 else _number(body.get("error_code")) or 0
        parameters = body.get("parameters")
        wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
        retry_after = _number(wait if wait is not None else response.headers.get("Retry-After"))
        description = str(body.get("description") or ("refused" if body else "not a JSON object"))
        description = description.replace(self._token, "<redacted>")
        return ZaloApiError(method, int(code), description[:200], retry_after)

    async def get_me(self) -> BotInfo:
        result = await self.call("getMe")
        if not isinstance(result, dict):
            raise ZaloApiError("getMe", 0, "unexpected result")
        name = result.get("display_name") or result.get("account_name") or ""
        return BotInfo(str(result.get("id", "")), str(name))

    async def get_update(self, poll_seconds: int) -> Any:
        """One update (Zalo returns one per call, no offset), or None when idle (HTTP 408)."""
        try:
            # The read timeout must outlast the long poll itself.
            return await self.call(
                "getUpdates",
                {"timeout": str(poll_seconds)},
                timeout=poll_seconds + self._timeout,
            )
        except ZaloApiError as error:
            if error.code == IDLE:
                return None
            raise

    async def send_message(
        self, chat_id: str, text: str, sleep: Sleep = asyncio.sleep
    ) -> float | None:
        """Send a text, split at line breaks within the 2,000-character limit; each part is
        retried on its own (a retry never repeats a part already delivered). Returns Zalo's
        time of the last part, in seconds, when it says."""
        results: list[Any] = []
        for part in split_text(text, ZALO.text_limit) if text.strip() else ():
            payload = {"chat_id": chat_id, "text": part}

            async def send(payload: dict[str, Any] = payload) -> None:
                results.append(await self.call("sendMessage", payload))

            await with_retry(send, sleep)
        last = results[-1] if results else None
        date = _number(last.get("date")) if isinstance(last, dict) else None
        return date / 1000 if date and date > 1e11 else date

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")


def wait_after(error: Exception) -> Wait:
    """Zalo: 429 waits as told (or backs off), 5xx and network errors back off, the rest
    (4xx, `ok: false`) are permanent."""
    if not isinstance(error, ZaloApiError) or not error.transient:
        return None
    if error.code == 429 and error.retry_after is not None:
        return error.retry_after
    return "backoff"


async def with_retry(send: Callable[[], Awaitable[object]], sleep: Sleep = asyncio.sleep) -> None:
    """Call `send` until Zalo accepts it (see `handlers.retry`)."""
    await call_with_retry(send, sleep, wait_after)


def _number(value: Any) -> float | None:
    """A number from a JSON value or header, or None (strings like "E_LIMIT", lists, dates)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
