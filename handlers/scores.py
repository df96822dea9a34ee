"""Officials' index queries, channel-neutral: a scorecard, a ranking, the citizen's index line.

Used by the chat commands, the digest and the command line alike; nothing here knows a channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from storage.tallies import TallyStore
from survey.agencies import Agencies, Agency, Group
from survey.catalogue import Catalogue
from survey.index import IndexResult, Ranked, compare, compute_index, rank
from survey.models import ELEMENT_IDS, Language
from survey.period import Period
from survey.scorecard import GroupRanking, Scorecard, render_index_line
from survey.tally import EMPTY, Tallies

INDEX_LINE_DAYS = 90
"""The thank-you message shows the index over this many days, ending today."""


class UnknownAgency(LookupError):
    """An agency code that is not configured, or not in the caller's scope."""

    def __init__(self, code: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown agency {code!r}; known codes: {', '.join(known) or '(none)'}")
        self.code = code
        self.known = tuple(known)


class UnknownGroup(LookupError):
    """A group id that is not configured, or holds no agency of the caller's scope."""

    def __init__(self, group: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown group {group!r}; known groups: {', '.join(known) or '(none)'}")
        self.group = group
        self.known = tuple(known)


class Scores:
    """Computes index results from the stored tallies, for one agency or several pooled."""

    def __init__(
        self,
        tallies: TallyStore,
        catalogue: Catalogue,
        agencies: Agencies,
        *,
        default_questionnaire: str,
        min_responses: int,
        weights: Mapping[str, float],
    ) -> None:
        self._tallies = tallies
        self._catalogue = catalogue
        self._agencies = agencies
        self._default_questionnaire = default_questionnaire
        self._min_responses = min_responses
        # The config lists only the weights it changes; every other element weighs 1.
        self._weights = {element: weights.get(element, 1.0) for element in ELEMENT_IDS}

    @property
    def agencies(self) -> Agencies:
        return self._agencies

    @property
    def min_responses(self) -> int:
        return self._min_responses

    def agency(self, code: str, scope: Sequence[str] | None = None) -> Agency:
        """The configured agency ``code``, if ``scope`` (None = all) includes it."""
        visible = self._visible(scope)
        found = self._agencies.get(code)
        if found is None or found.code not in visible:
            raise UnknownAgency(code, visible)
        return found

    def group(self, group_id: str, scope: Sequence[str] | None = None) -> tuple[Group, list[str]]:
        """The group ``group_id`` (any case) and its agencies within ``scope`` (None = all).

        Raises:
            UnknownGroup: no such group, or none of its agencies is in ``scope``.
        """
        parts = {found.id: codes for found, codes in self.grouped(scope) if found is not None}
        chosen = self._agencies.find_group(group_id)
        if chosen is None or chosen.id not in parts:
            raise UnknownGroup(group_id, list(parts))
        return chosen, parts[chosen.id]

    def grouped(self, scope: Sequence[str] | None = None) -> list[tuple[Group | None, list[str]]]:
        """The agencies of ``scope`` by group (see `Agencies.grouped`)."""
        return self._agencies.grouped(self._visible(scope))

    def _pooled_questionnaire(self, codes: Sequence[str]) -> str:
        """The form a group's agencies are pooled on: the default one, unless none of them uses
        it; then the first agency's. Agencies on another form are ranked but not pooled."""
        used = [self._agencies[code].questionnaire for code in codes]
        if not used or self._default_questionnaire in used:
            return self._default_questionnaire
        return used[0]

    async def scorecard(
        self,
        agency: str | None,
        period: Period,
        scope: Sequence[str] | None = None,
        *,
        group: str | None = None,
    ) -> Scorecard:
        """One agency's scorecard, or with ``agency`` None the agencies of ``scope`` pooled.

        Pooling adds up the responses to the default questionnaire only: indices of different
        forms do not add up criterion by criterion. ``scope`` None means every configured
        agency. With ``group`` (and ``agency`` None) the group's agencies within ``scope`` are
        pooled the same way, on the group's form (`_pooled_questionnaire`).

        Raises:
            UnknownAgency: ``agency`` is not configured or not in ``scope``.
            UnknownGroup: ``group`` is not configured or has no agency in ``scope``.
        """
        group_id = None
        codes: Sequence[str]
        if agency is None and group is not None:
            chosen, codes = self.group(group, scope)
            group_id, name = chosen.id, chosen.name
            questionnaire = self._pooled_questionnaire(codes)
        elif agency is None:
            questionnaire = self._default_questionnaire
            codes = self._visible(scope)
            name = ""
        else:
            found = self.agency(agency, scope)
            questionnaire, codes, name = found.questionnaire, (found.code,), found.name
        current, before = await self._tallies.per_period(
            questionnaire, (period, period.previous()), codes
        )
        result = self._index(current, questionnaire)
        previous = self._index(before, questionnaire)
        return Scorecard(
            agency=agency,
            name=name,
            questionnaire=self._catalogue[questionnaire],
            period=period,
            result=result,
            previous=previous,
            change=compare(result, previous),
            comments=await self._tallies.comments(questionnaire, period, codes),
            min_responses=self._min_responses,
            group=group_id,
        )

    async def trend(
        self, card: Scorecard, weeks: Sequence[Period], scope: Sequence[str] | None = None
    ) -> list[IndexResult]:
        """The index of `card`'s agency (or pooled scope) in each of `weeks`, in one pass."""
        questionnaire = card.questionnaire.id
        if card.group is not None:
            codes: Sequence[str] = self.group(card.group, scope)[1]
        else:
            codes = self._visible(scope) if card.agency is None else (card.agency,)
        found = await self._tallies.per_period(questionnaire, weeks, codes)
        return [self._index(tallies, questionnaire) for tallies in found]

    async def ranking(
        self, period: Period, scope: Sequence[str] | None = None
    ) -> list[tuple[str, Ranked]]:
        """Every agency of ``scope`` (None = all) by SIPAS, as (agency name, `Ranked`).

        Each agency is indexed on its own questionnaire; one query per questionnaire in use.
        """
        by_questionnaire: dict[str, list[str]] = {}
        for code in self._visible(scope):
            questionnaire = self._agencies[code].questionnaire
            by_questionnaire.setdefault(questionnaire, []).append(code)
        results: dict[str, IndexResult] = {}
        for questionnaire, codes in by_questionnaire.items():
            found = await self._tallies.per_agency(questionnaire, period, codes)
            for code in codes:
                results[code] = self._index(found.get(code, EMPTY), questionnaire)
        return [(self._agencies[row.key].name, row) for row in rank(results)]

    async def group_rankings(
        self, period: Period, scope: Sequence[str] | None = None, group: str | None = None
    ) -> list[GroupRanking]:
        """Each group of ``scope`` (or only ``group``) with its pooled SIPAS and its ranking.

        Agencies without a group come last, ranked among themselves, with no pooled figure.

        Raises:
            UnknownGroup: ``group`` is not configured or has no agency in ``scope``.
        """
        parts = self.grouped(scope)
        if group is not None:
            chosen = self.group(group, scope)[0]
            parts = [(found, codes) for found, codes in parts if found == chosen]
        found: list[GroupRanking] = []
        for part, codes in parts:
            rows = await self.ranking(period, codes)
            if part is None:
                found.append(GroupRanking(None, "", None, rows, ()))
                continue
            card = await self.scorecard(None, period, codes, group=part.id)
            form = card.questionnaire.id
            apart = tuple(
                self._agencies[c].name for c in codes if self._agencies[c].questionnaire != form
            )
            found.append(GroupRanking(part.id, part.name, card.result, rows, apart))
        return found

    async def index_line(self, agency: str, today: date, language: Language) -> str | None:
        """The agency's index over the last 90 days for the thank-you message, if not suppressed.

        Matches `handlers.prompts.IndexLine`.
        """
        found = self._agencies.get(agency)
        if found is None:
            return None
        period = Period(today - timedelta(days=INDEX_LINE_DAYS - 1), today)
        tallies = await self._tallies.tallies(found.questionnaire, period, (found.code,))
        result = self._index(tallies, found.questionnaire)
        return render_index_line(found.name, result, INDEX_LINE_DAYS, language)

    def _visible(self, scope: Sequence[str] | None) -> list[str]:
        """The configured agency codes in ``scope``, in config order."""
        return self._agencies.within(scope)

    def _index(self, tallies: Tallies, questionnaire: str) -> IndexResult:
        return compute_index(
            tallies,
            self._catalogue[questionnaire].criterion_ids,
            min_responses=self._min_responses,
            weights=self._weights,
        )
