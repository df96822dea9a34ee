"""The citizen survey page: the chats' conversation (channel `web`) as plain HTML forms.

Each POST is one input to `Conversation`, stored before the answer is given; then a redirect
to the page of the open question (POST-redirect-GET), so reloading never posts again and a
visitor who comes back later finds the same question. What a chat would have said in passing
(a hint, thank-you, "too soon") travels to the next page in a short signed cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.web.context import Page
from bot.web.security import form_token, form_token_ok
from handlers.replies import Citizen, Reply, pseudonym
from survey.actions import SetLanguage, encode
from survey.flow import current_step, held_field
from survey.texts import say
from survey.visits import read_visit_token

CHANNEL = "web"
VISITOR_COOKIE = "sipas_visitor"
FLASH_COOKIE = "sipas_said"
FORM = "survey"
START = "start"
TYPED = "text"
VISITOR_DAYS = 400
"""The visitor cookie outlives the resubmission window and a paused survey's expiry."""


class SurveyPage(Page):
    """`/s/<agency code>`: the open question for this agency, or a start button."""

    async def get(self, code: str) -> None:
        agency = self._agency(code)
        if agency is None:
            self.refuse(404, "web_not_found")
            return
        await self._show(agency.code, agency.name, f"/s/{agency.code}")

    async def post(self, code: str) -> None:
        agency = self._agency(code)
        if agency is None:
            self.refuse(404, "web_not_found")
            return
        await self._answer(agency.code)

    # -- shared with the visit page ---------------------------------------------------------

    async def _show(self, code: str, name: str, action_url: str) -> None:
        visitor = self._visitor(create=True)
        assert visitor is not None
        citizen = self._citizen(visitor)
        services = self.context.services
        conversation = services.conversation
        language, prompt = await conversation.where(citizen)
        progress = await services.responses.open_response(citizen.respondent)
        flash = self._take_flash()
        screen = None
        text_input, text_limit = False, 0
        if progress is not None and progress.agency == code:
            screen = prompt
            questionnaire = services.catalogue[progress.questionnaire]
            step = current_step(questionnaire, progress)
            if step is not None and step.kind == "text" and step.optional is not None:
                text_input = held_field(step.optional.id) not in progress.extras
                text_limit = step.optional.max_length
        self.page(
            "survey.html",
            language=language,
            title=say(language, "web_title", agency=name),
            agency_name=name,
            action_url=action_url,
            home_url=f"/s/{code}",
            csrf=form_token(self.context.secret, visitor, FORM),
            language_actions={lang: encode(SetLanguage(lang)) for lang in ("vi", "en")},
            flash=flash,
            screen=screen,
            text_input=text_input,
            text_limit=text_limit,
            start=screen is None and not flash,
        )

    async def _answer(self, payload: str) -> None:
        """One form post: checked, handed to the conversation, then back to a GET."""
        visitor = self._visitor(create=False)
        given = self.get_body_argument("csrf", None)
        if visitor is None or not form_token_ok(self.context.secret, visitor, FORM, given):
            self.refuse(403, "web_form_refused")
            return
        citizen = self._citizen(visitor)
        conversation = self.context.services.conversation
        now = self.context.clock()
        action = self.get_body_argument("a", "")
        if action == START:
            reply = await conversation.start(citizen, payload, now)
        elif action == TYPED:
            reply = await conversation.type(citizen, self.get_body_argument("text", ""), now)
        else:
            reply = await conversation.press(citizen, action, now)
        said = _said(reply)
        if said:
            self._set_flash(said)
        progress = await self.context.services.responses.open_response(citizen.respondent)
        self.redirect(f"/s/{progress.agency}" if progress else self.request.path, status=303)

    def _agency(self, code: str) -> _Named | None:
        wanted = code.casefold()
        found = next(
            (a for a in self.context.settings.agencies if a.code.casefold() == wanted), None
        )
        return None if found is None else _Named(found.code, found.name)

    def _citizen(self, visitor: str) -> Citizen:
        return Citizen(CHANNEL, pseudonym(self.context.secret, CHANNEL, visitor))

    def _visitor(self, *, create: bool) -> str | None:
        """This browser's random id from its signed cookie; a new one when asked to create."""
        raw = self.get_signed_cookie(VISITOR_COOKIE, max_age_days=VISITOR_DAYS)
        if raw is not None:
            return raw.decode()
        if not create:
            return None
        visitor = secrets.token_urlsafe(18)
        self._cookie(VISITOR_COOKIE, visitor, expires_days=VISITOR_DAYS)
        return visitor

    def _cookie(self, name: str, value: str, expires_days: int | None) -> None:
        secure = (self.context.settings.web.public_url or "").startswith("https://")
        self.set_signed_cookie(
            name,
            value,
            expires_days=expires_days,
            httponly=True,
            samesite="Lax",
            secure=secure,
            path="/s",
        )

    def _set_flash(self, text: str) -> None:
        self._cookie(FLASH_COOKIE, text, expires_days=None)

    def _take_flash(self) -> str | None:
        raw = self.get_signed_cookie(FLASH_COOKIE, max_age_days=1)
        if raw is None:
            return None
        self.clear_cookie(FLASH_COOKIE, path="/s")
        return raw.decode()


class VisitPage(SurveyPage):
    """`/s/v/<visit token>`: a signed single-use visit; the first start claims it."""

    async def get(self, token: str) -> None:
        checked = read_visit_token(self.context.secret, token, _minute(self))
        language = self.default_language
        if isinstance(checked, str) or (named := self._agency(checked.agency)) is None:
            reason = checked if isinstance(checked, str) else "tampered"
            self.refuse(400, f"visit_{reason}", language)
            return
        await self._show(named.code, named.name, self.request.path)

    async def post(self, token: str) -> None:
        await self._answer(token)


@dataclass(frozen=True)
class _Named:
    code: str
    name: str


def _minute(page: Page) -> int:
    return int(page.context.clock().timestamp() // 60)


def _said(reply: Reply) -> str | None:
    """What a chat would have said in passing: texts that ask nothing, else the notice."""
    texts = [screen.text for screen in reply.screens if not screen.choices]
    if texts:
        return "\n\n".join(texts)
    return reply.notice
