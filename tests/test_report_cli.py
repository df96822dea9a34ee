"""Tests for the report command and the index service behind it, on a real SQLite file."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.files.report import report, report_period
from bot.questionnaires import load_catalogue
from bot.services import build_scores, configured_agencies
from handlers.scores import Scores
from storage.database import Database
from storage.responses import ResponseStore
from survey.index import IndexResult, compare, compute_index
from survey.period import Period
from survey.tally import tally
from tests.cli_support import run_cli
from tests.test_tallies import AGENCIES, COUNTER, SIPAS, Written, open_database, random_answers

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
MIN_RESPONSES = 3


@dataclass
class Setup:
    settings: Settings
    config: Path
    written: Written


def write_config(tmp_path: Path) -> Path:
    agencies = "".join(
        f'[[agencies]]\ncode = "{code}"\nname = "{name}"\nquestionnaire = "{questionnaire}"\n\n'
        for code, name, questionnaire in AGENCIES
    )
    config = tmp_path / "config.toml"
    config.write_text(
        '[storage]\npath = "data/sipas.sqlite"\n\n'
        f'[survey]\nquestionnaire = "{SIPAS.id}"\nmin_responses = {MIN_RESPONSES}\n\n'
        '[privacy]\nsecret = "a-test-secret-of-some-length"\n\n' + agencies,
        encoding="utf-8",
    )
    return config


@pytest.fixture
async def setup(tmp_path: Path) -> Setup:
    config = write_config(tmp_path)
    settings = load_settings(config, environ={})
    database = await open_database(settings.storage.path)
    written = Written(ResponseStore(database))
    rng = random.Random(11)
    days = {
        "xa_a": [date(2026, 9, 3), date(2026, 9, 20), date(2026, 9, 30)]
        + [date(2026, 10, d) for d in (1, 2, 9, 15, 15, 23, 30, 31)]
        + [date(2026, 11, 1)],
        "xa_b": [date(2026, 10, 5), date(2026, 10, 6)],
        "so_tp": [date(2026, 10, 7), date(2026, 10, 8), date(2026, 10, 9)],
    }
    for agency, agency_days in days.items():
        questionnaire = SIPAS if agency == "so_tp" else COUNTER
        for day in agency_days:
            answers = random_answers(rng, questionnaire)
            await written.add(agency, day, answers, questionnaire=questionnaire)
    await database.close()
    return Setup(settings, config, written)


def expected_index(setup: Setup, agency: str, period: Period) -> IndexResult:
    questionnaire = SIPAS if agency == "so_tp" else COUNTER
    return compute_index(
        tally(setup.written.answers(period, [agency])),
        questionnaire.criterion_ids,
        min_responses=MIN_RESPONSES,
    )


def assert_json_matches(data: dict[str, Any], expected: IndexResult) -> None:
    assert expected.sipas is not None
    assert data["responses"] == expected.responses
    assert data["suppressed"] is False
    assert data["sipas"] == round(expected.sipas.value, 2)
    assert data["ci95"] == [round(expected.sipas.low, 2), round(expected.sipas.high, 2)]
    for group, figures in (("elements", expected.elements), ("criteria", expected.criteria)):
        assert set(figures) <= set(data[group])
        for key, estimate in figures.items():
            assert data[group][key] == {
                "value": round(estimate.value, 2),
                "n": estimate.n,
                "ci95": [round(estimate.low, 2), round(estimate.high, 2)],
            }


async def _report(setup: Setup, agency: str | None, **kwargs: Any) -> tuple[int, str]:
    options: dict[str, Any] = {
        "start": OCTOBER.start,
        "end": OCTOBER.end,
        "as_json": True,
        "today": date(2026, 11, 2),
    }
    options.update(kwargs)
    return await report(setup.settings, agency=agency, **options)


async def test_report_json_is_the_index_of_the_raw_answers(setup: Setup) -> None:
    code, output = await _report(setup, "xa_a")
    assert code == 0
    data = json.loads(output)
    assert data["agency"] == "xa_a"
    assert (data["from"], data["to"], data["questionnaire"]) == (
        "2026-10-01",
        "2026-10-31",
        COUNTER.id,
    )
    assert data["responses"] == 8
    assert set(data["criteria"]) == set(COUNTER.criterion_ids)
    assert_json_matches(data, expected_index(setup, "xa_a", OCTOBER))


async def test_report_defaults_to_the_current_month(setup: Setup) -> None:
    code, output = await _report(setup, "xa_a", start=None, end=None, today=date(2026, 10, 20))
    assert code == 0
    data = json.loads(output)
    assert (data["from"], data["to"]) == ("2026-10-01", "2026-10-31")
    assert data["responses"] == 8


async def test_report_for_all_agencies_pools_the_default_questionnaire(setup: Setup) -> None:
    code, output = await _report(setup, None)
    data = json.loads(output)
    assert code == 0
    assert data["agency"] is None
    assert data["questionnaire"] == SIPAS.id
    assert_json_matches(data, expected_index(setup, "so_tp", OCTOBER))


async def test_a_small_agency_is_reported_as_suppressed(setup: Setup) -> None:
    code, output = await _report(setup, "xa_b")
    data = json.loads(output)
    assert code == 0
    assert (data["responses"], data["suppressed"], data["sipas"], data["ci95"]) == (
        2,
        True,
        None,
        None,
    )
    code, text = await _report(setup, "xa_b", as_json=False)
    assert "Chưa đủ phiếu để tính chỉ số (n=2; cần ít nhất 3)." in text
    assert "%" not in text


async def test_the_text_report_shows_score_and_criteria_in_the_default_language(
    setup: Setup,
) -> None:
    code, text = await _report(setup, "xa_a", as_json=False)
    expected = expected_index(setup, "xa_a", OCTOBER)
    assert code == 0
    assert text.startswith("Chỉ số hài lòng (SIPAS) – UBND xã A\nKỳ: 01/10/2026 – 31/10/2026\n")
    assert expected.sipas is not None
    assert f"SIPAS: {expected.sipas.value:.2f}%".replace(".", ",") in text
    assert "Tiêu chí từ yếu nhất đến mạnh nhất – UBND xã A" in text
    assert text.count("• Câu ") == len(expected.criteria)


async def test_an_unknown_agency_exits_2_and_lists_the_codes(setup: Setup) -> None:
    code, message = await _report(setup, "xa_z")
    assert code == 2
    assert message == "error: unknown agency 'xa_z'; known codes: xa_a, xa_b, so_tp"


async def test_a_period_ending_before_it_starts_exits_2(setup: Setup) -> None:
    code, message = await _report(setup, "xa_a", start=date(2026, 10, 31), end=date(2026, 10, 1))
    assert code == 2
    assert "before it starts" in message


def test_report_period_fills_a_missing_bound() -> None:
    today = date(2026, 10, 20)
    assert report_period(None, None, today) == OCTOBER
    assert report_period(date(2026, 9, 15), None, today) == Period(date(2026, 9, 15), today)
    assert report_period(None, date(2026, 9, 15), today) == Period(
        date(2026, 9, 1), date(2026, 9, 15)
    )
    with pytest.raises(ValueError, match="longer than"):
        report_period(date(2000, 1, 1), None, today)


# -- the index service behind the report, the commands and the thank-you message ---------------


async def _scores(setup: Setup) -> tuple[Database, Scores]:
    database = await Database.open(setup.settings.storage.path)
    catalogue = load_catalogue()
    agencies = configured_agencies(setup.settings)
    return database, build_scores(setup.settings, catalogue, database, agencies)


async def test_a_scorecard_compares_with_the_previous_period(setup: Setup) -> None:
    database, scores = await _scores(setup)
    try:
        card = await scores.scorecard("xa_a", OCTOBER)
    finally:
        await database.close()
    current = expected_index(setup, "xa_a", OCTOBER)
    previous = expected_index(setup, "xa_a", OCTOBER.previous())
    assert (card.name, card.questionnaire.id, card.comments) == ("UBND xã A", COUNTER.id, 0)
    assert card.result == current
    assert card.previous == previous
    assert previous.responses == 3
    assert card.change == compare(current, previous)


async def test_a_scorecard_outside_the_scope_is_refused(setup: Setup) -> None:
    database, scores = await _scores(setup)
    try:
        with pytest.raises(LookupError, match="known codes: xa_b"):
            await scores.scorecard("xa_a", OCTOBER, scope=["xa_b"])
    finally:
        await database.close()


async def test_the_ranking_indexes_each_agency_on_its_own_questionnaire(setup: Setup) -> None:
    database, scores = await _scores(setup)
    try:
        rows = await scores.ranking(OCTOBER)
        scoped = await scores.ranking(OCTOBER, scope=["xa_b", "so_tp"])
    finally:
        await database.close()
    by_name = dict(rows)
    assert set(by_name) == {"UBND xã A", "UBND xã B", "Sở Tư pháp"}
    assert by_name["UBND xã A"].result == expected_index(setup, "xa_a", OCTOBER)
    assert by_name["Sở Tư pháp"].result == expected_index(setup, "so_tp", OCTOBER)
    assert rows[-1] == ("UBND xã B", by_name["UBND xã B"])
    assert by_name["UBND xã B"].rank == 0
    assert [name for name, _ in scoped] == ["Sở Tư pháp", "UBND xã B"]


async def test_the_index_line_covers_the_last_90_days(setup: Setup) -> None:
    database, scores = await _scores(setup)
    try:
        line = await scores.index_line("xa_a", date(2026, 10, 31), "vi")
        small = await scores.index_line("xa_b", date(2026, 10, 31), "vi")
        unknown = await scores.index_line("nobody", date(2026, 10, 31), "en")
    finally:
        await database.close()
    expected = expected_index(setup, "xa_a", Period(date(2026, 8, 3), date(2026, 10, 31)))
    assert expected.sipas is not None
    value = f"{expected.sipas.value:.2f}".replace(".", ",")
    assert line == f"Chỉ số hài lòng của UBND xã A trong 90 ngày qua: {value}% (11 phiếu)."
    assert small is None
    assert unknown is None


# -- the command line --------------------------------------------------------------------------


async def test_the_report_command_prints_the_json(setup: Setup, tmp_path: Path) -> None:
    result = run_cli(
        "report",
        "--config",
        str(setup.config),
        "--agency",
        "xa_a",
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-31",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["agency"] == "xa_a"
    assert_json_matches(data, expected_index(setup, "xa_a", OCTOBER))


async def test_the_report_command_refuses_an_unknown_agency(setup: Setup, tmp_path: Path) -> None:
    result = run_cli("report", "--config", str(setup.config), "--agency", "xa_z", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown agency 'xa_z'; known codes: xa_a, xa_b, so_tp" in result.stdout + result.stderr
