"""Stdlib-only fake of the Zalo OA Open API v3 and its webhook sender, on 127.0.0.1.

Follows /work/shared/reference/zalo.md §2 and §4.4 item 5. Tags as in tests/zalo_emulator.py:
  [documented]/[reported] what public sources say, [assumption] our choice where none does.
- OAuth `POST /v4/oa/access_token`: header `secret_key`, form `app_id`, `grant_type`,
  `refresh_token`; every refresh token works once and the answer carries the next one
  [reported: single-use]. `expires_in` is a string of seconds [reported].
- `POST /v3.0/oa/message/cs`: header `access_token`; text 1–2000 characters; `oa.query.hide`
  buttons with `title` and string `payload`; error -216 for an invalid or expired access
  token and -32 for a rate limit [assumption: codes public integrations read].
- The webhook driver signs `sha256(app_id + body + timestamp + oa_secret_key)` into
  `X-ZEvent-Signature` [reported], and can sign wrongly, stale, or not at all.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.emulator_server import TrackingHandler, TrackingServer

JSONDict = dict[str, Any]
EXPIRED = -216
RATE_LIMITED = -32
REFUSED_REFRESH = -14014
_SHUTDOWN_POLL = 0.02


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Sent:
    user_id: str
    text: str
    buttons: list[JSONDict]
    reply_to: str | None
    access_token: str = field(repr=False)

    @property
    def titles(self) -> list[str]:
        return [str(b["title"]) for b in self.buttons]

    def payload(self, title_start: str) -> str:
        """The payload of the first button whose title starts with `title_start`."""
        for button in self.buttons:
            if str(button["title"]).startswith(title_start):
                return str(button["payload"])
        raise AssertionError(f"no button {title_start!r} in {self.titles}")


class OaEmulator:
    """One OA app: its secrets, its rotating tokens, its outbox."""

    def __init__(
        self,
        *,
        app_id: str = "360846524940903967",
        app_secret: str = "app-secret-for-tests",
        oa_secret_key: str = "oa-secret-key-for-tests",
        expires_in: int = 90000,
        max_buttons: int = 8,
        lifetime: float | None = None,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.oa_secret_key = oa_secret_key
        self.expires_in = expires_in
        self.max_buttons = max_buttons
        # How long an access token really works (default: as announced in expires_in).
        self.lifetime = float(expires_in) if lifetime is None else lifetime
        self.first_refresh_token = "rt-" + secrets.token_hex(8)
        self._lock = threading.Condition()
        self._refresh: str | None = self.first_refresh_token
        self._spent: list[str] = []
        self._access: dict[str, float] = {}  # token → expiry (time.time())
        self._outbox: list[Sent] = []
        self._calls: list[str] = []
        self._rate_limits = 0
        self._hold = threading.Event()
        self._hold.set()
        self._held = 0
        self._refresh_refused = False
        self._server: TrackingServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> OaEmulator:
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _SHUTDOWN_POLL},
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._hold.set()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_all_connections()
        self._server.server_close()
        self._server = None

    def __enter__(self) -> OaEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def config(self, port: int, refresh_token: str | None = None) -> str:
        """A `[zalo_oa]` section pointing at this emulator, listening on `port`."""
        token = self.first_refresh_token if refresh_token is None else refresh_token
        return (
            f'[zalo_oa]\napp_id = "{self.app_id}"\napp_secret = "{self.app_secret}"\n'
            f'oa_secret_key = "{self.oa_secret_key}"\nrefresh_token = "{token}"\n'
            f'base_url = "{self.base_url}"\noauth_url = "{self.base_url}"\n'
            f"port = {port}\n"
        )

    # ------------------------------------------------------------------ test controls

    def sent(self, user_id: str | None = None) -> list[Sent]:
        with self._lock:
            return [s for s in self._outbox if user_id is None or s.user_id == user_id]

    def calls(self, name: str | None = None) -> list[str]:
        with self._lock:
            return [c for c in self._calls if name is None or c == name]

    def wait_sent(self, user_id: str, count: int, timeout: float = 15.0) -> list[Sent]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len([s for s in self._outbox if s.user_id == user_id]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    texts = [s.text[:60] for s in self._outbox if s.user_id == user_id]
                    raise AssertionError(f"{count} messages expected for {user_id}; {texts}")
                self._lock.wait(left)
            return [s for s in self._outbox if s.user_id == user_id]

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (Zalo answers -216)."""
        with self._lock:
            self._access = dict.fromkeys(self._access, 0.0)

    def rate_limit_next(self, count: int = 1) -> None:
        with self._lock:
            self._rate_limits += count

    def refuse_refresh(self) -> None:
        """The consent was withdrawn: every refresh token is refused from now on."""
        with self._lock:
            self._refresh_refused = True

    def hold_sends(self) -> None:
        """Sends wait (unanswered) until `release_sends`: a process can be killed mid-send."""
        self._hold.clear()

    def release_sends(self) -> None:
        self._hold.set()

    def wait_held(self, count: int = 1, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._held < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no send arrived")
                self._lock.wait(left)

    @property
    def refreshes(self) -> int:
        with self._lock:
            return len(self._spent)

    @property
    def current_refresh_token(self) -> str | None:
        with self._lock:
            return self._refresh

    # ------------------------------------------------------------------ webhook driver

    def event(
        self,
        user_id: str,
        text: str | None = None,
        *,
        name: str = "user_send_text",
        msg_id: str | None = None,
        timestamp_ms: int | None = None,
    ) -> JSONDict:
        body: JSONDict = {
            "app_id": self.app_id,
            "user_id_by_app": "552177279717587730",
            "event_name": name,
            "timestamp": str(timestamp_ms if timestamp_ms is not None else now_ms()),
            "sender": {"id": user_id},
            "recipient": {"id": "579745863508352884"},
        }
        if name.startswith("user_send_"):
            message: JSONDict = {"msg_id": msg_id or secrets.token_hex(16)}
            if text is not None:
                message["text"] = text
            body["message"] = message
        return body

    def sign(self, raw: bytes, timestamp: str, *, mac: bool = False) -> str:
        digest = hashlib.sha256(
            self.app_id.encode() + raw + timestamp.encode() + self.oa_secret_key.encode()
        ).hexdigest()
        return f"mac={digest}" if mac else digest

    def signed(
        self, body: JSONDict, *, signature: str = "right", mac: bool = False
    ) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers of a POST: signed right, wrongly, or not at all."""
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "right":
            headers["X-ZEvent-Signature"] = self.sign(raw, str(body.get("timestamp", "")), mac=mac)
        elif signature == "wrong":
            headers["X-ZEvent-Signature"] = "0" * 64
        return raw, headers

    def post(
        self, port: int, path: str, body: JSONDict, *, signature: str = "right", mac: bool = False
    ) -> int:
        """POST one event to the bot's webhook, as Zalo would; the HTTP status."""
        raw, headers = self.signed(body, signature=signature, mac=mac)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", path, raw, headers)
            return connection.getresponse().status
        finally:
            connection.close()

    # ------------------------------------------------------------------ the API

    def handle(self, path: str, headers: Any, raw: bytes) -> tuple[int, JSONDict]:
        if path == "/v4/oa/access_token":
            return self._oauth(headers, raw)
        if path == "/v3.0/oa/message/cs":
            return self._send(headers, raw)
        return 404, {"error": 404, "message": "Not Found"}

    def _oauth(self, headers: Any, raw: bytes) -> tuple[int, JSONDict]:
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        with self._lock:
            self._calls.append("refresh")
            if headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
                return 400, {"error": -14002, "error_name": "Invalid app"}
            token = form.get("refresh_token")
            if (
                form.get("grant_type") != "refresh_token"
                or self._refresh_refused
                or token is None
                or token != self._refresh
            ):
                return 400, {"error": REFUSED_REFRESH, "error_name": "Invalid refresh token"}
            self._spent.append(token)
            self._refresh = "rt-" + secrets.token_hex(8)
            access = "at-" + secrets.token_hex(8)
            self._access[access] = time.time() + self.lifetime
            return 200, {
                "access_token": access,
                "refresh_token": self._refresh,
                "expires_in": str(self.expires_in),
            }

    def _send(self, headers: Any, raw: bytes) -> tuple[int, JSONDict]:
        with self._lock:
            self._calls.append("send")
            self._held += 1
            self._lock.notify_all()
        self._hold.wait()
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, {"error": -201, "message": "body is not JSON"}
        with self._lock:
            token = headers.get("access_token") or ""
            if self._access.get(token, 0.0) <= time.time():
                return 200, {"error": EXPIRED, "message": "Access token is invalid"}
            if self._rate_limits:
                self._rate_limits -= 1
                return 200, {"error": RATE_LIMITED, "message": "Exceeded rate limit"}
            problem = self._check(body)
            if problem:
                return 200, {"error": -201, "message": problem}
            recipient, message = body["recipient"], body["message"]
            buttons = message.get("attachment", {}).get("payload", {}).get("buttons", [])
            self._outbox.append(
                Sent(
                    str(recipient["user_id"]),
                    message["text"],
                    buttons,
                    recipient.get("message_id"),
                    token,
                )
            )
            self._lock.notify_all()
            return 200, {
                "error": 0,
                "message": "Success",
                "data": {"message_id": secrets.token_hex(16), "user_id": recipient["user_id"]},
            }

    def _check(self, body: JSONDict) -> str | None:
        recipient, message = body.get("recipient"), body.get("message")
        if not isinstance(recipient, dict) or not recipient.get("user_id"):
            return "recipient.user_id is required"
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return "message.text is required"
        if not 1 <= len(message["text"]) <= 2000:
            return "text must be 1-2000 characters"
        attachment = message.get("attachment")
        if attachment is None:
            return None
        buttons = attachment.get("payload", {}).get("buttons")
        if attachment.get("type") != "template" or not isinstance(buttons, list):
            return "attachment must be a template with buttons"
        if len(buttons) > self.max_buttons:
            return f"at most {self.max_buttons} buttons"
        for button in buttons:
            if button.get("type") != "oa.query.hide" or not isinstance(button.get("payload"), str):
                return "unsupported button"
            if not button.get("title"):
                return "button title is required"
        return None


class _Server(TrackingServer):
    api: OaEmulator


class _Handler(TrackingHandler):
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, body = self.server.api.handle(urlsplit(self.path).path, self.headers, raw)
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True
