"""Builds an export file for a period: the responses plus the index tables (ranking, criteria)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from bot.files.sheets import IndexTable, Value, write_export
from handlers.scores import Scores
from storage.database import Database
from storage.exports import export_rows
from survey.catalogue import Catalogue
from survey.index import Estimate, Ranked
from survey.models import ELEMENT_IDS, Language
from survey.period import Period

_HEADERS: dict[Language, dict[str, str]] = {
    "vi": {
        "ranking": "Xếp hạng chỉ số hài lòng {period}",
        "criteria": "Chỉ số theo tiêu chí {period}",
        "rank": "Hạng",
        "code": "Mã",
        "agency": "Cơ quan",
        "responses": "Số phiếu",
        "low": "KTC 95% thấp",
        "high": "KTC 95% cao",
        "note": "Ghi chú",
        "criterion": "Tiêu chí",
        "value": "Chỉ số (%)",
        "suppressed": "chưa đủ phiếu (n={n}, cần {minimum})",
    },
    "en": {
        "ranking": "Satisfaction index ranking {period}",
        "criteria": "Index by criterion {period}",
        "rank": "Rank",
        "code": "Code",
        "agency": "Agency",
        "responses": "Responses",
        "low": "95% CI low",
        "high": "95% CI high",
        "note": "Note",
        "criterion": "Criterion",
        "value": "Index (%)",
        "suppressed": "not enough responses (n={n}; {minimum} needed)",
    },
}


async def index_tables(
    scores: Scores, period: Period, agencies: Sequence[str] | None, language: Language
) -> list[IndexTable]:
    """The ranking (SIPAS, elements) and each ranked agency's criteria; suppressed: no numbers."""
    words = _HEADERS[language]
    ranked = await scores.ranking(period, agencies)
    ranking = [_ranking_row(name, row, words, scores.min_responses) for name, row in ranked]
    criteria = [
        [row.key, criterion, _value(e), e.n, round(e.low, 2), round(e.high, 2)]
        for _, row in ranked
        if not row.result.suppressed and row.result.sipas is not None
        for criterion, e in row.result.criteria.items()
    ]
    ranking_header = [
        *(words[key] for key in ("rank", "code", "agency", "responses")),
        "SIPAS",
        words["low"],
        words["high"],
        *ELEMENT_IDS,
        words["note"],
    ]
    criteria_header = [
        *(words[key] for key in ("code", "criterion", "value")),
        "n",
        words["low"],
        words["high"],
    ]
    return [
        IndexTable(words["ranking"].format(period=period), ranking_header, ranking),
        IndexTable(words["criteria"].format(period=period), criteria_header, criteria),
    ]


def _ranking_row(name: str, row: Ranked, words: Mapping[str, str], minimum: int) -> list[Value]:
    """One agency's line of the ranking: its SIPAS and elements, or why there are none."""
    result = row.result
    if result.suppressed or result.sipas is None:
        note = words["suppressed"].format(n=result.responses, minimum=minimum)
        return ["", row.key, name, result.responses, *[None] * 8, note]
    sipas = result.sipas
    elements = [_value(result.elements.get(element)) for element in ELEMENT_IDS]
    head: list[Value] = [row.rank, row.key, name, result.responses]
    return [*head, _value(sipas), round(sipas.low, 2), round(sipas.high, 2), *elements, ""]


async def write_period_export(
    scores: Scores,
    database: Database,
    catalogue: Catalogue,
    *,
    period: Period,
    agencies: Sequence[str] | None,
    fmt: Literal["csv", "xlsx"],
    out: Path,
    language: Language,
) -> Path:
    """Write one period's export file to `out` and return it."""
    tables = await index_tables(scores, period, agencies, language)
    data = await export_rows(database, period, agencies)
    return write_export(data, catalogue, fmt, out, tables)


def _value(estimate: Estimate | None) -> float | None:
    return None if estimate is None else round(estimate.value, 2)
