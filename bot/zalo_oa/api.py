"""A thin httpx client for the Zalo OA Open API v3: token refresh and `message/cs` sends.

Shapes from ../shared/reference/zalo.md §2 (not checked against developers.zalo.me): the token
is refreshed at `<oauth_url>/v4/oa/access_token` (form app_id, grant_type, refresh_token;
header secret_key), calls carry it in an `access_token` header, answers are
`{"error": 0, "message": ..., "data": ...}`. Tokens and the app secret are never put into an
error, a log line or a repr.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from handlers.retry import Wait

TOKEN_PATH = "/v4/oa/access_token"
SEND_PATH = "/v3.0/oa/message/cs"
TEXT_LIMIT = 2000
MAX_BUTTONS = 8
"""Buttons per message: the reference gives no number [UNCERTAIN]; a scale (5, not applicable,
back) and an agency page (6, two page turns) fit. A refused message is sent again as numbered
text (see bot.zalo_oa.channel), so a lower real limit costs buttons, not the survey."""
TITLE_LIMIT = 100
"""Longest button title sent [UNCERTAIN]; our titles are far shorter."""
EXPIRED_CODES = frozenset({-216, -124, -230})
"""Error codes public integrations read as "access token invalid or expired" [UNCERTAIN]:
each makes one refresh and one more try."""
RATE_CODES = frozenset({-32})
"""Error codes read as "too many requests" [UNCERTAIN]; HTTP 429 counts too."""


class OaApiError(Exception):
    """A refused or failed call; the description never quotes a token."""

    def __init__(self, call: str, code: int, description: str) -> None:
        super().__init__(f"Zalo OA {call}: {code} {description}")
        self.call = call
        self.code = code
        self.description = description

    @property
    def expired(self) -> bool:
        return self.code in EXPIRED_CODES

    @property
    def rate_limited(self) -> bool:
        return self.code in RATE_CODES or self.code == 429

    @property
    def transient(self) -> bool:
        """Worth another try later: a rate limit, a 5xx, the network (code 0)."""
        return self.rate_limited or self.code == 0 or self.code >= 500


class RefreshRefused(OaApiError):
    """The OAuth server refused the refresh token: only a new consent helps."""


@dataclass(frozen=True)
class TokenGrant:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: float


@dataclass(frozen=True)
class Button:
    """An `oa.query.hide` button: the client sends `payload` back as the user's text."""

    title: str
    payload: str


class OaApi:
    """The calls the OA channel makes; `transport` replaces the network in tests."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        base_url: str,
        oauth_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._app_id = app_id
        self._app_secret = app_secret
        self._base_url = base_url.rstrip("/")
        self._oauth_url = oauth_url.rstrip("/")
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)

    def __repr__(self) -> str:
        return f"OaApi(app_id={self._app_id!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def refresh(self, refresh_token: str) -> TokenGrant:
        """A new access token and a new (single-use) refresh token for the old one."""
        form = {
            "app_id": self._app_id,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        body = await self._post(
            "refresh",
            self._oauth_url + TOKEN_PATH,
            headers={"secret_key": self._app_secret},
            data=form,
        )
        access, renewed = body.get("access_token"), body.get("refresh_token")
        expires = _number(body.get("expires_in"))
        if isinstance(access, str) and access and isinstance(renewed, str) and renewed:
            # expires_in arrives as a string of seconds; trust it (sources disagree: 1 h, 25 h).
            return TokenGrant(access, renewed, expires if expires and expires > 0 else 3600.0)
        code = int(_number(body.get("error")) or -1)
        why = str(body.get("error_name") or body.get("error_description") or "refused")
        raise RefreshRefused("refresh", code, self._clean(why, refresh_token))

    async def send(
        self,
        access_token: str,
        user_id: str,
        text: str,
        buttons: Sequence[Button] = (),
        reply_to: str | None = None,
    ) -> str:
        """One consultation (`cs`) message, with query buttons when given; Zalo's message id.
        `reply_to` names the user's message being answered, so it counts as a free reply
        (OA help centre; the field name is [UNCERTAIN])."""
        recipient: dict[str, str] = {"user_id": user_id}
        if reply_to:
            recipient["message_id"] = reply_to
        message: dict[str, Any] = {"text": text[:TEXT_LIMIT]}
        if buttons:
            message["attachment"] = {
                "type": "template",
                "payload": {
                    "buttons": [
                        {
                            "title": button.title[:TITLE_LIMIT],
                            "type": "oa.query.hide",
                            "payload": button.payload,
                        }
                        for button in buttons[:MAX_BUTTONS]
                    ]
                },
            }
        body = await self._post(
            "message/cs",
            self._base_url + SEND_PATH,
            headers={"access_token": access_token},
            json={"recipient": recipient, "message": message},
        )
        code = int(_number(body.get("error")) or 0)
        if code != 0:
            why = str(body.get("message") or "refused")
            raise OaApiError("message/cs", code, self._clean(why, access_token))
        data = body.get("data")
        return str(data.get("message_id", "")) if isinstance(data, dict) else ""

    async def _post(self, call: str, url: str, **kw: Any) -> dict[str, Any]:
        try:
            response = await self._client.post(url, **kw)
        except httpx.TimeoutException:
            raise OaApiError(call, 0, "timed out") from None
        except httpx.HTTPError as error:
            raise OaApiError(call, 0, f"network error ({type(error).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 and (
            response.status_code in (429,) or response.status_code >= 500 or body is None
        ):
            raise OaApiError(call, response.status_code, "HTTP error")
        if not isinstance(body, dict):
            raise OaApiError(call, response.status_code or 0, "not a JSON object")
        return body

    def _clean(self, text: str, token: str) -> str:
        """Zalo's own words, without any secret they might quote."""
        for secret in (self._app_secret, token):
            if secret:
                text = text.replace(secret, "<redacted>")
        return text[:200]


def wait_after(error: Exception) -> Wait:
    """For `bot.retry`: a rate limit or a passing failure backs off; the rest gives up."""
    if isinstance(error, OaApiError) and error.transient:
        return "backoff"
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
