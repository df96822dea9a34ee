"""Citizens under load: each in a thread, taking the whole survey with planned answers."""

from __future__ import annotations

import random
import re
import time
import traceback
from dataclasses import dataclass, field

from survey.models import Questionnaire
from survey.texts import say
from tests.botapi_emulator import SentMessage
from tests.chaos_emulator import ERROR, ChaosEmulator

AGENCY, AGENCY_NAME = "ubnd_xa_a", "UBND xã A"
# What a citizen reads, to know where they are.
THANKS = say("vi", "thanks", agency=AGENCY_NAME).split("!")[0]
TOO_SOON = say("vi", "too_soon", agency=AGENCY_NAME, hours="\x00", when="").split("\x00")[0]
CONTINUE = say("vi", "continue")
NA_LABEL = say("vi", "not_applicable")
STATEMENT = re.compile(r"^Câu (\d+)/(\d+) ·")


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
