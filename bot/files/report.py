"""`python -m bot report`: one agency's, one group's or all agencies' index, as text or JSON."""

from __future__ import annotations

import argparse
import json
from datetime import date

from bot.config import Settings
from bot.files.paths import OutputPathError, check_output
from bot.services import open_services
from handlers.scores import UnknownAgency, UnknownGroup
from survey.period import MAX_DAYS, Period, parse_period
from survey.report_json import report_json
from survey.scorecard import (
    GroupRanking,
    render_criteria,
    render_group_rankings,
    render_score,
)
from survey.texts import say

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
    group: str | None = None,
) -> tuple[int, str]:
    """The exit code and the text to print; ``today`` is the local date in the config's zone.

    With ``group`` the group's agencies are pooled (its JSON adds ``"group"``). The text report
    of a group or of all agencies ends with the ranking within each group, when there are
    groups. An unknown agency or group, both given, or an impossible period gives exit code 2
    and a message saying why.
    """
    if agency is not None and group is not None:
        return EXIT_USAGE, "error: give --agency or --group, not both"
    try:
        period = report_period(start, end, today)
    except ValueError as error:
        return EXIT_USAGE, f"error: {error}"
    services = await open_services(settings)
    rankings: list[GroupRanking] = []
    try:
        card = await services.scores.scorecard(agency, period, group=group)
        if agency is None and not as_json and services.scores.agencies.groups:
            rankings = await services.scores.group_rankings(period, None, group)
    except (UnknownAgency, UnknownGroup) as error:
        return EXIT_USAGE, f"error: {error}"
    finally:
        await services.close()
    if as_json:
        return EXIT_OK, json.dumps(report_json(card), ensure_ascii=False, indent=2)
    language = settings.bot.default_language
    parts = [render_score(card, language), render_criteria(card, language)]
    if rankings:
        minimum = settings.survey.min_responses
        parts.append(render_group_rankings(rankings, period, language, minimum))
    return EXIT_OK, "\n\n".join(parts)


async def write_html_report(
    settings: Settings, args: argparse.Namespace, today: date
) -> tuple[int, str]:
    """`report --html --out FILE`: the exit code and the line to print."""
    from bot.web.pages import templates
    from bot.web.report import gather, report_html

    if not args.html or args.out is None or args.json:
        return EXIT_USAGE, "error: write an HTML report with --html --out FILE (without --json)"
    # Callers may build the namespace by hand, without the newer --group.
    if getattr(args, "group", None) is not None:
        return EXIT_USAGE, "error: --html reports one agency or all; --group is not supported"
    try:
        period = report_period(args.start, args.end, today)
        check_output(args.out, settings, force=args.force)
    except (ValueError, OutputPathError) as error:
        return EXIT_USAGE, f"error: {error}"
    except OSError as error:
        return EXIT_USAGE, f"error: cannot use {args.out}: {error.strerror or error}"
    services = await open_services(settings)
    try:
        view = await gather(services.scores, args.agency, period, None)
    except UnknownAgency as error:
        return EXIT_USAGE, f"error: {error}"
    finally:
        await services.close()
    language = settings.bot.default_language
    title = view.card.name or say(language, "all_agencies").capitalize()
    html = report_html(templates(), view, language, title=title)
    try:
        args.out.write_text(html, encoding="utf-8")
    except OSError as error:
        return 1, f"error: cannot write {args.out}: {error.strerror or error}"
    return EXIT_OK, f"wrote {args.out} ({period})"
