"""What keeps the web page honest: form tokens, signed report links, a per-address rate limit."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from survey.actions import to_base36

ALL = "*"
_LINK = re.compile(
    r"^(?P<agency>[A-Za-z0-9_*-]{1,32})~(?P<start>\d{8})~(?P<end>\d{8})~"
    r"(?P<scope>[A-Za-z0-9_.*-]{1,2000})~(?P<expires>[0-9a-z]{1,10})~(?P<mac>[0-9a-f]{32})$"
)


def _mac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def cookie_secret(secret: str) -> str:
    """The key tornado signs cookies with: derived, so it is never the privacy secret itself."""
    return _mac(secret, "web:cookie")


def form_token(secret: str, visitor: str, purpose: str) -> str:
    """A CSRF token: bound to this browser's cookie id and to what the form is for."""
    return _mac(secret, f"web:form:{purpose}:{visitor}")[:32]


def form_token_ok(secret: str, visitor: str | None, purpose: str, given: str | None) -> bool:
    if not visitor or not given:
        return False
    return hmac.compare_digest(form_token(secret, visitor, purpose), given)


def address_key(secret: str, address: str) -> str:
    """A client address as the rate limit keeps it (in memory only): keyed, so not readable."""
    return _mac(secret, f"web:address:{address}")[:24]


@dataclass(frozen=True)
class ReportLink:
    """What a signed report link shows: one agency (None: the scope pooled) of a period, within
    the scope of the official who asked (ALL alone: every agency), until `expires` (unix s)."""

    agency: str | None
    start: date
    end: date
    scope: tuple[str, ...]
    expires: int

    def payload(self) -> str:
        scope = ".".join(self.scope)
        return (
            f"{self.agency or ALL}~{self.start:%Y%m%d}~{self.end:%Y%m%d}~{scope}~"
            f"{to_base36(self.expires)}"
        )

    @property
    def sees_all(self) -> bool:
        return self.scope == (ALL,)

    def visible(self, codes: Sequence[str]) -> list[str]:
        """The configured `codes` this link may show."""
        return list(codes) if self.sees_all else [c for c in codes if c in self.scope]


def sign_report_link(secret: str, link: ReportLink) -> str:
    """The token of a report link: its payload and an HMAC over it."""
    payload = link.payload()
    return f"{payload}~{_mac(secret, f'web:report:{payload}')[:32]}"


LinkRefusal = Literal["malformed", "tampered", "expired"]


def read_report_link(secret: str, token: str, now: float) -> ReportLink | LinkRefusal:
    """The link a token stands for, or why it stands for nothing."""
    match = _LINK.match(token)
    if match is None:
        return "malformed"
    payload = token[: token.rindex("~")]
    if not hmac.compare_digest(match["mac"], _mac(secret, f"web:report:{payload}")[:32]):
        return "tampered"
    expires = int(match["expires"], 36)
    if expires < now:
        return "expired"
    try:
        start, end = _day(match["start"]), _day(match["end"])
    except ValueError:
        return "malformed"
    agency = None if match["agency"] == ALL else match["agency"]
    return ReportLink(agency, start, end, tuple(match["scope"].split(".")), expires)


def _day(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


class RateLimiter:
    """At most `limit` requests per `window` seconds from one client address.

    Addresses are kept only as keyed hashes, only in memory, only for a window: nothing about a
    visitor's address is ever stored.
    """

    MAX_TRACKED = 50_000

    def __init__(
        self,
        secret: str,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret = secret
        self._limit = limit
        self._window = window
        self._clock = clock
        self._seen: dict[str, tuple[float, int]] = {}

    def allow(self, address: str) -> bool:
        now = self._clock()
        key = address_key(self._secret, address)
        started, count = self._seen.get(key, (now, 0))
        if now - started >= self._window:
            started, count = now, 0
        if count >= self._limit:
            return False
        if len(self._seen) >= self.MAX_TRACKED:
            self._forget_before(now - self._window)
        self._seen[key] = (started, count + 1)
        return True

    def _forget_before(self, cutoff: float) -> None:
        for key in [k for k, (started, _) in self._seen.items() if started < cutoff]:
            del self._seen[key]
