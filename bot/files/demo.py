"""`python -m bot demo`: a province's synthetic responses, and what the product makes of them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.config import load_settings
from bot.digest.compose import build_digest, render, write_digest_files
from bot.files.export import write_period_export
from bot.files.posters import write_poster
from bot.services import Services, configured_officials, open_services
from handlers.telegram.links import deep_link
from storage.imports import store_paper_responses
from survey.paper import PaperResponse
from survey.period import Period, last_full_week
from survey.report_json import report_json
from survey.scorecard import render_group_rankings
from survey.synthetic import Profile, generate

DEMO_CHANNEL = "demo"
BOT_USERNAME = "sipas_demo_bot"
BATCH = 5000
WEEKS = 12
# Cao Bằng, a province not merged in 2025, as organised since 1 July 2025: provincial
# departments and the provincial service centre, and communes and wards (no districts, no
# townships). The departments, the centre and the three wards exist; the communes are made up.
GROUPS = (
    ("so_nganh", "Sở, ban, ngành và Trung tâm Phục vụ hành chính công tỉnh"),
    ("xa_phuong", "Xã, phường"),
)
# code, name, questionnaire, level (1–5 mood), trend per week, responses per week, group
AGENCIES = (
    ("so_tu_phap", "Sở Tư pháp", "sipas-2023", 4.35, 0.01, 45, "so_nganh"),
    ("so_tai_chinh", "Sở Tài chính", "sipas-2023", 4.2, 0.02, 35, "so_nganh"),
    ("so_nn_mt", "Sở Nông nghiệp và Môi trường", "sipas-2023", 3.75, 0.03, 40, "so_nganh"),
    ("so_xay_dung", "Sở Xây dựng", "sipas-2023", 3.95, -0.025, 25, "so_nganh"),
    ("so_noi_vu", "Sở Nội vụ", "sipas-2023", 4.1, 0.0, 15, "so_nganh"),
    ("so_y_te", "Sở Y tế", "sipas-2023", 3.9, 0.01, 20, "so_nganh"),
    (
        "ttphcc_tinh",
        "Trung tâm Phục vụ hành chính công tỉnh Cao Bằng",
        "sipas-2023",
        4.25,
        0.0,
        60,
        "so_nganh",
    ),
    ("ubnd_phuong_thuc_phan", "UBND phường Thục Phán", "sipas-2023", 4.5, 0.0, 30, "xa_phuong"),
    (
        "ubnd_phuong_nung_tri_cao",
        "UBND phường Nùng Trí Cao",
        "sipas-2023",
        4.0,
        0.015,
        30,
        "xa_phuong",
    ),
    ("ubnd_phuong_tan_giang", "UBND phường Tân Giang", "sipas-2023", 3.85, -0.03, 20, "xa_phuong"),
    ("ubnd_xa_minh_hoa", "UBND xã Minh Họa", "counter-5", 4.0, 0.04, 25, "xa_phuong"),
    ("ubnd_xa_vi_du", "UBND xã Ví Dụ", "sipas-2023", 4.2, 0.0, 1.5, "xa_phuong"),
    ("ubnd_xa_thu_nghiem", "UBND xã Thử Nghiệm", "sipas-2023", 3.6, 0.0, 1.2, "xa_phuong"),
    ("ubnd_xa_gia_dinh", "UBND xã Giả Định", "sipas-2023", 4.0, 0.01, 3, "xa_phuong"),
)


@dataclass
class DemoResult:
    database: Path
    config: Path
    responses: int
    files: list[Path] = field(default_factory=list)


async def run_demo(
    out: Path,
    *,
    today: date,
    seed: int = 2026,
    responses: int | None = None,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Build the demo database in `out` and write what the product shows about it."""
    database, config = _prepare(out)
    services = await open_services(load_settings(config))
    try:
        count = await _fill(services, today, seed, responses, say)
        result = DemoResult(database, config, count)
        await _show(services, today, out, result, say)
    finally:
        await services.close()
    return result


def _prepare(out: Path) -> tuple[Path, Path]:
    """A fresh demo database path (an old one is removed) and the demo's config file."""
    out.mkdir(parents=True, exist_ok=True)
    database = out / "sipas-demo.sqlite"
    for stale in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        stale.unlink(missing_ok=True)
    return database, _write_config(out, database.name)


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _write_config(out: Path, database: str) -> Path:
    groups = "\n".join(f'[[groups]]\nid = "{id_}"\nname = "{name}"\n' for id_, name in GROUPS)
    blocks = "\n".join(
        f'[[agencies]]\ncode = "{code}"\nname = "{name}"\nquestionnaire = "{questionnaire}"\n'
        f'group = "{group}"\n'
        for code, name, questionnaire, *_, group in AGENCIES
    )
    config = out / "config.toml"
    config.write_text(
        "# Written by `python -m bot demo`: the demo database with its agencies.\n"
        f'[storage]\npath = "{database}"\n\n[survey]\nmin_responses = 10\n\n'
        '[privacy]\nsecret = "demo-secret-not-for-production"\n\n'
        f"{groups}\n{blocks}\n"
        '[[officials]]\ntelegram_id = 100000001\nrole = "admin"\nagencies = ["*"]\n',
        encoding="utf-8",
    )
    return config


async def _fill(
    services: Services, today: date, seed: int, responses: int | None, say: Callable[[str], None]
) -> int:
    last_sunday = today - timedelta(days=today.weekday() + 1)
    first_day = last_sunday - timedelta(days=WEEKS * 7 - 1)
    weekly = sum(a[5] for a in AGENCIES)
    scale = 1.0 if responses is None else responses / (weekly * WEEKS)
    profiles = [
        Profile(code, services.catalogue[questionnaire], level, trend, per_week * scale)
        for code, _, questionnaire, level, trend, per_week, _ in AGENCIES
    ]
    say(f"generating responses for {len(profiles)} agencies, {first_day} to {last_sunday} …")
    now = datetime.now(UTC)
    batch: list[PaperResponse] = []
    stored = 0
    for response in generate(profiles, first_day, WEEKS, seed):
        batch.append(response)
        if len(batch) == BATCH:
            stored += await _store(services, batch, now)
            say(f"  {stored} responses stored")
            batch = []
    stored += await _store(services, batch, now)
    say(f"  {stored} responses stored")
    return stored


async def _store(services: Services, batch: list[PaperResponse], now: datetime) -> int:
    zone = services.settings.bot.zone
    return await store_paper_responses(services.database, batch, zone, now, DEMO_CHANNEL)


async def _show(
    services: Services, today: date, out: Path, result: DemoResult, say: Callable[[str], None]
) -> None:
    last_month_end = today.replace(day=1) - timedelta(days=1)
    month = Period(last_month_end.replace(day=1), last_month_end)
    language = services.settings.bot.default_language
    ranking = await services.scores.group_rankings(month)
    say("")
    say(render_group_rankings(ranking, month, language, services.settings.survey.min_responses))
    say("")
    first = AGENCIES[0][0]
    card = await services.scores.scorecard(first, month)
    report = out / "report.json"
    report.write_text(json.dumps(report_json(card), ensure_ascii=False, indent=2) + "\n", "utf-8")
    export = await write_period_export(
        services.scores,
        services.database,
        services.catalogue,
        period=month,
        agencies=None,
        fmt="xlsx",
        out=out / f"export-{month.start:%Y-%m}.xlsx",
        language=language,
    )
    admin = configured_officials(services.settings)[0]
    digest = await build_digest(services, admin, last_full_week(today))
    assert digest is not None  # the demo admin sees every agency
    rendered = await render(digest, language)
    digest_files = write_digest_files(_fresh(out / "digest") / "admin", rendered)
    posters = _fresh(out / "qr")
    for code, name, *_ in AGENCIES:
        write_poster(name, deep_link(BOT_USERNAME, code), posters / f"{code}.png")
    result.files += [report, export, *digest_files, posters]


def summary(result: DemoResult) -> str:
    """Where everything is, for the operator."""
    lines = [
        f"demo ready ({result.responses} responses):",
        f"  database   {result.database}",
        f"  config     {result.config}   try: python -m bot run --config {result.config}",
    ]
    lines += [f"  {'folder' if p.is_dir() else 'file':<10} {p}" for p in result.files]
    return "\n".join(lines)
