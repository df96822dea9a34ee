"""The citizen conversation, channel-neutral: an input in, stored answers and screens out.

Every channel (Telegram, the terminal, later Zalo) turns its updates into these calls and renders
the returned `Reply`. Nothing here knows a channel's API; nothing here holds state in memory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec
from zoneinfo import ZoneInfo

from handlers.admission import Admission, Refusal
from handlers.prompts import IndexLine, Prompts
from handlers.replies import Citizen, Reply, Where
from storage.responses import ResponseStore, UpdateKey
from survey import actions, screens
from survey.agencies import Agencies, Agency
from survey.answers import read_command_word
from survey.catalogue import Catalogue
from survey.channels import capabilities
from survey.flow import (
    SKIP,
    Action,
    Back,
    Declined,
    Invalid,
    Pick,
    Progress,
    Stale,
    Typed,
    advance,
    current_step,
)
from survey.models import Language
from survey.screens import Screen
from survey.texts import say
from survey.visits import is_visit_payload, looks_like_visit_token

_P = ParamSpec("_P")
_Method = Callable[Concatenate["Conversation", Citizen, _P], Coroutine[Any, Any, Reply]]


def _rendered(method: _Method[_P]) -> _Method[_P]:
    """A public step of the conversation: its reply carries what a channel without buttons
    renders it with (see `Conversation._for_text`), so the text chat never asks back."""

    async def step(
        self: Conversation, citizen: Citizen, /, *args: _P.args, **kw: _P.kwargs
    ) -> Reply:
        return await self._for_text(citizen, await method(self, citizen, *args, **kw))

    functools.update_wrapper(step, method)
    return step


class Conversation:
    """Drives citizens through the survey, storing each accepted step before replying."""

    def __init__(
        self,
        store: ResponseStore,
        catalogue: Catalogue,
        agencies: Agencies,
        *,
        secret: str,
        zone: ZoneInfo,
        default_language: Language,
        resubmit_after: timedelta,
        index_line: IndexLine | None = None,
    ) -> None:
        self._store = store
        self._catalogue = catalogue
        self._agencies = agencies
        self._default_language = default_language
        self._admission = Admission(
            store, agencies, secret=secret, zone=zone, resubmit_after=resubmit_after
        )
        self._prompts = Prompts(
            catalogue, agencies, zone=zone, resubmit_after=resubmit_after, index_line=index_line
        )

    @staticmethod
    def typed(citizen: Citizen) -> bool:
        """Whether the citizen's channel has no buttons (choices are typed as numbers)."""
        return not capabilities(citizen.channel).buttons

    @property
    def default_language(self) -> Language:
        return self._default_language

    async def language(self, citizen: Citizen) -> Language:
        return await self._store.language(citizen.respondent) or self._default_language

    @_rendered
    async def start(self, citizen: Citizen, payload: str | None, now: datetime) -> Reply:
        """`/start [agency code]`: resume, begin for the named agency, or offer the list."""
        language = await self.language(citizen)
        open_response = await self._store.open_response(citizen.respondent)
        if payload and is_visit_payload(payload):
            return await self._start_visit(citizen, payload, now, language, open_response)
        agency = self._agencies.find(payload) if payload else None
        if payload and agency is None:
            header = say(language, "unknown_agency", code=payload[:64])
            return Reply((self._prompts.agency_list(language, header),))
        if open_response and (agency is None or agency.code == open_response.agency):
            return Reply(
                (self._prompts.resume_or_ask(open_response, language, self.typed(citizen)),)
            )
        if agency is None:
            header = say(language, "pick_agency", typed=self.typed(citizen))
            return Reply((self._prompts.agency_list(language, header),))
        return Reply((await self._begin(citizen, agency, language, now),))

    @_rendered
    async def press(
        self,
        citizen: Citizen,
        data: str | None,
        now: datetime,
        update_id: int | str | None = None,
    ) -> Reply:
        """A button press (or a numbered choice typed on a text-only channel)."""
        language = await self.language(citizen)
        action = actions.decode(data)
        match action:
            case actions.Answer(rid, position, value):
                return await self._step(
                    citizen, rid, position, Pick(value), now, update_id, language
                )
            case actions.GoBack(rid, position):
                return await self._step(citizen, rid, position, Back(), now, update_id, language)
            case actions.Resume(rid, choice):
                return await self._resume(citizen, rid, choice, language, now)
            case actions.ChooseAgency(code) if (agency := self._agencies.get(code)) is not None:
                return Reply(
                    (await self._begin(citizen, agency, language, now),), edit=agency.name
                )
            case actions.AgencyPage(page):
                header = say(language, "pick_agency", typed=self.typed(citizen))
                return Reply(replace=self._prompts.agency_list(language, header, page))
            case actions.Forget(confirmed=True):
                count = await self._store.forget(citizen.respondent)
                return Reply(edit=say(language, "forgotten", count=count))
            case actions.Forget(confirmed=False):
                return Reply(edit=say(language, "forget_kept"))
            case actions.SetLanguage(chosen):
                await self._store.set_language(citizen.respondent, citizen.channel, chosen, now)
                return Reply(edit=say(chosen, "language_set"))
        return Reply(notice=say(language, "refused", typed=self.typed(citizen)))

    @_rendered
    async def type(
        self, citizen: Citizen, text: str, now: datetime, update_id: int | str | None = None
    ) -> Reply:
        """Typed text: a command word, an answer to the current step, or an agency search."""
        word = read_command_word(text)
        if word == "cancel":
            return await self.cancel(citizen)
        if word == "help":
            return await self.help(citizen)
        language = await self.language(citizen)
        if self.is_entry_code(text):
            # An agency's code (what the Zalo poster says to send) or a visit code starts or
            # resumes, even mid-survey: it is never an answer or a comment.
            return await self.start(citizen, text.strip(), now)
        progress = await self._store.open_response(citizen.respondent)
        if progress is not None:
            action: Action = Typed(text)
            if word == "back":
                action = Back()
            elif word == "skip":
                action = Pick(SKIP)
            return await self._step(
                citizen,
                progress.response_id,
                progress.position,
                action,
                now,
                update_id,
                language,
                progress,
            )
        return Reply((self._prompts.search(text, language, self.typed(citizen)),))

    def is_entry_code(self, text: str) -> bool:
        """An agency's code or a visit code: what starts a survey when typed."""
        code = text.strip()
        return self._agencies.find(code) is not None or looks_like_visit_token(code)

    async def where(self, citizen: Citizen) -> Where:
        """The citizen's language, and the question in front of them."""
        language = await self.language(citizen)
        progress = await self._store.open_response(citizen.respondent)
        return Where(
            language,
            None
            if progress is None
            else self._prompts.ask(progress, language, self.typed(citizen)),
        )

    async def _for_text(self, citizen: Citizen, reply: Reply) -> Reply:
        """`reply` with what a channel that cannot edit (no buttons, or the Zalo OA's) renders
        it with: the language, and the question still open when the reply itself asks nothing
        (and did not pause)."""
        if reply.language is not None or capabilities(citizen.channel).edits:
            return reply
        shown = (*reply.screens, *((reply.replace,) if reply.replace else ()))
        if reply.paused or any(screen.choices for screen in shown):
            return replace(reply, language=await self.language(citizen))
        where = await self.where(citizen)
        return replace(reply, language=where.language, asking=where.prompt)

    @_rendered
    async def cancel(self, citizen: Citizen) -> Reply:
        language = await self.language(citizen)
        has_open = await self._store.open_response(citizen.respondent) is not None
        text = say(language, "cancelled" if has_open else "nothing_to_cancel")
        return Reply((Screen(text),), paused=True)

    @_rendered
    async def help(self, citizen: Citizen) -> Reply:
        language = await self.language(citizen)
        return Reply((Screen(say(language, "help", typed=self.typed(citizen))),))

    @_rendered
    async def choose_language(self, citizen: Citizen, wanted: str | None, now: datetime) -> Reply:
        if wanted in ("vi", "en"):
            language: Language = "vi" if wanted == "vi" else "en"
            await self._store.set_language(citizen.respondent, citizen.channel, language, now)
            return Reply((Screen(say(language, "language_set")),))
        return Reply((screens.language_screen(),))

    @_rendered
    async def forget(self, citizen: Citizen) -> Reply:
        return Reply((screens.forget_screen(await self.language(citizen)),))

    @_rendered
    async def edited(self, citizen: Citizen) -> Reply:
        """An edited message: edits are not read (the answer stands); the question again."""
        language, prompt = await self.where(citizen)
        text = say(language, "edited")
        if prompt is None:
            return Reply((Screen(text),))
        return Reply((Screen(f"{text}\n\n{prompt.text}", prompt.rows),))

    @_rendered
    async def unexpected(self, citizen: Citizen) -> Reply:
        """A sticker, photo, file or other non-text input: a hint, nothing stored."""
        language = await self.language(citizen)
        in_survey = await self._store.open_response(citizen.respondent) is not None
        key = "hint_media" if in_survey else "hint_idle"
        return Reply((Screen(say(language, key, typed=self.typed(citizen))),))

    # -- steps -------------------------------------------------------------------------------

    async def _step(
        self,
        citizen: Citizen,
        response_id: int,
        position: int,
        action: Action,
        now: datetime,
        update_id: int | str | None,
        language: Language,
        progress: Progress | None = None,
    ) -> Reply:
        """One input at one step; `progress` when the caller has just read it (one read less
        on every answer's path)."""
        if progress is None:
            progress = await self._store.owned_progress(response_id, citizen.respondent)
        if progress is None:
            return Reply(notice=say(language, "refused", typed=self.typed(citizen)))
        questionnaire = self._catalogue[progress.questionnaire]
        step = current_step(questionnaire, progress)
        outcome = advance(questionnaire, progress, position, action)
        if isinstance(outcome, Stale) or step is None:
            return Reply(notice=say(language, "stale"))
        if isinstance(outcome, Invalid):
            return self._prompts.hint(progress, outcome, language, self.typed(citizen))
        if isinstance(outcome, Declined):
            await self._store.discard(progress.response_id)
            return Reply((Screen(say(language, "declined")),), edit=say(language, "decline"))
        stored = await self._store.record(
            progress,
            outcome,
            now,
            completion=self._admission.completion(citizen, now) if outcome.completed else None,
            update=UpdateKey(citizen.channel, update_id) if update_id is not None else None,
        )
        if stored is None:
            return Reply(notice=say(language, "stale"))
        edit = screens.answered_text(questionnaire, step, outcome.record, language)
        if outcome.completed:
            return Reply((await self._prompts.thanks(stored, language, now),), edit=edit)
        if step.kind == "consent":
            edit = say(language, "agree")
        return Reply((self._prompts.ask(stored, language, self.typed(citizen)),), edit=edit)

    async def _start_visit(
        self,
        citizen: Citizen,
        payload: str,
        now: datetime,
        language: Language,
        open_response: Progress | None,
    ) -> Reply:
        """A signed visit link: one response per visit; its owner may come back to finish."""
        visit = await self._admission.visit(citizen, payload, now)
        typed = self.typed(citizen)
        if isinstance(visit, Refusal):
            return Reply((self._prompts.refused(visit, language, typed),))
        if open_response and open_response.agency == visit.agency.code:
            return Reply((self._prompts.resume_or_ask(open_response, language, typed),))
        if visit.used:
            return Reply((self._prompts.refused(Refusal("visit_used"), language, typed),))
        return Reply((await self._begin(citizen, visit.agency, language, now, visit.nonce),))

    async def _begin(
        self,
        citizen: Citizen,
        agency: Agency,
        language: Language,
        now: datetime,
        visit: str | None = None,
    ) -> Screen:
        begun = await self._admission.begin(citizen, agency, now, visit)
        if isinstance(begun, Refusal):
            return self._prompts.refused(begun, language, self.typed(citizen))
        return self._prompts.ask(begun, language, self.typed(citizen))

    async def _resume(
        self, citizen: Citizen, response_id: int, choice: str, language: Language, now: datetime
    ) -> Reply:
        progress = await self._store.owned_progress(response_id, citizen.respondent)
        if progress is None or progress.status != "in_progress":
            return Reply(notice=say(language, "stale"))
        if choice == "continue":
            screen = self._prompts.ask(progress, language, self.typed(citizen))
            return Reply((screen,), edit=say(language, "continue"))
        agency = self._agencies.get(progress.agency)
        if agency is None:
            return Reply(notice=say(language, "refused", typed=self.typed(citizen)))
        screen = await self._begin(citizen, agency, language, now)
        return Reply((screen,), edit=say(language, "restart"))
