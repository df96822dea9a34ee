"""The Bot API emulator under load: seeded faults, callback queries answered once, and a quick
wait for a citizen's next reply (many citizen threads poll it at once)."""

from __future__ import annotations

import copy
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from survey.texts import say
from tests.botapi_emulator import BotApiEmulator, JSONDict, SentMessage, _ApiError
from tests.telegram_fakes import QUERY_TOO_OLD

# The notices a pressed button can get instead of a reply.
ERROR = say("vi", "error")
STALE = say("vi", "stale")
REFUSED = say("vi", "refused")
FaultKind = Literal["429", "5xx", "drop", "lost"]


@dataclass(frozen=True)
class FaultPlan:
    """Per method, the chance of each fault kind; decided by one seeded generator."""

    rates: Mapping[str, Mapping[FaultKind, float]]
    seed: int = 0

    @classmethod
    def uniform(cls, methods: Sequence[str], share: float, seed: int) -> FaultPlan:
        """`share` of each method's calls fail: a quarter each 429, 5xx, drop, lost."""
        kinds: tuple[FaultKind, ...] = ("429", "5xx", "drop", "lost")
        each = {kind: share / len(kinds) for kind in kinds}
        return cls(dict.fromkeys(methods, each), seed)


class ChaosEmulator(BotApiEmulator):
    """The emulator with seeded faults, Telegram's answer-once rule for callback queries, and
    an efficient per-citizen wait (many citizen threads poll it at once)."""

    def __init__(self, plan: FaultPlan | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.faults_enabled = plan is not None
        self._random = random.Random(plan.seed if plan else 0)
        self._fault_lock = threading.Lock()
        self.injected: Counter[tuple[str, str]] = Counter()
        self._answered: dict[str, str | None] = {}
        self._query_of_update: dict[int, str] = {}
        self._user_of_query: dict[str, int] = {}
        self._waiters: dict[int, threading.Condition] = {}
        # A killed bot resets its connections; socketserver would print each as a traceback.
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]

    # -- faults
    def handle_call(self, method: str, params: JSONDict) -> tuple[int, JSONDict] | None:
        kind, status = self._draw(method)
        if kind is None:
            return super().handle_call(method, params)
        with self._cond:
            self._calls.append((method, params))
            self._touch()
        if kind == "drop":
            return None
        if kind == "lost":
            super().handle_call(method, params)  # served, but the answer never arrives
            return None
        body: JSONDict = {
            "ok": False,
            "error_code": status,
            "description": "Too Many Requests: retry after 1"
            if status == 429
            else ("Internal Server Error" if status == 500 else "Bad Gateway"),
        }
        if status == 429:
            body["parameters"] = {"retry_after": 1}
        return status, body

    def _draw(self, method: str) -> tuple[FaultKind | None, int]:
        """Whether this call fails, how, and with which HTTP status."""
        rates = self.plan.rates.get(method) if self.plan and self.faults_enabled else None
        if not rates:
            return None, 200
        with self._fault_lock:
            roll = self._random.random()
            for kind, rate in rates.items():
                if roll < rate:
                    self.injected[(method, kind)] += 1
                    status = {"429": 429, "5xx": self._random.choice([500, 502])}.get(kind, 0)
                    return kind, status
                roll -= rate
        return None, 200

    # -- callback queries: answered once, like Telegram; remember which press is which query
    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id in self._answered:
            raise _ApiError(400, QUERY_TOO_OLD)
        result = super()._answer_callback_query(params)
        text = params.get("text")
        self._answered[query_id] = text if isinstance(text, str) else None
        self._wake(self._user_of_query.get(query_id))
        return result

    # Each citizen waits on a condition of their own (sharing the emulator's lock), woken
    # only by what concerns them: hundreds of waiters on the emulator's one condition would
    # all wake at every API call and starve the server threads.
    def _wake(self, chat_id: int | None) -> None:
        if chat_id is not None and (waiting := self._waiters.get(chat_id)) is not None:
            waiting.notify_all()

    def _send_message(self, params: JSONDict) -> JSONDict:
        result = super()._send_message(params)
        self._wake(int(result["chat"]["id"]))
        return result

    def _send_file(self, params: JSONDict, kind: Literal["document", "photo"]) -> JSONDict:
        result = super()._send_file(params, kind)
        self._wake(int(result["chat"]["id"]))
        return result

    def close(self) -> None:
        with self._cond:
            for waiting in self._waiters.values():
                waiting.notify_all()
        super().close()

    def press(self, user_id: int, message_id: int, callback_data: str) -> int:
        with self._cond:
            update_id = super().press(user_id, message_id, callback_data)
            query_id = str(self._history[update_id]["callback_query"]["id"])
            self._query_of_update[update_id] = query_id
            self._user_of_query[query_id] = user_id
            return update_id

    def query_of(self, update_id: int) -> str:
        with self._cond:
            return self._query_of_update[update_id]

    def toast(self, query_id: str) -> tuple[bool, str | None]:
        """Whether the query was answered, and with which text."""
        with self._cond:
            return query_id in self._answered, self._answered.get(query_id)

    # -- waiting
    def newest(self, chat_id: int) -> SentMessage | None:
        with self._cond:
            messages = self._messages.get(chat_id)
            return copy.deepcopy(messages[-1]) if messages else None

    def newest_id(self, chat_id: int) -> int:
        with self._cond:
            messages = self._messages.get(chat_id)
            return messages[-1].message_id if messages else 0

    def wait_reply(
        self, chat_id: int, after: int, query_id: str | None, timeout: float
    ) -> SentMessage | str | None:
        """The newest bot message after `after`; else "error"/"stale" when the press was
        answered with such a notice; None when nothing came within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            waiting = self._waiters.setdefault(chat_id, threading.Condition(self._lock))
            while True:
                messages = self._messages.get(chat_id, [])
                newest = messages[-1] if messages else None
                if newest is not None and newest.message_id > after:
                    return copy.deepcopy(newest)
                if query_id is not None and query_id in self._answered:
                    notice = self._answered[query_id]
                    if notice == ERROR:
                        return "error"
                    if notice in (STALE, REFUSED):
                        return "stale"
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return None
                waiting.wait(min(remaining, 1.0))
