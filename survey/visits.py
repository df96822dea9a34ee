"""Signed single-use visit tokens: a `/start` payload that proves a counter visit.

Format (fits Telegram's 64-character `start` payload, alphabet `A-Za-z0-9_-`):
`v_<expiry: unix minutes, base 36>_<nonce: 8 base-36 chars>_<mac: 12 hex>_<agency code>`.
The MAC is HMAC-SHA256 over the other fields with the deployment's secret; the nonce makes each
token single-use once storage records it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

from survey.actions import to_base36

PREFIX = "v_"
_TOKEN = re.compile(
    r"^v_(?P<expiry>[0-9a-z]{1,8})_(?P<nonce>[0-9a-z]{8})_(?P<mac>[0-9a-f]{12})_"
    r"(?P<code>[A-Za-z0-9_-]{1,32})$"
)


@dataclass(frozen=True)
class Visit:
    """A verified visit token: which agency, which one-time nonce."""

    agency: str
    nonce: str


Refusal = Literal["malformed", "tampered", "expired"]


def is_visit_payload(payload: str) -> bool:
    """A `/start` payload meant as a visit token (it may still be malformed or forged)."""
    return payload.startswith(PREFIX)


def looks_like_visit_token(text: str) -> bool:
    """Typed text that has a visit token's full shape (a comment starting "v_" is not one)."""
    return _TOKEN.match(text) is not None


def issue_visit_token(secret: str, agency: str, expires_minute: int, nonce: str) -> str:
    """A token for one visit to `agency`, valid until the unix minute `expires_minute`."""
    expiry = to_base36(expires_minute)
    return f"{PREFIX}{expiry}_{nonce}_{_mac(secret, expiry, nonce, agency)}_{agency}"


def read_visit_token(secret: str, payload: str, now_minute: int) -> Visit | Refusal:
    """The visit a payload proves, or why it proves nothing."""
    match = _TOKEN.match(payload)
    if match is None:
        return "malformed"
    expiry, nonce, code = match["expiry"], match["nonce"], match["code"]
    if not hmac.compare_digest(match["mac"], _mac(secret, expiry, nonce, code)):
        return "tampered"
    if int(expiry, 36) < now_minute:
        return "expired"
    return Visit(code, nonce)


def _mac(secret: str, expiry: str, nonce: str, agency: str) -> str:
    message = f"visit:{expiry}:{nonce}:{agency}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:12]
