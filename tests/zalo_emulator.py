"""Stdlib-only Zalo Bot Platform API emulator for driving the SIPAS Zalo adapter in tests."""

# Behaviour follows /work/shared/reference/zalo.md §1 and §4.4. Each rule below is tagged:
#   [documented]  the copy of the official docs (DOCS-COPY),
#   [observed]    measured against real bots by other clients (MCP, OpenClaw),
#   [assumption]  our choice where no source says; keep these loose in the adapter.

from __future__ import annotations

import copy
import http.client
import json
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.emulator_server import Fault, TrackingHandler, TrackingServer

JSONDict = dict[str, Any]

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "zalo_bot"

TEXT_EVENT = "message.text.received"
IMAGE_EVENT = "message.image.received"
STICKER_EVENT = "message.sticker.received"
UNSUPPORTED_EVENT = "message.unsupported.received"

SECRET_HEADER = "X-Bot-Api-Secret-Token"  # [documented] setWebhook secret_token echo
USE_REGISTERED = "use-registered"

# [assumption] an id shaped like the documented sticker ids; the inbound sticker field's shape
# is not documented anywhere we could read.
SAMPLE_STICKER = "bfe458bf64fa8da4d4eb"
SAMPLE_PHOTO_URL = "https://photo-stal-zdn.zadn.vn/sipas-test/photo.jpg"

# [documented] getMe fields; display_name is [observed] (modelled by zalobot-python).
_GET_ME: JSONDict = {
    "id": "1459232241454765289",
    "account_name": "bot.SipasTest",
    "account_type": "BASIC",
    "can_join_groups": False,
    "display_name": "Bot SIPAS",
}

# [assumption] plain http is allowed only on loopback so tests can receive deliveries.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
_SEND_METHODS = frozenset({"sendMessage", "sendPhoto"})
_RANDOM_FAULT_STATUSES = (500, 502, 503)
# serve_forever() checks for shutdown this often; short, so stop() returns promptly.
_SHUTDOWN_POLL = 0.02


def fixture(name: str) -> JSONDict:
    """Load `tests/fixtures/zalo_bot/<name>.json`: {"source", "kind", "status", "body"}."""
    filename = name if name.endswith(".json") else f"{name}.json"
    data = json.loads((FIXTURES / filename).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"fixture {filename} is not a JSON object")
    return data


def new_id() -> str:
    """A fresh 20-lowercase-hex id, the shape Zalo uses for user, chat and message ids."""
    return secrets.token_hex(10)


def now_ms() -> int:
    # [documented] Zalo timestamps are epoch milliseconds, unlike Telegram's seconds.
    return time.time_ns() // 1_000_000


class _ApiError(Exception):
    """An ok:false answer; raised inside method handlers and rendered by the server."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self) -> _Response:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            # [assumption] Telegram's shape; Zalo's 429 body and headers are undocumented.
            body["parameters"] = {"retry_after": self.retry_after}
            headers["Retry-After"] = str(self.retry_after)
        return _Response(self.status, body, headers)


@dataclass(frozen=True)
class _Response:
    status: int
    body: JSONDict
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Queued:
    update: JSONDict
    served: bool = False


@dataclass(frozen=True)
class _Webhook:
    url: str
    secret_token: str
    updated_at: int


class ZaloEmulator:
    """In-process fake of bot-api.zaloplatforms.com serving one bot token over plain HTTP."""

    def __init__(
        self,
        token: str = "12345689:test-token",
        *,
        replay: bool = False,
        max_text: int = 2000,
        seed: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.replay = replay
        self.max_text = max_text
        self.host = host
        # Longest a getUpdates waits on an empty queue, whatever `timeout` asks for, so idle
        # polls end quickly in tests. [observed] the real server honours `timeout`.
        self.poll_cap = 1.0
        self.fault_rate = 0.0
        self._rng = random.Random(seed)

        # One re-entrant lock guards all state; the condition wakes long polls and test waiters.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._closed = False
        self._server: _Server | None = None

        self._queue: deque[_Queued] = deque()
        self._replay_next: deque[_Queued] = deque()
        self._served: list[_Queued] = []
        self._polls_waiting = 0
        self._chats: set[str] = set()
        self._outbox: list[JSONDict] = []
        self._calls: list[JSONDict] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._webhook: _Webhook | None = None
        self._webhook_posts: list[JSONDict] = []

        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": lambda body: copy.deepcopy(_GET_ME),
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> ZaloEmulator:
        with self._lock:
            if self._server is not None or self._closed:
                raise RuntimeError("a ZaloEmulator can be started only once")
            self._server = _Server((self.host, 0), _Handler, self)
        self._server.serve_in_thread(f"zalo-emulator:{self.port}", _SHUTDOWN_POLL)
        return self

    def stop(self) -> None:
        """Stop serving; getUpdates calls still waiting are answered 408 at once."""
        with self._cond:
            already_closed = self._closed
            self._closed = True
            self._cond.notify_all()
            server = self._server
        if already_closed or server is None:
            return
        server.stop()

    def __enter__(self) -> ZaloEmulator:
        return self if self._server is not None else self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("ZaloEmulator not started; call start() or use it as a context")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`; methods live at f"{base_url}/bot{token}/{method}"."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Prefix every method URL shares: f"{base_url}/bot{token}"."""
        return f"{self.base_url}/bot{self.token}"

    # ------------------------------------------------------------------ citizens and officials

    def make_update(
        self,
        user_id: str,
        text: str | None,
        *,
        event: str = TEXT_EVENT,
        message_id: str | None = None,
        display_name: str = "Nguyễn Văn A",
    ) -> JSONDict:
        """Build an update object (the getUpdates `result`) without enqueueing it."""
        # [observed] event_name, from.display_name and from.is_bot (OpenClaw, MCP parse real
        # payloads this way); the DOCS-COPY sample instead has no event_name and from.first_name.
        message: JSONDict = {
            "from": {"id": user_id, "display_name": display_name, "is_bot": False},
            # [documented] in private chats chat.id equals from.id.
            "chat": {"id": user_id, "chat_type": "PRIVATE"},
            "message_id": message_id or new_id(),
            "date": now_ms(),
        }
        if text is not None:
            message["text"] = text
        if event == STICKER_EVENT:
            message["sticker"] = SAMPLE_STICKER  # [assumption] field shape
        elif event == IMAGE_EVENT:
            message["photo_url"] = SAMPLE_PHOTO_URL  # [observed] OpenClaw schema field name
        return {"event_name": event, "message": message}

    def send_text(self, user_id: str, text: str, *, display_name: str = "Nguyễn Văn A") -> str:
        """Queue a private text message from `user_id`; returns its message_id."""
        return self._enqueue(self.make_update(user_id, text, display_name=display_name))

    def send_sticker(self, user_id: str, *, display_name: str = "Nguyễn Văn A") -> str:
        """Queue a sticker (no text); returns its message_id."""
        update = self.make_update(user_id, None, event=STICKER_EVENT, display_name=display_name)
        return self._enqueue(update)

    def send_image(
        self, user_id: str, *, caption: str | None = None, display_name: str = "Nguyễn Văn A"
    ) -> str:
        """Queue a photo with an optional caption; returns its message_id."""
        update = self.make_update(user_id, None, event=IMAGE_EVENT, display_name=display_name)
        if caption is not None:
            update["message"]["caption"] = caption  # [observed] OpenClaw schema field name
        return self._enqueue(update)

    def send_raw(self, update: JSONDict) -> None:
        """Queue an arbitrary update object exactly as given (malformed ones included)."""
        self._enqueue(update)

    def replay_all(self) -> None:
        """Queue every update served so far again, ahead of new ones, oldest first."""
        # What a poller sees after a restart: with no offset, nothing is ever acknowledged.
        with self._cond:
            self._queue.extendleft(reversed(self._served))
            self._cond.notify_all()

    def add_chat(self, chat_id: str) -> None:
        """Let the bot message `chat_id` as if that user had written before."""
        with self._cond:
            self._chats.add(chat_id)

    # ------------------------------------------------------------------ observation

    def sent(self, user_id: str | None = None) -> list[JSONDict]:
        """Messages the bot sent (to `user_id`, or to anyone), in order."""
        with self._lock:
            return [
                dict(record)
                for record in self._outbox
                if user_id is None or record["chat_id"] == user_id
            ]

    def texts(self, user_id: str) -> list[str]:
        """Texts the bot sent to `user_id`: sendMessage texts and sendPhoto captions."""
        with self._lock:
            return self._texts(user_id)

    def wait_for(self, user_id: str, count: int, timeout: float = 10.0) -> list[str]:
        """Block until at least `count` texts were sent to `user_id`; return all of them."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._closed or len(self._texts(user_id)) >= count, timeout
            )
            got = self._texts(user_id)
        if len(got) < count:
            raise AssertionError(
                f"expected {count} texts to chat {user_id} within {timeout}s, "
                f"got {len(got)}: {got!r}; recent calls: {self._recent_calls()}"
            )
        return got

    def wait_for_total(self, count: int, timeout: float = 10.0) -> None:
        """Block until the bot has sent at least `count` messages in all chats together."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._outbox) >= count, timeout):
                raise AssertionError(
                    f"{count} messages in all expected within {timeout}s, "
                    f"have {len(self._outbox)}; recent calls: {self._recent_calls()}"
                )

    def calls(self, method: str | None = None) -> list[JSONDict]:
        """Every request received, in order: {"method", "body", "status"} (None: dropped)."""
        with self._lock:
            return [
                copy.deepcopy(call)
                for call in self._calls
                if method is None or call["method"] == method
            ]

    @property
    def polls_waiting(self) -> int:
        """How many getUpdates calls are blocked on an empty queue right now."""
        with self._lock:
            return self._polls_waiting

    def wait_polling(self, count: int = 1, timeout: float = 5.0) -> None:
        """Block until `count` getUpdates calls are waiting on an empty queue."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._polls_waiting >= count, timeout):
                raise AssertionError(
                    f"{count} waiting getUpdates expected within {timeout}s, "
                    f"have {self._polls_waiting}; recent calls: {self._recent_calls()}"
                )

    def pending(self) -> int:
        """Updates queued and not yet served (replays included)."""
        with self._lock:
            return len(self._queue) + len(self._replay_next)

    @property
    def webhook(self) -> JSONDict | None:
        """The registered webhook {"url", "secret_token", "updated_at"}, or None."""
        with self._lock:
            hook = self._webhook
        if hook is None:
            return None
        return {"url": hook.url, "secret_token": hook.secret_token, "updated_at": hook.updated_at}

    @property
    def webhook_posts(self) -> list[JSONDict]:
        """Every post_webhook delivery: {"url", "shape", "headers", "body", "status"}."""
        with self._lock:
            return copy.deepcopy(self._webhook_posts)

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        method: str,
        status: int,
        count: int = 1,
        *,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next `count` calls of `method` answer HTTP `status` with ok:false."""
        with self._cond:
            faults = self._faults.setdefault(method, deque())
            faults.extend(Fault(False, status, retry_after, description) for _ in range(count))

    def faults_left(self, method: str) -> int:
        """How many of the faults set for `method` have not been served yet."""
        with self._cond:
            return len(self._faults.get(method, ()))

    def drop_next(self, method: str, count: int = 1) -> None:
        """Make the next `count` calls of `method` close the connection without an answer."""
        with self._cond:
            self._faults.setdefault(method, deque()).extend(Fault(True) for _ in range(count))

    # ------------------------------------------------------------------ webhook driver

    def post_webhook(
        self,
        update: JSONDict,
        *,
        secret: str | None = USE_REGISTERED,
        shape: str = "wrapped",
        content_type: str = "application/json",
        url: str | None = None,
        timeout: float = 5.0,
    ) -> int:
        """POST `update` to the registered webhook (or `url`) like Zalo would; returns the status.

        shape "wrapped" sends {"ok": true, "result": update} ([documented]); "top" sends the
        update itself ([observed] by two projects logging real deliveries).
        """
        with self._cond:
            hook = self._webhook
            self._note_chat(update)
        if url is None:
            if hook is None:
                raise AssertionError("no webhook registered (setWebhook) and no url given")
            url = hook.url
        if secret == USE_REGISTERED:
            if hook is None:
                raise AssertionError("no webhook registered, so there is no secret to send")
            secret = hook.secret_token
        if shape == "wrapped":
            payload: JSONDict = {"ok": True, "result": update}
        elif shape == "top":
            payload = update
        else:
            raise ValueError(f"shape must be 'wrapped' or 'top', not {shape!r}")

        headers = {"Content-Type": content_type}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        data = json.dumps(payload, ensure_ascii=False).encode()
        parts = urlsplit(url)
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        # http.client, not urllib: urllib would route through any *_proxy set in the environment.
        connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
        try:
            target = parts.path or "/"
            if parts.query:
                target += f"?{parts.query}"
            connection.request("POST", target, body=data, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        finally:
            connection.close()
        with self._cond:
            self._webhook_posts.append(
                {"url": url, "shape": shape, "headers": headers, "body": payload, "status": status}
            )
        return status

    # ------------------------------------------------------------------ request entry point

    def handle(self, http_method: str, token: str, method: str, raw: bytes) -> _Response | None:
        """Serve one request: the answer, or None to drop the connection."""
        body, decode_error = _decode_body(raw)
        record: JSONDict = {"method": method, "body": body, "status": None}
        with self._cond:
            self._calls.append(record)
            fault = self._take_fault(method) if token == self.token else None
        try:
            if token != self.token:
                # [assumption] the real status for a bad token is undocumented.
                raise _ApiError(401, "Unauthorized")
            if fault is not None:
                if fault.drop:
                    return None
                raise _fault_error(fault)
            if http_method != "POST":
                # [documented] every method is POST; [assumption] the answer to anything else.
                raise _ApiError(405, "Method Not Allowed")
            if decode_error:
                # [assumption] the docs only describe JSON bodies.
                raise _ApiError(400, f"Bad Request: {decode_error}")
            if method == "getUpdates":
                # Outside the lock: it waits on the condition for new updates.
                result = self._get_updates(body)
            elif method in self._handlers:
                with self._cond:
                    result = self._handlers[method](body)
                    self._cond.notify_all()
            else:
                raise _ApiError(404, "Not Found")  # [assumption] body for an unknown method
            response = _Response(200, {"ok": True, "result": result})
        except _ApiError as exc:
            response = exc.response()
        except Exception as exc:  # an emulator bug must fail the test, not hang the bot
            response = _ApiError(500, f"Internal Server Error: emulator bug: {exc!r}").response()
        with self._cond:
            record["status"] = response.status
        return response

    # ------------------------------------------------------------------ method handlers

    def _get_updates(self, body: JSONDict) -> JSONDict:
        # [documented] `timeout` is a String of seconds, default 30; ints are accepted too.
        timeout = _seconds(body.get("timeout", 30))
        deadline = time.monotonic() + min(timeout, self.poll_cap)
        with self._cond:
            while True:
                if self._webhook is not None:
                    # [documented] polling is refused while a webhook is set;
                    # [assumption] the status and description, which are undocumented.
                    raise _ApiError(400, "Bad Request: webhook is active, call deleteWebhook")
                if self._replay_next:
                    return copy.deepcopy(self._replay_next.popleft().update)
                if self._queue and not self._closed:
                    queued = self._queue.popleft()
                    if not queued.served:
                        queued.served = True
                        self._served.append(queued)
                    if self.replay:
                        # [observed] MCP: consumed updates reappear on later polls (there is
                        # no offset); once more is enough to prove the bot de-duplicates.
                        self._replay_next.append(queued)
                    # [observed] OpenClaw: one update object per call, not an array.
                    return copy.deepcopy(queued.update)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    # [observed] MCP/OpenClaw: an idle long poll ends in HTTP 408. MCP quotes the
                    # body without error_code; OpenClaw keys on 408, which we also put there.
                    raise _ApiError(408, "Request timeout")
                self._polls_waiting += 1
                self._cond.notify_all()  # wakes wait_polling()
                try:
                    self._cond.wait(remaining)
                finally:
                    self._polls_waiting -= 1

    def _set_webhook(self, body: JSONDict) -> JSONDict:
        url = body.get("url")
        if not isinstance(url, str) or not _webhook_url_ok(url):
            # [documented] url must be HTTPS; the loopback exception is ours, for tests.
            raise _ApiError(400, "Bad Request: url must be an https URL")
        secret = body.get("secret_token")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            # [documented] secret_token is required, 8-256 characters.
            raise _ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self._webhook = _Webhook(url, secret, now_ms())
        return {"url": url, "updated_at": self._webhook.updated_at}

    def _delete_webhook(self, body: JSONDict) -> JSONDict:
        self._webhook = None
        return {"url": "", "updated_at": now_ms()}  # [documented]

    def _send_message(self, body: JSONDict) -> JSONDict:
        chat_id = self._known_chat(body)
        text = self._checked_text(body.get("text"), "text")
        return self._record_send({"method": "sendMessage", "chat_id": chat_id, "text": text})

    def _send_photo(self, body: JSONDict) -> JSONDict:
        chat_id = self._known_chat(body)
        photo = body.get("photo")
        parts = urlsplit(photo) if isinstance(photo, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            # [documented] photo is a URL; there is no upload.
            raise _ApiError(400, "Bad Request: photo must be an absolute http(s) URL")
        record: JSONDict = {"method": "sendPhoto", "chat_id": chat_id, "photo": photo}
        if body.get("caption") is not None:
            record["caption"] = self._checked_text(body["caption"], "caption")
        return self._record_send(record)

    # ------------------------------------------------------------------ helpers (lock held)

    def _enqueue(self, update: JSONDict) -> str:
        update = copy.deepcopy(update)
        with self._cond:
            self._note_chat(update)
            self._queue.append(_Queued(update))
            self._cond.notify_all()
        message = update.get("message")
        message_id = message.get("message_id") if isinstance(message, dict) else None
        return message_id if isinstance(message_id, str) else ""

    def _note_chat(self, update: JSONDict) -> None:
        # Unwrap the documented webhook envelope so both shapes register their chat.
        if update.get("ok") is True and isinstance(update.get("result"), dict):
            update = update["result"]
        message = update.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), str):
            self._chats.add(chat["id"])

    def _known_chat(self, body: JSONDict) -> str:
        chat_id = body.get("chat_id")
        if not isinstance(chat_id, str) or chat_id not in self._chats:
            # [observed] a bot may only message chats that wrote first; [assumption] the answer.
            raise _ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _checked_text(self, value: Any, name: str) -> str:
        # [documented] 1-2000 characters; [assumption] counted as Python code points.
        if not isinstance(value, str) or not 1 <= len(value) <= self.max_text:
            length = len(value) if isinstance(value, str) else "no"
            raise _ApiError(
                400, f"Bad Request: {name} must be 1-{self.max_text} characters, got {length}"
            )
        return value

    def _record_send(self, record: JSONDict) -> JSONDict:
        date = now_ms()
        # [documented] message_id is a 20-hex string, date in milliseconds.
        record.update(message_id=new_id(), at=date)
        self._outbox.append(record)
        return {"message_id": record["message_id"], "date": date}

    def _take_fault(self, method: str) -> Fault | None:
        faults = self._faults.get(method)
        if faults:
            return faults.popleft()
        if (
            method in _SEND_METHODS
            and self.fault_rate > 0
            and self._rng.random() < self.fault_rate
        ):
            return Fault(False, self._rng.choice(_RANDOM_FAULT_STATUSES))
        return None

    def _texts(self, user_id: str) -> list[str]:
        texts: list[str] = []
        for record in self._outbox:
            if record["chat_id"] != user_id:
                continue
            text = record.get("text", record.get("caption"))
            if isinstance(text, str):
                texts.append(text)
        return texts

    def _recent_calls(self) -> list[str]:
        with self._lock:
            return [f"{c['method']}→{c['status']}" for c in self._calls[-12:]]


def _fault_error(fault: Fault) -> _ApiError:
    if fault.description is not None:
        description = fault.description
    elif fault.status == 429:
        description = "Too Many Requests"
    else:
        try:
            description = HTTPStatus(fault.status).phrase
        except ValueError:  # a non-standard status such as 520
            description = "Error"
    retry_after = fault.retry_after if fault.status == 429 else None
    return _ApiError(fault.status, description, retry_after=retry_after)


def _webhook_url_ok(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS


def _decode_body(raw: bytes) -> tuple[JSONDict, str | None]:
    if not raw.strip():
        return {}, None
    try:
        decoded = json.loads(raw)
    except ValueError:
        return {"_undecodable": raw.decode("utf-8", "replace")[:500]}, "body is not JSON"
    if not isinstance(decoded, dict):
        return {"_undecodable": decoded}, "body must be a JSON object"
    return decoded, None


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _ApiError(400, "Bad Request: timeout must be a number of seconds")
    try:
        return max(float(value), 0.0)
    except ValueError:
        raise _ApiError(400, "Bad Request: timeout must be a number of seconds") from None


class _Server(TrackingServer):
    api: ZaloEmulator


class _Handler(TrackingHandler):
    server: _Server

    def _serve(self) -> None:
        raw = self._read_body()
        path = unquote(urlsplit(self.path).path)
        token, _, method = path.removeprefix("/bot").partition("/")
        if not path.startswith("/bot") or not method:
            self._send(_ApiError(404, "Not Found").response())
            return
        response = self.server.api.handle(self.command, token, method, raw)
        if response is None:
            # Fault injection: the client sees the server hang up without an answer.
            self.close_connection = True
            return
        self._send(response)

    def _send(self, response: _Response) -> None:
        data = json.dumps(response.body, ensure_ascii=False).encode()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up (e.g. a cancelled long poll); nothing left to tell it.
            self.close_connection = True
