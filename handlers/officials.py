"""The officials' desk, channel-neutral: who may ask, what they asked, and the answer."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from handlers.codes import hash_code, invite_code, visit_token
from handlers.replies import pseudonym
from handlers.scores import Scores, UnknownGroup
from storage.officials import Attempt, OfficialStore
from survey.access import ALL, Official
from survey.agencies import Agencies
from survey.channels import capabilities
from survey.models import Language
from survey.numbers import format_date
from survey.period import Period, PeriodError, parse_period
from survey.scorecard import (
    render_criteria,
    render_group_rankings,
    render_ranking,
    render_score,
)
from survey.texts import say

log = logging.getLogger(__name__)

# Each official command and its aliases (Vietnamese words typed without diacritics).
COMMANDS: dict[str, tuple[str, ...]] = {
    "score": ("score", "chiso"),
    "ranking": ("ranking", "xephang"),
    "criteria": ("criteria", "tieuchi"),
    "export": ("export", "xuat"),
    "subscribe": ("subscribe", "theodoi"),
    "unsubscribe": ("unsubscribe", "huytheodoi"),
    "invite": ("invite", "moi"),
    "register": ("register", "dangky"),
    "visit": ("visit", "luot"),
    "report": ("report", "baocao"),
}
CANONICAL = {alias: name for name, aliases in COMMANDS.items() for alias in aliases}
INVITE_LIFETIME = timedelta(hours=72)
# Wrong /register codes one account may send per window before codes are no longer checked:
# 32^8 codes, so a few guesses an hour never find one.
MAX_WRONG_CODES = 5
WRONG_CODE_WINDOW = timedelta(hours=1)
VISIT_LIFETIME = timedelta(hours=2)
FORMATS = ("csv", "xlsx")
# Writes an export of the given agencies (None = all) and period into a temporary folder of
# its own; returns the file. Whoever receives it removes both with `discard_export`.
ExportFile = Callable[[Sequence[str] | None, Period, str], Awaitable[Path]]


@dataclass(frozen=True)
class DeskReply:
    text: str
    document: Path | None = None


def discard_export(document: Path) -> None:
    """Remove an export once sent (or not) and the temporary folder made for it."""
    document.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: not a folder made for this file alone
        document.parent.rmdir()


# The link that opens the bot with a `start` payload: (bot username, payload) -> URL.
DeepLink = Callable[[str, str], str]
# A signed web address of the HTML report: (agency or None for the scope pooled, period,
# the official's agencies or None for all, now) -> URL; None when the web page is off.
ReportLink = Callable[[str | None, Period, tuple[str, ...] | None, datetime], str]


@dataclass(frozen=True)
class Request:
    """One official command: what was asked, by whom, when, in which language."""

    command: str
    args: tuple[str, ...]
    channel: str
    user_id: str
    now: datetime
    language: Language
    bot_username: str | None = None


class _OutOfScope(Exception):
    """A configured agency the official may not see (named, but never its figures)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class _Arguments:
    agency: str | None
    period: Period
    fmt: str
    group: str | None = None


class OfficialDesk:
    """Answers officials' commands; everyone else gets a polite refusal and no figure."""

    def __init__(
        self,
        store: OfficialStore,
        scores: Scores,
        agencies: Agencies,
        configured: Sequence[Official],
        *,
        zone: ZoneInfo,
        export_file: ExportFile,
        min_responses: int,
        secret: str,
        deep_link: DeepLink,
        report_link: ReportLink | None = None,
    ) -> None:
        self._store = store
        self._scores = scores
        self._agencies = agencies
        self._configured = {(o.channel, o.user_id): o for o in configured}
        self._zone = zone
        self._export_file = export_file
        self._min_responses = min_responses
        self._secret = secret
        self._deep_link = deep_link
        self._report_link = report_link

    async def official(self, channel: str, user_id: str) -> Official | None:
        """The config wins over a registration, so an operator can always correct a scope."""
        configured = self._configured.get((channel, user_id))
        return configured or await self._store.registered(channel, user_id)

    async def handle(self, request: Request) -> DeskReply:
        language = request.language
        if request.command == "register":
            return await self._register(request)
        official = await self.official(request.channel, request.user_id)
        if official is None:
            return DeskReply(say(language, "official_only"))
        scope = official.scope(self._agencies.codes)
        if not scope:
            return DeskReply(say(language, "no_agency_in_scope"))
        if request.command == "invite":
            return await self._invite(request, official, scope)
        if request.command in ("subscribe", "unsubscribe"):
            return await self._subscription(request)
        try:
            args = self._arguments(request, scope)
        except _OutOfScope as error:
            return DeskReply(say(language, "not_in_scope", code=error.code))
        except PeriodError as error:
            word = error.text
            example = say(language, "command_example", command=request.command, agency=scope[0])
            return DeskReply(
                "\n".join(
                    [
                        say(language, "bad_period", word=word),
                        say(language, "period_help"),
                        example,
                    ]
                )
            )
        if request.command == "visit":
            return self._visit(request, args.agency or scope[0])
        if request.command == "report":
            return self._report(request, args, None if official.sees_all else tuple(scope))
        pool = None if official.sees_all else scope
        try:
            return await self._answer(request.command, args, pool, scope, language)
        except UnknownGroup as error:
            return DeskReply(say(language, "group_not_in_scope", group=error.group))

    async def _answer(
        self,
        command: str,
        args: _Arguments,
        pool: Sequence[str] | None,
        scope: Sequence[str],
        language: Language,
    ) -> DeskReply:
        if command in ("score", "criteria") and args.group is not None and args.agency is None:
            card = await self._scores.scorecard(None, args.period, scope, group=args.group)
            render = render_score if command == "score" else render_criteria
            return DeskReply(render(card, language))
        if command in ("score", "criteria"):
            agency = args.agency or (scope[0] if len(scope) == 1 else None)
            card = await self._scores.scorecard(agency, args.period, pool)
            render = render_score if command == "score" else render_criteria
            return DeskReply(render(card, language))
        if command == "ranking" and self._agencies.groups:
            found = await self._scores.group_rankings(args.period, scope, args.group)
            text = render_group_rankings(found, args.period, language, self._min_responses)
            return DeskReply(text)
        if command == "ranking":
            rows = await self._scores.ranking(args.period, scope)
            return DeskReply(render_ranking(rows, args.period, language, self._min_responses))
        if command == "export":
            chosen = [args.agency] if args.agency else pool
            path = await self._export_file(chosen, args.period, args.fmt)
            count = len(chosen) if chosen is not None else len(self._agencies)
            return DeskReply(
                say(
                    language,
                    "export_ready",
                    period=self._period_text(args.period, language),
                    count=count,
                ),
                document=path,
            )
        raise ValueError(f"not an official command: {command}")

    def _arguments(self, request: Request, scope: Sequence[str]) -> _Arguments:
        agency: str | None = None
        group: str | None = None
        fmt = "xlsx"
        rest: list[str] = []
        by_code = {code.casefold(): code for code in scope}
        known = {code.casefold() for code in self._agencies.codes}
        for word in request.args:
            if word.casefold() in by_code and agency is None:
                agency = by_code[word.casefold()]
            elif word.casefold() in known:
                raise _OutOfScope(word)
            elif word.casefold() in FORMATS:
                fmt = word.casefold()
            elif group is None and (found := self._agencies.find_group(word)) is not None:
                group = found.id
            else:
                rest.append(word)
        today = request.now.astimezone(self._zone).date()
        period = parse_period(" ".join(rest) or None, today)
        return _Arguments(agency, period, fmt, group)

    def _period_text(self, period: Period, language: Language) -> str:
        return f"{format_date(period.start, language)}–{format_date(period.end, language)}"

    async def _subscription(self, request: Request) -> DeskReply:
        language = request.language
        if request.command == "subscribe":
            added = await self._store.subscribe(
                request.channel, request.user_id, language, request.now
            )
            return DeskReply(say(language, "subscribed" if added else "already_subscribed"))
        removed = await self._store.unsubscribe(request.channel, request.user_id)
        return DeskReply(say(language, "unsubscribed" if removed else "not_subscribed"))

    async def _invite(
        self, request: Request, official: Official, scope: Sequence[str]
    ) -> DeskReply:
        language = request.language
        if not official.is_admin:
            return DeskReply(say(language, "admin_only"))
        wanted = tuple(dict.fromkeys(request.args))
        if not wanted or any(w != ALL and w not in self._agencies for w in wanted):
            return DeskReply(say(language, "invite_needs_agency", agency=scope[0]))
        if not official.may_grant(wanted):  # an invite never widens the inviter's own scope
            names = self._names(official.agencies, language)
            return DeskReply(say(language, "invite_out_of_scope", agencies=names))
        code = invite_code()
        expires = request.now + INVITE_LIFETIME
        await self._store.create_invite(
            hash_code(self._secret, code),
            "official",
            wanted,
            request.user_id,
            request.now,
            expires,
        )
        local = expires.astimezone(self._zone)
        return DeskReply(
            say(
                language,
                "invite_created",
                code=code,
                agencies=self._names(wanted, language),
                expires=f"{local:%H:%M} {format_date(local.date(), language)}",
            )
        )

    def _visit(self, request: Request, agency: str) -> DeskReply:
        """A single-use link for the citizen at the counter now (valid two hours)."""
        language = request.language
        token = visit_token(self._secret, agency, request.now, VISIT_LIFETIME)
        expires = (request.now + VISIT_LIFETIME).astimezone(self._zone)
        typed = not capabilities(request.channel).deep_links
        # Without a start payload on the channel, the citizen sends the token as text.
        link = f"/start {token}" if typed else self._deep_link(request.bot_username or "", token)
        return DeskReply(
            say(
                language,
                "visit_link",
                typed=typed,
                agency=self._agencies[agency].name,
                link=link,
                expires=f"{expires:%H:%M} {format_date(expires.date(), language)}",
            )
        )

    def _report(
        self, request: Request, args: _Arguments, scope: tuple[str, ...] | None
    ) -> DeskReply:
        """A signed link to the HTML report, bound to what this official may see (24 hours)."""
        language = request.language
        if self._report_link is None:
            return DeskReply(say(language, "report_off"))
        agency = args.agency or (scope[0] if scope is not None and len(scope) == 1 else None)
        link = self._report_link(agency, args.period, scope, request.now)
        period = self._period_text(args.period, language)
        return DeskReply(say(language, "report_link", period=period, link=link))

    async def _register(self, request: Request) -> DeskReply:
        language = request.language
        if not request.args:
            return DeskReply(say(language, "register_usage"))
        # Its own pseudonym, not the respondent key: attempts cannot be joined to answers.
        who = pseudonym(self._secret, "register", f"{request.channel}:{request.user_id}")
        attempt = Attempt(who, request.now - WRONG_CODE_WINDOW, MAX_WRONG_CODES)
        official = await self._store.redeem_invite(
            hash_code(self._secret, "".join(request.args)),
            request.channel,
            request.user_id,
            request.now,
            attempt,
        )
        if official == "throttled":
            log.warning("register: too many wrong invite codes from %s; not checked", who[:12])
            return DeskReply(say(language, "register_throttled"))
        if official == "wrong":
            log.warning("register: wrong invite code from %s", who[:12])
            return DeskReply(say(language, "register_failed"))
        return DeskReply(
            say(language, "registered", agencies=self._names(official.agencies, language))
        )

    def _names(self, codes: Sequence[str], language: Language) -> str:
        if ALL in codes:
            return say(language, "all_agencies")
        return ", ".join(self._agencies[c].name for c in codes if c in self._agencies)
