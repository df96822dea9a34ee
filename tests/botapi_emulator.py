"""Stdlib-only Telegram Bot API emulator for driving the real SIPAS bot in end-to-end tests."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.emulator_server import Fault, TrackingHandler, TrackingServer

JSONDict = dict[str, Any]
Buttons = list[list[tuple[str, str | None]]]

# Waiters re-check their predicate at least this often, so predicates that depend on state
# outside the emulator (files, databases) are noticed without long sleeps.
_POLL_SLICE = 0.05

# Real update ids are large; starting far from 1 keeps them distinct from message and user ids,
# so a test mixing them up fails loudly instead of passing by coincidence.
_FIRST_UPDATE_ID = 100_000_001
_FIRST_CALLBACK_ID = 4_300_000_000_000_000_000

# PTB sends plain strings unquoted but every other value JSON-encoded in form fields, so
# `text="123"` arrives exactly like `chat_id=123`. These fields must never be JSON-decoded.
_STRING_FIELDS = frozenset(
    [
        "text",
        "caption",
        "callback_query_id",
        "inline_message_id",
        "url",
        "action",
        "secret_token",
        "ip_address",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "file_id",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "query",
        "document",
        "photo",
    ]
)

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_DISPOSITION_PARAM_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class _ApiError(Exception):
    """A Bot API error response; raised inside method handlers and rendered by the server."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class SentMessage:
    """A message the bot sent, as currently shown to the user (edits applied)."""

    message_id: int
    chat_id: int
    kind: Literal["text", "document", "photo"] = "text"
    text: str = ""
    caption: str | None = None
    buttons: Buttons = field(default_factory=list)
    edits: int = 0
    reply_markup: JSONDict | None = None
    file_name: str | None = None
    file_size: int = 0
    file_bytes: bytes = b""
    file_id: str | None = None
    mime_type: str | None = None
    date: int = 0

    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]


@dataclass
class _QueuedUpdate:
    update_id: int
    payload: JSONDict
    # A replayed duplicate reuses an id the bot may already have confirmed; it must still be
    # delivered once, otherwise the de-duplication path could never be exercised.
    replayed: bool = False
    delivered: bool = False


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    filename: str
    mime_type: str
    data: bytes


@dataclass
class _UserInfo:
    first_name: str = "Test"
    username: str | None = None
    language_code: str | None = None


class BotApiEmulator:
    """In-process fake of api.telegram.org serving one bot token over plain HTTP."""

    def __init__(
        self,
        token: str = "123:ABC",
        username: str = "sipas_test_bot",
        *,
        first_name: str = "SIPAS Test Bot",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.username = username
        self.first_name = first_name
        bot_id, _, _ = token.partition(":")
        self.bot_id = int(bot_id) if bot_id.isdigit() else 1

        # One re-entrant lock guards all state; the condition wakes long polls and test waiters.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._version = 0
        self._closed = False

        self._next_update_id = _FIRST_UPDATE_ID
        self._next_callback_id = _FIRST_CALLBACK_ID
        self._next_file_no = 1
        self._queue: list[_QueuedUpdate] = []
        self._history: dict[int, JSONDict] = {}
        self._poll_generation = 0
        self._waiting_polls = 0

        self._users: dict[int, _UserInfo] = {}
        self.profiles: dict[int, tuple[str, str | None]] = {}  # user id → first name, username
        self._blocked: set[int] = set()
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[int, list[SentMessage]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._open_callbacks: set[str] = set()

        self._calls: list[tuple[str, JSONDict]] = []
        self._callback_answers: list[tuple[str, str | None]] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._webhook_url = ""
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}

        self._handlers: dict[str, Callable[[JSONDict], Any]] = {
            "getMe": self._get_me,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": lambda params: self._send_file(params, "document"),
            "sendPhoto": lambda params: self._send_file(params, "photo"),
            # Harmless startup calls a bot may make; accepting them keeps e2e tests focused.
            "setMyDescription": lambda params: True,
            "setMyShortDescription": lambda params: True,
            "setMyName": lambda params: True,
            "setChatMenuButton": lambda params: True,
            "close": lambda params: True,
            "logOut": lambda params: True,
        }
        # The real Bot API matches method names case-insensitively.
        self._canonical = {name.lower(): name for name in [*self._handlers, "getUpdates"]}

        self._server = _Server((host, port), _Handler, self)
        self.host = host
        self.port: int = self._server.server_address[1]
        self.base_url = f"http://{host}:{self.port}/bot"
        self.base_file_url = f"http://{host}:{self.port}/file/bot"
        self._server.serve_in_thread(f"botapi-emulator:{self.port}", _POLL_SLICE)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> BotApiEmulator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving; long polls in progress are woken and answered with no updates."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._touch()
        self._server.stop()

    # ------------------------------------------------------------------ simulated users

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Test",
        username: str | None = None,
        language_code: str | None = None,
    ) -> int:
        """Queue a private-chat text message from `user_id`; returns its update_id. A user
        with a profile keeps its name and username."""
        first_name, username = self.profiles.get(user_id, (first_name, username))
        with self._cond:
            self._users[user_id] = _UserInfo(first_name, username, language_code)
            message: JSONDict = {
                "message_id": self._allocate_message_id(user_id),
                "from": self._user_json(user_id),
                "chat": self._chat_json(user_id),
                "date": int(time.time()),
                "text": text,
            }
            match = _COMMAND_RE.match(text)
            if match:
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": _utf16_len(match.group(0))}
                ]
            return self._enqueue({"message": message})

    def press(self, user_id: int, message_id: int, callback_data: str) -> int:
        """Queue a callback_query as if `user_id` pressed a button carrying `callback_data`."""
        with self._cond:
            stored = self._find_message(user_id, message_id)
            if stored is None:
                raise AssertionError(
                    f"no live bot message {message_id} in chat {user_id}; "
                    f"have {[m.message_id for m in self._messages.get(user_id, [])]}"
                )
            query_id = str(self._next_callback_id)
            self._next_callback_id += 1
            self._open_callbacks.add(query_id)
            callback: JSONDict = {
                "id": query_id,
                "from": self._user_json(user_id),
                "message": self._message_json(stored),
                "chat_instance": str(-(10**18) - user_id),
                "data": callback_data,
            }
            return self._enqueue({"callback_query": callback})

    def press_button(self, user_id: int, message_id: int, text_prefix: str) -> int:
        """Press the first inline button whose text starts with `text_prefix`."""
        with self._cond:
            stored = self._find_message(user_id, message_id)
            if stored is None:
                raise AssertionError(f"no live bot message {message_id} in chat {user_id}")
            for row in stored.buttons:
                for text, data in row:
                    if text.startswith(text_prefix):
                        if data is None:
                            raise AssertionError(f"button {text!r} has no callback_data")
                        return self.press(user_id, message_id, data)
            raise AssertionError(
                f"no button starting with {text_prefix!r} in message {message_id} "
                f"(chat {user_id}); buttons: {stored.buttons}"
            )

    def replay(self, update_id: int) -> int:
        """Queue an exact duplicate of an earlier update (same update_id)."""
        with self._cond:
            if update_id not in self._history:
                raise AssertionError(f"unknown update_id {update_id}")
            payload = copy.deepcopy(self._history[update_id])
            self._queue.append(_QueuedUpdate(update_id, payload, replayed=True))
            self._touch()
            return update_id

    def queue_update(self, update: JSONDict) -> int:
        """Queue an arbitrary update body (without update_id); returns the assigned id."""
        with self._cond:
            return self._enqueue(copy.deepcopy(update))

    def block(self, user_id: int) -> None:
        """Make sends to `user_id` fail with 403, as when the user blocked the bot."""
        with self._cond:
            self._blocked.add(user_id)
            self._touch()

    def unblock(self, user_id: int) -> None:
        with self._cond:
            self._blocked.discard(user_id)
            self._touch()

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        status: int = 500,
        *,
        retry_after: int | None = None,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Make the next `count` calls of `method` fail with HTTP `status`."""
        if status == 429 and retry_after is None:
            # PTB only raises RetryAfter when the parameter is present and non-zero.
            retry_after = 1
        with self._cond:
            faults = self._faults.setdefault(method.lower(), deque())
            faults.extend(Fault(False, status, retry_after, description) for _ in range(count))

    def drop_connection_next(self, method: str, count: int = 1) -> None:
        """Make the next `count` calls of `method` close the socket without any response."""
        with self._cond:
            faults = self._faults.setdefault(method.lower(), deque())
            faults.extend(Fault(True) for _ in range(count))

    # ------------------------------------------------------------------ observation

    @property
    def calls(self) -> list[tuple[str, JSONDict]]:
        """Snapshot of every API call received, in order, including failed ones."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[JSONDict]:
        """Parameters of each call of `method` (case-insensitive), in order."""
        wanted = method.lower()
        with self._lock:
            return [params for name, params in self._calls if name.lower() == wanted]

    @property
    def callback_answers(self) -> list[tuple[str, str | None]]:
        with self._lock:
            return list(self._callback_answers)

    @property
    def long_polls_waiting(self) -> int:
        """How many getUpdates requests are currently blocked waiting for updates."""
        with self._lock:
            return self._waiting_polls

    @property
    def webhook_url(self) -> str:
        with self._lock:
            return self._webhook_url

    def pending_update_ids(self) -> list[int]:
        """Update ids not yet confirmed by an offset."""
        with self._lock:
            return [queued.update_id for queued in self._queue]

    def commands(
        self, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The command list set via setMyCommands for that scope and language."""
        with self._lock:
            stored = self._commands.get(_commands_key(scope, language_code), [])
            return [(c["command"], c["description"]) for c in stored]

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Snapshots of the bot's messages in `chat_id`, oldest first."""
        with self._lock:
            return [copy.deepcopy(m) for m in self._messages.get(chat_id, [])]

    def last_message(self, chat_id: int) -> SentMessage:
        """The bot's newest message in `chat_id`; AssertionError if there is none."""
        found = self.messages(chat_id)
        if not found:
            raise AssertionError(f"the bot has sent no message to chat {chat_id}")
        return found[-1]

    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 10.0, *, what: str = "condition"
    ) -> None:
        """Block until `predicate()` is true; AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                version = self._version
            # Evaluated without the lock so predicates may call back into the emulator freely.
            if predicate():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = [name for name, _ in self.calls[-15:]]
                raise AssertionError(f"{what} not met within {timeout}s; recent calls: {recent}")
            with self._cond:
                if self._version == version:
                    self._cond.wait(min(_POLL_SLICE, remaining))

    def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
    ) -> SentMessage:
        """Block until a bot message in `chat_id` matches; returns the newest match."""
        found: list[SentMessage] = []

        def matches() -> bool:
            hits = [m for m in self.messages(chat_id) if predicate is None or predicate(m)]
            if hits:
                found.append(hits[-1])
            return bool(hits)

        try:
            self.wait_for(matches, timeout, what=f"message in chat {chat_id}")
        except AssertionError as exc:
            shown = [
                (m.message_id, m.text or m.caption, m.buttons) for m in self.messages(chat_id)
            ]
            raise AssertionError(f"{exc}; messages in chat {chat_id}: {shown}") from None
        return found[-1]

    async def wait_for_async(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """`wait_for` without blocking the event loop (for tests running a bot in-process)."""
        await asyncio.to_thread(self.wait_for, predicate, timeout)

    async def wait_for_message_async(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 10.0,
    ) -> SentMessage:
        return await asyncio.to_thread(self.wait_for_message, chat_id, predicate, timeout)

    # ------------------------------------------------------------------ request entry points

    def handle_call(self, method: str, params: JSONDict) -> tuple[int, JSONDict] | None:
        """Serve one Bot API call: (HTTP status, JSON body), or None to drop the connection."""
        name = self._canonical.get(method.lower(), method)
        with self._cond:
            self._calls.append((name, params))
            self._touch()
            faults = self._faults.get(name.lower())
            fault = faults.popleft() if faults else None
        if fault is not None:
            return None if fault.drop else _fault_response(fault)
        try:
            if name == "getUpdates":
                # Handled outside the lock: it waits on the condition for new updates.
                result = self._get_updates(params)
            elif name in self._handlers:
                with self._cond:
                    result = self._handlers[name](params)
                    self._touch()
            else:
                raise _ApiError(404, "Not Found: method not found")
        except _ApiError as exc:
            return exc.status, exc.payload()
        except Exception as exc:  # an emulator bug must surface in the test, not hang the bot
            return 500, _ApiError(500, f"Internal Server Error: emulator bug: {exc!r}").payload()
        return 200, {"ok": True, "result": result}

    # ------------------------------------------------------------------ method handlers

    def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._bot_user_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = _as_int(params.get("offset"), 0)
        limit = min(max(_as_int(params.get("limit"), 100), 1), 100)
        timeout = max(_as_float(params.get("timeout"), 0.0), 0.0)
        allowed = params.get("allowed_updates") or []
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._webhook_url:
                raise _ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            # Like Telegram, a newer getUpdates terminates an older one still waiting; this also
            # stops a poll abandoned by a killed or stopped bot from swallowing updates.
            self._poll_generation += 1
            generation = self._poll_generation
            self._touch()
            self._confirm(offset)
            while True:
                if self._closed:
                    return []
                if generation != self._poll_generation:
                    raise _ApiError(409, _DEFAULT_DESCRIPTIONS[409])
                if allowed:
                    self._queue = [q for q in self._queue if _update_type(q.payload) in allowed]
                batch = [
                    q
                    for q in self._queue
                    if q.update_id >= offset or (q.replayed and not q.delivered)
                ][:limit]
                if batch:
                    for queued in batch:
                        queued.delivered = True
                    # Sorted so PTB's "last id + 1" offset never skips back over a replay.
                    batch.sort(key=lambda q: q.update_id)
                    return [{"update_id": q.update_id, **copy.deepcopy(q.payload)} for q in batch]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._waiting_polls += 1
                try:
                    self._cond.wait(remaining)
                finally:
                    self._waiting_polls -= 1

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._queue = self._queue[offset:]
        elif offset > 0:
            self._queue = [
                q for q in self._queue if q.update_id >= offset or (q.replayed and not q.delivered)
            ]

    def _delete_webhook(self, params: JSONDict) -> bool:
        self._webhook_url = ""
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _set_webhook(self, params: JSONDict) -> bool:
        self._webhook_url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            name = command.get("command") if isinstance(command, dict) else None
            description = command.get("description") if isinstance(command, dict) else None
            if not isinstance(name, str) or not _BOT_COMMAND_NAME_RE.fullmatch(name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: command description is empty or too long")
        key = _commands_key(params.get("scope"), params.get("language_code") or "")
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._target_chat(params)
        text = _checked_text(params)
        markup = params.get("reply_markup")
        message = SentMessage(
            message_id=self._allocate_message_id(chat_id),
            chat_id=chat_id,
            kind="text",
            text=text,
            buttons=_parse_buttons(markup),
            reply_markup=markup,
            date=int(time.time()),
        )
        self._messages.setdefault(chat_id, []).append(message)
        return self._message_json(message)

    def _send_file(self, params: JSONDict, kind: Literal["document", "photo"]) -> JSONDict:
        chat_id = self._target_chat(params)
        source = params.get(kind)
        if isinstance(source, UploadedFile):
            if not source.data:
                raise _ApiError(400, "Bad Request: file must be non-empty")
            stored = self._store_file(kind, source.filename, source.content_type, source.data)
        elif isinstance(source, str) and source in self._files:
            stored = self._files[source]  # re-sending by file_id
        elif isinstance(source, str) and source.startswith(("http://", "https://")):
            name = source.rsplit("/", 1)[-1]
            stored = self._store_file(kind, name, "application/octet-stream", b"")
        else:
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = params.get("caption")
        if isinstance(caption, str) and _utf16_len(caption) > 1024:
            raise _ApiError(400, "Bad Request: message caption is too long")
        markup = params.get("reply_markup")
        message = SentMessage(
            message_id=self._allocate_message_id(chat_id),
            chat_id=chat_id,
            kind=kind,
            caption=caption if isinstance(caption, str) else None,
            buttons=_parse_buttons(markup),
            reply_markup=markup,
            file_name=stored.filename if kind == "document" else None,
            file_size=len(stored.data),
            file_bytes=stored.data,
            file_id=stored.file_id,
            mime_type=stored.mime_type,
            date=int(time.time()),
        )
        self._messages.setdefault(chat_id, []).append(message)
        return self._message_json(message)

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        message = self._message_to_edit(params)
        if message.kind != "text":
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text = _checked_text(params)
        # Telegram drops the inline keyboard when an edit omits reply_markup.
        markup = params.get("reply_markup")
        buttons = _parse_buttons(markup)
        if text == message.text and buttons == message.buttons:
            raise _ApiError(400, _NOT_MODIFIED)
        message.text, message.buttons, message.reply_markup = text, buttons, markup
        message.edits += 1
        return self._message_json(message)

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        text = params.get("text")
        self._callback_answers.append((query_id, text if isinstance(text, str) else None))
        return True

    # ------------------------------------------------------------------ internals (lock held)

    def _touch(self) -> None:
        self._version += 1
        self._cond.notify_all()

    def _enqueue(self, body: JSONDict) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        self._history[update_id] = copy.deepcopy(body)
        self._queue.append(_QueuedUpdate(update_id, body))
        self._touch()
        return update_id

    def _allocate_message_id(self, chat_id: int) -> int:
        # User and bot messages share one counter per chat, as in real private chats.
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _target_chat(self, params: JSONDict) -> int:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise _ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _find_message(self, chat_id: int, message_id: int) -> SentMessage | None:
        for message in self._messages.get(chat_id, []):
            if message.message_id == message_id:
                return message
        return None

    def _message_to_edit(self, params: JSONDict) -> SentMessage:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: inline messages are not emulated")
        chat_id = self._target_chat(params)
        message = self._find_message(chat_id, _as_int(params.get("message_id"), 0))
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return message

    def _store_file(self, kind: str, filename: str, mime_type: str, data: bytes) -> _StoredFile:
        number = self._next_file_no
        self._next_file_no += 1
        prefix = "BQACAgUAAxk" if kind == "document" else "AgACAgUAAxk"
        stored = _StoredFile(
            file_id=f"{prefix}{number:08d}",
            file_unique_id=f"AQAD{number:06d}",
            filename=filename,
            mime_type=mime_type,
            data=data,
        )
        self._files[stored.file_id] = stored
        return stored

    def _bot_user_json(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def _user_json(self, user_id: int) -> JSONDict:
        info = self._users.get(user_id, _UserInfo())
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": info.first_name}
        if info.username:
            user["username"] = info.username
        if info.language_code:
            user["language_code"] = info.language_code
        return user

    def _chat_json(self, chat_id: int) -> JSONDict:
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
        info = self._users.get(chat_id, _UserInfo())
        chat: JSONDict = {"id": chat_id, "type": "private", "first_name": info.first_name}
        if info.username:
            chat["username"] = info.username
        return chat

    def _message_json(self, message: SentMessage) -> JSONDict:
        body: JSONDict = {
            "message_id": message.message_id,
            "from": self._bot_user_json(),
            "chat": self._chat_json(message.chat_id),
            "date": message.date,
        }
        if message.edits:
            body["edit_date"] = int(time.time())
        if message.kind == "text":
            body["text"] = message.text
        else:
            stored = self._files[message.file_id or ""]
            file_json: JSONDict = {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
            }
            if message.kind == "document":
                body["document"] = {
                    **file_json,
                    "file_name": message.file_name,
                    "mime_type": message.mime_type or "application/octet-stream",
                }
            else:
                body["photo"] = [{**file_json, "width": 800, "height": 600}]
            if message.caption is not None:
                body["caption"] = message.caption
        # Only inline keyboards are echoed back on the message, as Telegram does.
        if message.buttons and isinstance(message.reply_markup, dict):
            body["reply_markup"] = {
                "inline_keyboard": copy.deepcopy(message.reply_markup["inline_keyboard"])
            }
        return body


_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class _Server(TrackingServer):
    api: BotApiEmulator


class _Handler(TrackingHandler):
    server: _Server

    def _serve(self) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError:
            self._send_json(400, _ApiError(400, "Bad Request: malformed body").payload())
            return
        path = unquote(url.path)
        if not path.startswith("/bot"):
            self._send_json(404, _ApiError(404, "Not Found").payload())
            return
        token, _, method = path.removeprefix("/bot").partition("/")
        if token != api.token:
            self._send_json(401, _ApiError(401, "Unauthorized").payload())
            return
        if not method:
            self._send_json(404, _ApiError(404, "Not Found: method not found").payload())
            return
        try:
            params = _parse_params(self.headers.get("Content-Type", ""), body, url.query)
        except ValueError as exc:
            self._send_json(400, _ApiError(400, f"Bad Request: {exc}").payload())
            return
        outcome = api.handle_call(method, params)
        if outcome is None:
            # Fault injection: the client sees the server hang up without a response.
            self.close_connection = True
            return
        self._send_json(*outcome)

    def _send_json(self, status: int, payload: JSONDict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up (e.g. a cancelled long poll); nothing left to tell it.
            self.close_connection = True


# ---------------------------------------------------------------------- request decoding


def _parse_params(content_type: str, body: bytes, query: str) -> JSONDict:
    """Decode query string, urlencoded, multipart or JSON bodies into one parameter dict."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    fields: dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    json_body: JSONDict = {}
    if media_type == "application/json":
        if body.strip():
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise ValueError("JSON body must be an object")
            json_body = decoded
    elif media_type == "multipart/form-data":
        multipart_fields, files = _parse_multipart(body, content_type)
        fields.update(multipart_fields)
    elif body:
        fields.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    params: JSONDict = {key: _decode_field(key, value) for key, value in fields.items()}
    params.update(json_body)  # JSON bodies already carry typed values
    params.update(files)
    return params


def _decode_field(key: str, value: str) -> Any:
    if key in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


def _parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, Any]]:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ValueError("multipart body without boundary")
    delimiter = b"\r\n--" + match.group(1).encode()
    fields: dict[str, str] = {}
    files: dict[str, Any] = {}
    # Prefixing CRLF makes the first delimiter look like the others.
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = dict(_DISPOSITION_PARAM_RE.findall(headers.get("content-disposition", "")))
        name = _unescape_form_param(disposition.get("name", ""))
        if "filename" in disposition:
            files[name] = UploadedFile(
                field=name,
                filename=_unescape_form_param(disposition["filename"]),
                content_type=headers.get("content-type", "application/octet-stream"),
                data=content,
            )
        else:
            fields[name] = content.decode("utf-8")
    return fields, files


def _unescape_form_param(value: str) -> str:
    # httpx follows the HTML5 form encoding: '"' -> %22, control chars -> %XX, '\' doubled.
    value = re.sub(r"%([01][0-9A-Fa-f]|22)", lambda m: chr(int(m.group(1), 16)), value)
    return value.replace("\\\\", "\\")


# ---------------------------------------------------------------------- helpers


def _fault_response(fault: Fault) -> tuple[int, JSONDict]:
    if fault.status == 429:
        description = fault.description or f"Too Many Requests: retry after {fault.retry_after}"
    else:
        description = fault.description or _DEFAULT_DESCRIPTIONS.get(
            fault.status, HTTPStatus(fault.status).phrase
        )
    parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
    return fault.status, _ApiError(fault.status, description, parameters).payload()


def _checked_text(params: JSONDict) -> str:
    """A message's text, refused as Telegram would when empty or over 4,096 characters."""
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    if _utf16_len(text) > 4096:
        raise _ApiError(400, "Bad Request: message is too long")
    return text


def _parse_buttons(markup: Any) -> Buttons:
    """Validate an inline keyboard like Telegram does and flatten it to (text, data) pairs."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return []
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array of Array')
    buttons: Buttons = []
    for row in rows:
        parsed_row: list[tuple[str, str | None]] = []
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button: text empty")
            data = button.get("callback_data")
            if data is not None and (
                not isinstance(data, str) or not 1 <= len(data.encode()) <= 64
            ):
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if data is None and not any(
                key in button for key in ("url", "web_app", "login_url", "switch_inline_query")
            ):
                raise _ApiError(
                    400,
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard",
                )
            parsed_row.append((str(button["text"]), data))
        buttons.append(parsed_row)
    return buttons


def _update_type(payload: JSONDict) -> str:
    return next(iter(payload), "")


def _commands_key(scope: Any, language_code: str) -> tuple[str, str]:
    scope = scope or {"type": "default"}
    return json.dumps(scope, sort_keys=True), language_code


def _utf16_len(text: str) -> int:
    # Telegram measures entity offsets and lengths in UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _as_float(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
