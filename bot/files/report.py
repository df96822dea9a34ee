"""`python -m bot report`: one agency's (or all agencies') index for a period, as text or JSON."""

from __future__ import annotations

import json
from datetime import date

from bot.config import Settings
from bot.services import open_services
from handlers.scores import UnknownAgency
from survey.period import MAX_DAYS, Period, parse_period
from survey.scorecard import render_criteria, render_score, report_json

EXIT_OK = 0
EXIT_USAGE = 2


def report_period(start: date | None, end: date | None, today: date) -> Period:
    """The inclusive period of ``--from``/``--to``; without either, the month of ``today``.

    Only ``--from``: from that day to ``today``. Only ``--to``: from the first of that month.

    Raises:
        ValueError: the period ends before it starts or is longer than `MAX_DAYS` days.
    """
    if start is None:
        if end is None:
            return parse_period(None, today)  # the current month
        start = end.replace(day=1)
    if end is None:
        end = today
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    period = Period(start, end)
    if period.days > MAX_DAYS:
        raise ValueError(f"the period {period} is longer than {MAX_DAYS} days")
    return period


async def report(
    settings: Settings,
    *,
    agency: str | None,
    start: date | None,
    end: date | None,
    as_json: bool,
    today: date,
) -> tuple[int, str]:
    """The exit code and the text to print; ``today`` is the local date in the config's zone.

    An unknown agency or an impossible period gives exit code 2 and a message saying why.
    """
    try:
        period = report_period(start, end, today)
    except ValueError as error:
        return EXIT_USAGE, f"error: {error}"
    services = await open_services(settings)
    try:
        card = await services.scores.scorecard(agency, period)
    except UnknownAgency as error:
        return EXIT_USAGE, f"error: {error}"
    finally:
        await services.close()
    if as_json:
        return EXIT_OK, json.dumps(report_json(card), ensure_ascii=False, indent=2)
    language = settings.bot.default_language
    return EXIT_OK, f"{render_score(card, language)}\n\n{render_criteria(card, language)}"
