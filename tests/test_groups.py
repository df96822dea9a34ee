"""Agency groups: the config, /ranking by group through the real desk, report --group, the digest.

A province ranks its departments apart from its communes and wards: each group is ranked on its
own with the group's pooled SIPAS. Figures are checked against the raw answers pooled here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.config import (
    AgencyEntry,
    ConfigError,
    GroupEntry,
    OfficialEntry,
    Settings,
    StorageSection,
    SurveySection,
    TelegramSection,
    load_settings,
)
from bot.digest.compose import build_digest
from bot.files.report import report
from bot.telegram_app import build_application, on_shutdown, on_startup, services_of
from storage.imports import store_paper_responses
from survey.access import Official
from survey.digest import render_digest
from survey.index import IndexResult, compute_index
from survey.period import Period
from survey.tally import tally
from tests.telegram_fakes import RecordingRequest, feed, text_update
from tests.test_officials import ADMIN, OFFICIAL_A, SEED, SIPAS, A, B, Clock
from tests.test_officials import SMALL as C
from tests.test_report_cli import MIN_RESPONSES, OCTOBER, Setup, write_config
from tests.test_report_cli import setup as setup  # the fixture, reused
from tests.test_tallies import COUNTER

ROOT = Path(__file__).resolve().parent.parent
GROUPS_TOML = (
    '[[groups]]\nid = "so"\nname = "Sở, ban, ngành"\n\n'
    '[[groups]]\nid = "xa"\nname = "Xã, phường"\n'
)


def _percent(value: float) -> str:
    return f"{value:.2f}%".replace(".", ",")


def _pooled(agencies: set[str], period: Period = OCTOBER) -> IndexResult:
    """The SIPAS of the seeded paper forms of ``agencies``, pooled from their raw answers."""
    answers = [
        form.answers
        for form in SEED
        if form.agency in agencies and period.start <= form.submitted_at.date() <= period.end
    ]
    return compute_index(tally(answers), SIPAS.criterion_ids, min_responses=3)


# -- the config ---------------------------------------------------------------------------------


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[privacy]\nsecret = "a-test-secret-of-some-length"\n\n' + text, "utf-8")
    return path


def test_an_agency_naming_an_undeclared_group_is_refused_in_one_line(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        GROUPS_TOML
        + '[[agencies]]\ncode = "a"\nname = "A"\ngroup = "xa"\n\n'
        + '[[agencies]]\ncode = "b"\nname = "B"\ngroup = "huyen"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert caught.value.key == "agencies[1].group"
    assert "unknown group 'huyen'; known groups: so, xa" in str(caught.value)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("SIPAS_")},
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0, done.stderr  # one line, no traceback
    assert "agencies[1].group" in done.stderr
    assert "unknown group 'huyen'" in done.stderr


def test_a_group_id_that_is_also_an_agency_code_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path, GROUPS_TOML + '[[agencies]]\ncode = "XA"\nname = "A"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert caught.value.key == "groups[1].id"


def test_a_group_without_groups_declared_names_that_none_are(tmp_path: Path) -> None:
    config = _config(tmp_path, '[[agencies]]\ncode = "a"\nname = "A"\ngroup = "xa"\n')
    with pytest.raises(ConfigError, match=r"known groups: \(none declared in \[\[groups\]\]\)"):
        load_settings(config, environ={})


# -- /ranking through the real Telegram desk ----------------------------------------------------


def _settings(tmp_path: Path, *, groups: bool = True) -> Settings:
    return Settings(
        telegram=TelegramSection(token="123:TEST"),  # type: ignore[arg-type]
        storage=StorageSection(path=tmp_path / "data" / "sipas.sqlite"),
        survey=SurveySection(min_responses=3),
        groups=(GroupEntry(id="so", name="Sở, ban, ngành"), GroupEntry(id="xa", name="Xã, phường"))
        if groups
        else (),
        agencies=(
            AgencyEntry(code=A, name="UBND xã A", group="xa" if groups else None),
            AgencyEntry(code=B, name="Sở Tư pháp", group="so" if groups else None),
            AgencyEntry(code=C, name="UBND xã Ít", group="xa" if groups else None),
        ),
        officials=(
            OfficialEntry(telegram_id=ADMIN, role="admin", agencies=("*",)),
            OfficialEntry(telegram_id=OFFICIAL_A, role="official", agencies=(A,)),
        ),
    )


class Desk:
    def __init__(self, app: Any, request: RecordingRequest) -> None:
        self.app, self.request = app, request

    async def send(self, user_id: int, text: str) -> str:
        before = len(self.request.calls)
        await feed(self.app, text_update(user_id, text))
        return "\n".join(
            str(call.params.get("text") or "")
            for call in self.request.calls[before:]
            if call.method == "sendMessage" and int(call.params.get("chat_id", 0)) == user_id
        )


async def _open_desk(settings: Settings) -> AsyncIterator[Desk]:
    clock = Clock()
    request = RecordingRequest()
    application = build_application(settings, request=request, rate_limiter=False, clock=clock)
    async with application:
        await on_startup(application)
        services = services_of(application)
        await store_paper_responses(services.database, SEED, settings.bot.zone, clock.now)
        yield Desk(application, request)
        await on_shutdown(application)


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async for found in _open_desk(_settings(tmp_path)):
        yield found


async def test_ranking_ranks_within_each_group_with_the_groups_pooled_sipas(desk: Desk) -> None:
    reply = await desk.send(ADMIN, "/ranking 2026-10")
    so, xa = _pooled({B}), _pooled({A, C})
    assert so.sipas is not None
    assert xa.sipas is not None
    lines = reply.splitlines()
    # Ranks restart in each group: the department and the best commune are both first.
    start = lines.index("■ Sở, ban, ngành")
    assert lines[start + 1].startswith(f"SIPAS chung của nhóm: {_percent(so.sipas.value)} (n=5;")
    assert lines[start + 2] == "1. Sở Tư pháp"
    second = lines.index("■ Xã, phường")
    assert second > start
    assert lines[second + 1].startswith(f"SIPAS chung của nhóm: {_percent(xa.sipas.value)} (n=4;")
    assert lines[second + 2] == "1. UBND xã A"
    assert lines[second + 4] == "– UBND xã Ít: chưa đủ phiếu (n=1)"
    assert "2. " not in reply  # nobody is second: each group has one ranked agency


@pytest.mark.parametrize("command", ["/ranking xa 2026-10", "/xephang 2026-10 XA"])
async def test_ranking_a_group_shows_that_group_only(desk: Desk, command: str) -> None:
    reply = await desk.send(ADMIN, command)
    assert "Kỳ: 01/10/2026 – 31/10/2026" in reply
    assert "■ Xã, phường" in reply
    assert "1. UBND xã A" in reply
    assert "Sở" not in reply


async def test_an_official_sees_only_their_agencies_within_a_group(desk: Desk) -> None:
    reply = await desk.send(OFFICIAL_A, "/ranking xa 2026-10")
    alone = _pooled({A})
    assert alone.sipas is not None
    assert f"SIPAS chung của nhóm: {_percent(alone.sipas.value)} (n=3;" in reply
    assert "UBND xã Ít" not in reply
    everything = await desk.send(OFFICIAL_A, "/ranking 2026-10")
    assert "Sở" not in everything
    assert "UBND xã Ít" not in everything
    refused = await desk.send(OFFICIAL_A, "/ranking so 2026-10")
    assert refused == "Nhóm «so» không có cơ quan nào thuộc phạm vi của Ông/Bà."


async def test_score_of_a_group_pools_its_agencies(desk: Desk) -> None:
    reply = await desk.send(ADMIN, "/score xa 2026-10")
    pooled = _pooled({A, C})
    assert pooled.sipas is not None
    assert reply.startswith("Chỉ số hài lòng (SIPAS) – Xã, phường\n")
    assert f"SIPAS: {_percent(pooled.sipas.value)} (n=4;" in reply


async def test_without_groups_the_ranking_is_one_table(tmp_path: Path) -> None:
    async for desk in _open_desk(_settings(tmp_path, groups=False)):
        reply = await desk.send(ADMIN, "/ranking 2026-10")
        assert "■" not in reply
        assert "nhóm" not in reply
        lines = reply.splitlines()
        assert lines.index("1. UBND xã A") < lines.index("2. Sở Tư pháp")


# -- the weekly digest --------------------------------------------------------------------------


async def test_the_digest_ranks_within_each_group(tmp_path: Path) -> None:
    async for desk in _open_desk(_settings(tmp_path)):
        services = services_of(desk.app)
        admin = Official("telegram", str(ADMIN), "admin", ("*",))
        digest = await build_digest(services, admin, OCTOBER)
        assert digest is not None
        text = render_digest(digest, "vi")
        so, xa = _pooled({B}), _pooled({A, C})
        assert so.sipas is not None
        assert xa.sipas is not None
        lines = text.splitlines()
        start = lines.index(f"■ Sở, ban, ngành – SIPAS chung: {_percent(so.sipas.value)} (n=5)")
        assert lines[start + 1] == f"1. Sở Tư pháp: {_percent(so.sipas.value)} (n=5)"
        second = lines.index(f"■ Xã, phường – SIPAS chung: {_percent(xa.sipas.value)} (n=4)")
        assert lines[second + 1].startswith("1. UBND xã A: 93,67% (n=3)")
        assert lines[second + 2] == "– UBND xã Ít: chưa đủ phiếu (n=1)"
        # A scope holding only the small commune of its group: the group's figure is suppressed.
        some = Official("telegram", "9", "official", (B, C))
        small = await build_digest(services, some, OCTOBER)
        assert small is not None
        assert "■ Xã, phường – SIPAS chung: chưa đủ phiếu (n=1)" in render_digest(small, "vi")
        english = render_digest(small, "en")
        assert "■ Xã, phường – pooled SIPAS: not enough responses (n=1)" in english


# -- report --group -----------------------------------------------------------------------------
# The report fixture: xa_a (8 in October) and xa_b (2) on the counter form, so_tp (3) on SIPAS.


def _grouped(setup: Setup) -> Setup:
    config = write_config(setup.config.parent)
    text = config.read_text("utf-8").replace("[[agencies]]", GROUPS_TOML + "\n[[agencies]]", 1)
    for code, group in (("xa_a", "xa"), ("xa_b", "xa"), ("so_tp", "so")):
        text = text.replace(f'code = "{code}"\n', f'code = "{code}"\ngroup = "{group}"\n')
    config.write_text(text, "utf-8")
    return Setup(load_settings(config, environ={}), config, setup.written)


async def _report(setup: Setup, **kwargs: Any) -> tuple[int, str]:
    options: dict[str, Any] = {
        "agency": None,
        "start": OCTOBER.start,
        "end": OCTOBER.end,
        "as_json": True,
        "today": date(2026, 11, 2),
    }
    options.update(kwargs)
    return await report(setup.settings, **options)


async def test_report_json_of_a_group_pools_its_agencies_raw_answers(setup: Setup) -> None:
    grouped = _grouped(setup)
    code, output = await _report(grouped, group="xa")
    assert code == 0, output
    data = json.loads(output)
    assert list(data) == [
        "agency",
        "group",
        "from",
        "to",
        "questionnaire",
        "responses",
        "suppressed",
        "sipas",
        "ci95",
        "elements",
        "criteria",
    ]
    assert (data["agency"], data["group"], data["questionnaire"]) == (None, "xa", COUNTER.id)
    # Independent: the raw answers of both communes, pooled here and indexed.
    raw = setup.written.answers(OCTOBER, ["xa_a", "xa_b"])
    expected = compute_index(tally(raw), COUNTER.criterion_ids, min_responses=MIN_RESPONSES)
    assert expected.sipas is not None
    assert data["responses"] == len(raw) == 10
    assert data["sipas"] == round(expected.sipas.value, 2)
    assert data["ci95"] == [round(expected.sipas.low, 2), round(expected.sipas.high, 2)]
    for key, figures in (("elements", expected.elements), ("criteria", expected.criteria)):
        for name, estimate in figures.items():
            assert data[key][name] == {
                "value": round(estimate.value, 2),
                "n": estimate.n,
                "ci95": [round(estimate.low, 2), round(estimate.high, 2)],
            }
    # An agency's report keeps its shape: no "group" key.
    _, single = await _report(grouped, agency="xa_a")
    assert "group" not in json.loads(single)


async def test_a_group_below_min_responses_is_suppressed(setup: Setup) -> None:
    grouped = _grouped(setup)
    code, output = await _report(
        grouped, group="xa", start=date(2026, 10, 5), end=date(2026, 10, 6)
    )
    data = json.loads(output)
    assert code == 0
    assert (data["responses"], data["suppressed"], data["sipas"], data["ci95"]) == (
        2,
        True,
        None,
        None,
    )
    assert all(figure["value"] is None for figure in data["criteria"].values())
    code, text = await _report(
        grouped, group="xa", start=date(2026, 10, 5), end=date(2026, 10, 6), as_json=False
    )
    assert "Chỉ số hài lòng (SIPAS) – Xã, phường" in text
    assert "SIPAS chung của nhóm: chưa đủ phiếu (n=2; cần ít nhất 3)." in text
    assert re.search(r"\d,\d\d%", text) is None  # no figure of the index anywhere


async def test_the_text_report_ranks_within_each_group(setup: Setup) -> None:
    code, text = await _report(_grouped(setup), as_json=False)
    assert code == 0
    ranking = text[text.index("Xếp hạng") :]
    assert ranking.index("■ Sở, ban, ngành") < ranking.index("1. Sở Tư pháp")
    assert ranking.index("■ Xã, phường") < ranking.index("1. UBND xã A")
    assert "– UBND xã B: chưa đủ phiếu (n=2)" in ranking
    code, plain = await _report(setup, as_json=False)  # no groups: no ranking, as before
    assert "■" not in plain
    assert "Xếp hạng" not in plain


async def test_report_refuses_an_unknown_group_and_agency_with_group(setup: Setup) -> None:
    grouped = _grouped(setup)
    assert await _report(grouped, group="huyen") == (
        2,
        "error: unknown group 'huyen'; known groups: so, xa",
    )
    code, message = await _report(grouped, group="xa", agency="xa_a")
    assert (code, message) == (2, "error: give --agency or --group, not both")


def test_report_group_on_the_command_line(setup: Setup) -> None:
    grouped = _grouped(setup)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bot", "report", "--config", str(grouped.config)),
            *("--group", "so", "--from", "2026-10-01", "--to", "2026-10-31", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if not k.startswith("SIPAS_")},
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["group"], data["questionnaire"], data["responses"]) == ("so", SIPAS.id, 3)


async def test_agencies_in_no_group_are_ranked_last_among_themselves(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    agencies = (*settings.agencies[:2], settings.agencies[2].model_copy(update={"group": None}))
    async for desk in _open_desk(settings.model_copy(update={"agencies": agencies})):
        reply = await desk.send(ADMIN, "/ranking 2026-10")
        lines = reply.splitlines()
        last = lines.index("■ Cơ quan không thuộc nhóm nào")
        assert lines.index("■ Xã, phường") < last
        assert lines[last + 1] == "– UBND xã Ít: chưa đủ phiếu (n=1)"
        admin = Official("telegram", str(ADMIN), "admin", ("*",))
        digest = await build_digest(services_of(desk.app), admin, OCTOBER)
        assert digest is not None
        english = render_digest(digest, "en").splitlines()
        assert english[english.index("■ Agencies in no group") + 1].startswith("– UBND xã Ít:")
