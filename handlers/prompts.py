"""What a citizen is shown for where they are: the step's question, the offer to resume, hints,
refusals, the thank-you and the agency lists. Screens only; nothing here stores anything."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.admission import Refusal
from handlers.replies import Reply
from survey import screens
from survey.agencies import Agencies
from survey.catalogue import Catalogue
from survey.flow import Invalid, Progress
from survey.models import Language
from survey.screens import Screen
from survey.texts import say

# The agency's current index line for the thank-you message, or None while it is suppressed.
IndexLine = Callable[[str, date, Language], Awaitable[str | None]]


class Prompts:
    """Builds the screens of the conversation from a response's progress."""

    def __init__(
        self,
        catalogue: Catalogue,
        agencies: Agencies,
        *,
        zone: ZoneInfo,
        resubmit_after: timedelta,
        index_line: IndexLine | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._agencies = agencies
        self._zone = zone
        self._resubmit_hours = int(resubmit_after.total_seconds() // 3600)
        self._index_line = index_line

    def ask(self, progress: Progress, language: Language, typed: bool) -> Screen:
        """The question of the response's current step (the consent first)."""
        questionnaire = self._catalogue[progress.questionnaire]
        if progress.position == 0:
            name = self._agencies.name(progress.agency)
            return screens.consent_screen(questionnaire, progress.response_id, name, language)
        return screens.step_screen(questionnaire, progress, language, typed)

    def resume_or_ask(self, progress: Progress, language: Language, typed: bool) -> Screen:
        """Coming back to an unfinished response: offer to continue or start over."""
        if progress.position == 0:
            return self.ask(progress, language, typed)
        questionnaire = self._catalogue[progress.questionnaire]
        name = self._agencies.name(progress.agency)
        return screens.resume_screen(questionnaire, progress, name, language)

    def hint(self, progress: Progress, invalid: Invalid, language: Language, typed: bool) -> Reply:
        """An answer the step cannot take: say why, and ask again."""
        step = invalid.step
        if invalid.reason == "choice":
            hint = say(language, "hint_choice", typed=typed)
        elif step.kind == "text" and step.optional is not None:
            key = "hint_text_empty" if invalid.reason == "empty" else "hint_text"
            hint = say(language, key, typed=typed, limit=step.optional.max_length)
        else:
            hint = say(language, f"hint_{step.kind}", typed=typed)
        screen = self.ask(progress, language, typed)
        return Reply((Screen(f"{hint}\n\n{screen.text}", screen.rows),), notice=hint)

    def refused(self, refusal: Refusal, language: Language, typed: bool) -> Screen:
        """Why a survey cannot begin."""
        if refusal.until is None:
            return Screen(say(language, refusal.key, typed=typed, agency=refusal.agency))
        when = refusal.until.strftime("%H:%M %d/%m/%Y" if language == "vi" else "%Y-%m-%d %H:%M")
        hours = self._resubmit_hours
        return Screen(say(language, refusal.key, agency=refusal.agency, hours=hours, when=when))

    async def thanks(self, progress: Progress, language: Language, now: datetime) -> Screen:
        """The thank-you, with the agency's current index when it is not suppressed."""
        name = self._agencies.name(progress.agency)
        text = say(language, "thanks", agency=name)
        if self._index_line is not None:
            today = now.astimezone(self._zone).date()
            line = await self._index_line(progress.agency, today, language)
            if line:
                text = f"{text}\n\n{line}"
        return Screen(text)

    def agency_list(self, language: Language, header: str, page: int = 0) -> Screen:
        return screens.agency_screen(list(self._agencies), page, language, header)

    def search(self, text: str, language: Language, typed: bool) -> Screen:
        return screens.agency_search_screen(self._agencies, text, language, typed)
