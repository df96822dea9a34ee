"""Load, crash and fault scenarios shared by the fast tests and the long soak.

`SIPAS_SOAK=1` selects the long variants (`make soak`); without it every scenario runs at a size
that keeps `make test` quick. The pieces:

- `ChaosEmulator`: the Bot API emulator with seeded random faults on chosen methods (429 with
  retry_after, 5xx, a connection dropped before the call is served, and one dropped *after* it
  was served, so the bot sees a failure for a message the citizen did get), answering each
  callback query only once as Telegram does, and an O(1) wait for a citizen's next reply.
- `SurveyTaker`: a citizen in a thread who takes the whole survey pressing planned answers; on a
  missing reply, an error or an "already recorded" notice they type /start and go on, as the
  bot's texts tell them to.
- `run_load`: the real `python -m bot run` process, N citizens at once, SIGKILLs at seeded
  random moments with restarts, then a clean SIGTERM.
- `audit`: what the database holds against what the citizens pressed: one completed response per
  citizen, exactly their answers and optional steps, and daily aggregates equal to a recount.

Run a soak by hand: `python -m tests.soak --citizens 200 --kills 10 [--faults]`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import sqlite3
import threading
import time
import traceback
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from telegram.request import RequestData

from bot.questionnaires import load_catalogue
from handlers.conversation import pseudonym
from survey.models import Questionnaire
from survey.texts import say
from tests.botapi_emulator import BotApiEmulator, JSONDict, SentMessage, _ApiError
from tests.e2e_support import BotProcess, write_config
from tests.telegram_fakes import Call, RecordingRequest

SOAK = os.environ.get("SIPAS_SOAK") == "1"
TOKEN = "8123456789:AAH-soak-token-do-not-log-XYZ"
SECRET = "soak-pseudonym-secret-do-not-log"
AGENCY, AGENCY_NAME = "ubnd_xa_a", "UBND xã A"
CATALOGUE = load_catalogue()


def sized(fast: Any, soak: Any) -> Any:
    """The fast value, or the soak value under SIPAS_SOAK=1."""
    return soak if SOAK else fast


# ---------------------------------------------------------------------------- what citizens see

THANKS = say("vi", "thanks", agency=AGENCY_NAME).split("!")[0]
ERROR = say("vi", "error")
STALE = say("vi", "stale")
REFUSED = say("vi", "refused")
TOO_SOON = say("vi", "too_soon", agency=AGENCY_NAME, hours="\x00", when="").split("\x00")[0]
CONTINUE = say("vi", "continue")
NA_LABEL = say("vi", "not_applicable")
STATEMENT = re.compile(r"^Câu (\d+)/(\d+) ·")
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

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


# ---------------------------------------------------------------------------- in process


@dataclass
class TelegramRules(RecordingRequest):
    """A `RecordingRequest` that refuses, with Telegram's 400, what Telegram would refuse: an
    empty or over-long text, bad button data, a long callback notice, a callback query answered
    twice. In-process tests thereby see such a bug as an error instead of a silent pass."""

    answered: set[str] = field(default_factory=set)
    refused: list[tuple[str, str]] = field(default_factory=list)

    async def intercept(
        self, name: str, params: dict[str, Any], request_data: RequestData | None
    ) -> tuple[int, bytes] | None:
        problem = self.problem(name, params)
        if problem is not None:
            self.refused.append((name, problem))
            self.calls.append(Call(f"{name}!refused", params))
            body = {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
            return 400, json.dumps(body).encode()
        return await super().intercept(name, params, request_data)

    def problem(self, name: str, params: Mapping[str, Any]) -> str | None:
        if name in ("sendMessage", "editMessageText"):
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                return "message text is empty"
            if len(text.encode("utf-16-le")) // 2 > 4096:
                return "message is too long"
            for label, data in buttons_of(params.get("reply_markup")):
                if not label or not 1 <= len(data.encode()) <= 64:
                    return "BUTTON_DATA_INVALID"
        if name == "answerCallbackQuery":
            query = str(params.get("callback_query_id"))
            if query in self.answered:
                return QUERY_TOO_OLD.removeprefix("Bad Request: ")
            self.answered.add(query)
            text = params.get("text")
            if isinstance(text, str) and len(text) > 200:
                return "MESSAGE_TOO_LONG"
        return None

    def to_chat(self, chat_id: int, since: int = 0) -> list[Call]:
        """Messages (and documents, photos) sent to `chat_id` from call number `since` on."""
        return [
            c
            for c in self.calls[since:]
            if c.method in ("sendMessage", "sendDocument", "sendPhoto")
            and int(c.params.get("chat_id", 0)) == chat_id
        ]


def buttons_of(markup: Any) -> list[tuple[str, str]]:
    """(label, callback data) of an inline keyboard as PTB passes it to the request."""
    if not markup:
        return []
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not isinstance(markup, dict):
        markup = markup.to_dict()
    return [
        (str(b.get("text", "")), str(b.get("callback_data", "")))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


# ---------------------------------------------------------------------------- the bot's config


# The end-to-end config with the soak's secret (the audits look for it in the logs).
write_bot_config = partial(write_config, secret=SECRET)


# ---------------------------------------------------------------------------- citizens


def plan_answers(user_id: int, questionnaire: Questionnaire, seed: int) -> dict[str, int | None]:
    """What this citizen answers to each statement (None = not applicable): seeded, varied."""
    rng = random.Random(f"{seed}:{user_id}")
    plan: dict[str, int | None] = {}
    for criterion in questionnaire.criterion_ids:
        roll = rng.random()
        plan[criterion] = (
            None if questionnaire.not_applicable and roll < 0.08 else rng.randint(1, 5)
        )
    return plan


def expected_extras(questionnaire: Questionnaire) -> dict[str, str | None]:
    """Pressing the first button of each optional step: the first option, or skip."""
    return {
        step.id: (step.options[0].id if step.kind == "choice" else None)
        for step in questionnaire.optional
    }


@dataclass
class SurveyTaker:
    """A citizen who takes the whole survey, pressing planned answers, and recovers from any
    missing reply the way the bot tells people to: by typing /start."""

    api: ChaosEmulator
    user_id: int
    questionnaire: Questionnaire
    plan: dict[str, int | None]
    reply_timeout: float = 8.0
    deadline: float = 300.0
    presses: int = 0
    restarts: int = 0
    silent: int = 0
    errors: int = 0
    stale: int = 0
    finished: str = ""
    failure: str = ""
    _after: int = 0
    _query: str | None = None
    log: list[str] = field(default_factory=list)

    def run(self) -> None:
        try:
            self._take()
        except Exception:
            self.failure = traceback.format_exc()

    def _take(self) -> None:
        ends = time.monotonic() + self.deadline
        self._type(f"/start {AGENCY}")
        while not self.finished:
            if time.monotonic() > ends:
                raise AssertionError(f"citizen {self.user_id} not done: {self.log[-12:]}")
            outcome = self.api.wait_reply(
                self.user_id, self._after, self._query, self.reply_timeout
            )
            if not isinstance(outcome, SentMessage):
                self._recover(outcome or "silent")
                continue
            self._after = outcome.message_id
            self._query = None
            self._react(outcome)

    def _recover(self, why: str) -> None:
        if why == "silent":
            self.silent += 1
        elif why == "error":
            self.errors += 1
        else:
            self.stale += 1
        self.restarts += 1
        self.log.append(why)
        self._type("/start")

    def _react(self, message: SentMessage) -> None:
        text = message.text or ""
        self.log.append(text[:30])
        if text.startswith(THANKS) and not message.buttons:
            self.finished = "thanks"
        elif text.startswith(TOO_SOON):
            self.finished = "too_soon"  # the thank-you was lost; the survey is complete
        elif text == ERROR:
            self._recover("error")
        elif not message.buttons:
            pass  # nothing to press: wait for what comes next (or time out and /start)
        elif message.buttons[0][0][0] == CONTINUE:
            self._press(message, CONTINUE)
        elif (match := STATEMENT.match(text)) is not None:
            criterion = self.questionnaire.criterion_ids[int(match.group(1)) - 1]
            value = self.plan[criterion]
            self._press(message, NA_LABEL if value is None else f"{value} ")
        else:  # consent, the agency list, optional steps: the first button moves forward
            self._press(message, message.buttons[0][0][0])

    def _type(self, text: str) -> None:
        self._after = self.api.newest_id(self.user_id)
        self._query = None
        self.api.send_text(self.user_id, text)

    def _press(self, message: SentMessage, prefix: str) -> None:
        self.presses += 1
        update_id = self.api.press_button(self.user_id, message.message_id, prefix)
        self._after = message.message_id
        self._query = self.api.query_of(update_id)


# ---------------------------------------------------------------------------- the database


def audit(
    database: Path, takers: Sequence[SurveyTaker], questionnaire: Questionnaire
) -> list[str]:
    """Everything wrong with the stored data, given what the citizens pressed."""
    problems: list[str] = []
    with sqlite3.connect(database) as db:
        completed = db.execute(
            "SELECT id, respondent FROM responses WHERE status = 'completed'"
        ).fetchall()
        open_ = db.execute("SELECT respondent FROM responses WHERE status = 'in_progress'")
        still_open = {row[0] for row in open_}
        answers: dict[int, dict[str, int]] = {}
        for response_id, criterion, value in db.execute(
            "SELECT response_id, criterion, value FROM answers"
        ):
            answers.setdefault(response_id, {})[criterion] = value
        extras: dict[int, dict[str, str | None]] = {}
        for response_id, name, value in db.execute("SELECT response_id, field, value FROM extras"):
            extras.setdefault(response_id, {})[name] = value
        aggregate_total = db.execute("SELECT COALESCE(SUM(responses), 0) FROM daily_responses")
        total = aggregate_total.fetchone()[0]
        counts = Counter(
            {
                (criterion, value): count
                for criterion, value, count in db.execute(
                    "SELECT criterion, value, SUM(count) FROM daily_counts "
                    "GROUP BY criterion, value"
                )
                if count
            }
        )
    by_respondent: dict[str, list[int]] = {}
    for response_id, respondent in completed:
        by_respondent.setdefault(respondent, []).append(response_id)

    # The brief's check: per pseudonymous respondent, the multiset of answer vectors.
    stored_vectors = sorted(
        sorted((c, v) for rid in rids for c, v in answers.get(rid, {}).items())
        for rids in by_respondent.values()
    )
    wanted_vectors = sorted(sorted(_stored_form(t.plan).items()) for t in takers)
    if stored_vectors != wanted_vectors:
        problems.append(
            f"answer vectors differ: {len(stored_vectors)} stored, {len(wanted_vectors)} expected"
        )
    # Stronger: each citizen's own respondent key holds exactly one completed response.
    extras_wanted = expected_extras(questionnaire)
    known = set()
    for taker in takers:
        key = pseudonym(SECRET, "telegram", taker.user_id)
        known.add(key)
        rids = by_respondent.get(key, [])
        if len(rids) != 1:
            problems.append(f"citizen {taker.user_id}: {len(rids)} completed responses")
            continue
        if answers.get(rids[0], {}) != _stored_form(taker.plan):
            problems.append(f"citizen {taker.user_id}: answers {answers.get(rids[0])}")
        if extras.get(rids[0], {}) != extras_wanted:
            problems.append(f"citizen {taker.user_id}: extras {extras.get(rids[0])}")
        if key in still_open:
            problems.append(f"citizen {taker.user_id}: still has an open response")
    strangers = set(by_respondent) - known
    if strangers:
        problems.append(f"{len(strangers)} completed responses of nobody")
    # The daily aggregates the index is computed from must equal a recount of the answers.
    if total != len(completed):
        problems.append(f"daily_responses counts {total}, {len(completed)} completed")
    recount = Counter((c, v) for rid, _ in completed for c, v in answers.get(rid, {}).items())
    if counts != recount:
        problems.append(
            f"daily_counts differ from the answers: {counts - recount, recount - counts}"
        )
    return problems


def _stored_form(plan: Mapping[str, int | None]) -> dict[str, int]:
    return {c: 0 if v is None else v for c, v in plan.items()}


# ---------------------------------------------------------------------------- a load run


@dataclass
class LoadRun:
    folder: Path
    takers: list[SurveyTaker]
    kills: int
    seconds: float
    log: str
    exit_code: int
    injected: Counter[tuple[str, str]]
    api_calls: Counter[str]

    @property
    def database(self) -> Path:
        return self.folder / "sipas.sqlite"

    def failures(self) -> list[str]:
        found = [f"citizen {t.user_id}:\n{t.failure}" for t in self.takers if t.failure]
        found += [f"citizen {t.user_id} not finished" for t in self.takers if not t.finished]
        return found

    def summary(self) -> str:
        total = Counter[str]()
        for taker in self.takers:
            total.update(
                presses=taker.presses,
                restarts=taker.restarts,
                silent=taker.silent,
                errors=taker.errors,
                stale=taker.stale,
            )
            total[f"finished_{taker.finished or 'no'}"] += 1
        faults = ", ".join(f"{m} {k}: {n}" for (m, k), n in sorted(self.injected.items()))
        return (
            f"{len(self.takers)} citizens, {self.kills} kills, {self.seconds:.1f} s; "
            f"{dict(total)}; faults: {faults or 'none'}"
        )


def run_load(
    folder: Path,
    *,
    citizens: int,
    kills: int = 0,
    seed: int = 1,
    synchronous: str = "FULL",
    questionnaire: str = "sipas-2023",
    faults: FaultPlan | None = None,
    reply_timeout: float = 8.0,
    deadline: float = 600.0,
    first_user: int = 5_100_000_000,
) -> LoadRun:
    """The real bot process, `citizens` at once, `kills` SIGKILLs at seeded moments."""
    rng = random.Random(seed)
    form = CATALOGUE[questionnaire]
    started = time.monotonic()
    api = ChaosEmulator(faults, token=TOKEN)
    bot = BotProcess(
        write_bot_config(folder, api, synchronous=synchronous, questionnaire=questionnaire),
        folder / "bot.log",
    )
    ids = [first_user + n * 7919 for n in range(citizens)]
    takers = [
        SurveyTaker(api, uid, form, plan_answers(uid, form, seed), reply_timeout, deadline)
        for uid in ids
    ]
    threads = [threading.Thread(target=t.run, daemon=True) for t in takers]
    steps = 1 + len(form.criteria) + len(form.optional)
    done = 0
    try:
        bot.start()
        for thread in threads:
            thread.start()
        for share in sorted(rng.uniform(0.05, 0.9) for _ in range(kills)):
            _wait_for_presses(api, takers, threads, share * steps * citizens, deadline)
            time.sleep(rng.uniform(0.0, 0.3))
            bot.kill()
            done += 1
            time.sleep(rng.uniform(0.0, 0.5))
            bot.start()
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - (time.monotonic() - started)))
        exit_code = bot.stop()
    finally:
        if bot.process is not None and bot.process.poll() is None:
            bot.process.kill()
            bot.process.wait(timeout=10)
        api.close()
    return LoadRun(
        folder,
        takers,
        done,
        time.monotonic() - started,
        (folder / "bot.log").read_text(encoding="utf-8", errors="replace"),
        exit_code,
        Counter(api.injected),
        Counter(name for name, _ in api.calls),
    )


def _wait_for_presses(
    api: ChaosEmulator,
    takers: Sequence[SurveyTaker],
    threads: Sequence[threading.Thread],
    target: float,
    timeout: float,
) -> None:
    api.wait_for(
        lambda: (
            sum(t.presses for t in takers) >= target or not any(th.is_alive() for th in threads)
        ),
        timeout=timeout,
        what="progress before a kill",
    )


def main() -> None:  # pragma: no cover - a tool for people
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    parser.add_argument("--questionnaire", default="sipas-2023")
    parser.add_argument("--faults", type=float, default=0.0, help="share of failing calls")
    args = parser.parse_args()
    plan = (
        FaultPlan.uniform(
            ["sendMessage", "editMessageText", "answerCallbackQuery", "getUpdates"],
            args.faults,
            args.seed,
        )
        if args.faults
        else None
    )
    with tempfile.TemporaryDirectory() as folder:
        run = run_load(
            Path(folder),
            citizens=args.citizens,
            kills=args.kills,
            seed=args.seed,
            synchronous=args.synchronous,
            questionnaire=args.questionnaire,
            faults=plan,
        )
        print(run.summary())
        problems = run.failures() + audit(run.database, run.takers, CATALOGUE[args.questionnaire])
        print("\n".join(problems) or "database: exactly what the citizens pressed")


if __name__ == "__main__":  # pragma: no cover
    main()
