"""Load, crash and fault scenarios shared by the fast tests and the long soak.

`SIPAS_SOAK=1` selects the long variants (`make soak`); without it every scenario runs at a size
that keeps `make test` quick. The pieces:

- `ChaosEmulator` (tests/chaos_emulator.py): the Bot API emulator with seeded random faults.
- `SurveyTaker` (tests/survey_takers.py): a citizen in a thread who takes the whole survey.
- `run_load`: the real `python -m bot run` process, N citizens at once, SIGKILLs at seeded
  random moments with restarts, then a clean SIGTERM.
- `audit`: what the database holds against what the citizens pressed: one completed response per
  citizen, exactly their answers and optional steps, and daily aggregates equal to a recount.

Run a soak by hand: `python -m tests.soak --citizens 200 --kills 10 [--faults]`.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bot.questionnaires import load_catalogue
from handlers.replies import pseudonym
from survey.models import Questionnaire
from tests.chaos_emulator import ChaosEmulator, FaultPlan
from tests.e2e_support import BotProcess, write_config
from tests.survey_takers import SurveyTaker, expected_extras, plan_answers

SOAK = os.environ.get("SIPAS_SOAK") == "1"
TOKEN = "8123456789:AAH-soak-token-do-not-log-XYZ"
SECRET = "soak-pseudonym-secret-do-not-log"
CATALOGUE = load_catalogue()


def sized(fast: Any, soak: Any) -> Any:
    """The fast value, or the soak value under SIPAS_SOAK=1."""
    return soak if SOAK else fast


# ---------------------------------------------------------------------------- the bot's config


# The end-to-end config with the soak's secret (the audits look for it in the logs).
write_bot_config = partial(write_config, secret=SECRET)


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
