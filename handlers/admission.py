"""Who may begin a survey, and when: the agency's visit rule, signed visits, the resubmission
window. Refusals come back as text keys; the conversation words them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.replies import Citizen, pseudonym
from storage.responses import Completion, ResponseStore, VisitTaken
from survey.agencies import Agencies, Agency
from survey.flow import Progress
from survey.visits import read_visit_token


@dataclass(frozen=True)
class Refusal:
    """Why a survey cannot begin: a text key (`visit_used`, `too_soon`, …) and its details."""

    key: str
    until: datetime | None = None  # with `too_soon`: when the window reopens
    agency: str = ""  # the agency's name, where the text names it


@dataclass(frozen=True)
class Visit:
    """A signed visit link that checked out: its agency, its single-use nonce, and whether this
    citizen has used it already (only its owner may come back to finish)."""

    agency: Agency
    nonce: str
    used: bool = False


class Admission:
    """Begins responses, holding every rule about who may begin one and when."""

    def __init__(
        self,
        store: ResponseStore,
        agencies: Agencies,
        *,
        secret: str,
        zone: ZoneInfo,
        resubmit_after: timedelta,
    ) -> None:
        self._store = store
        self._agencies = agencies
        self._secret = secret
        self._zone = zone
        self.resubmit_after = resubmit_after

    def completion(self, citizen: Citizen, now: datetime) -> Completion:
        """What completing a response now records: its day and the resubmission lock."""
        return Completion(
            day=now.astimezone(self._zone).date(),
            lock=self._lock(citizen),
            lock_until=now + self.resubmit_after,
        )

    async def visit(self, citizen: Citizen, payload: str, now: datetime) -> Visit | Refusal:
        """A signed visit link: valid, for a configured agency, and not used by someone else
        (its owner may come back to finish)."""
        checked = read_visit_token(self._secret, payload, int(now.timestamp() // 60))
        agency = None if isinstance(checked, str) else self._agencies.get(checked.agency)
        if isinstance(checked, str) or agency is None:
            return Refusal(f"visit_{checked if isinstance(checked, str) else 'tampered'}")
        spent_by = await self._store.visit_spent_by(checked.nonce)
        if spent_by not in (None, citizen.respondent):
            return Refusal("visit_used")
        return Visit(agency, checked.nonce, used=spent_by is not None)

    async def begin(
        self, citizen: Citizen, agency: Agency, now: datetime, visit: str | None = None
    ) -> Progress | Refusal:
        """A new response for `agency`, unless a rule says no."""
        if agency.visit_required and visit is None:
            return Refusal("visit_required", agency=agency.name)
        until = await self._store.locked_until(self._lock(citizen), agency.code, now)
        if until is not None:
            return Refusal("too_soon", until=until.astimezone(self._zone), agency=agency.name)
        try:
            return await self._store.start_response(
                citizen.respondent, citizen.channel, agency.code, agency.questionnaire, now, visit
            )
        except VisitTaken:  # someone else claimed this visit a moment ago
            return Refusal("visit_used")

    def _lock(self, citizen: Citizen) -> str:
        return pseudonym(self._secret, "lock", citizen.respondent)
