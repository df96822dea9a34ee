"""/healthz and /metrics on the web server, and the web page as `python -m bot run` serves it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.commands import check_config
from bot.config import ConfigError, load_settings
from bot.telegram_app import build_application, on_shutdown, on_startup
from handlers import metrics
from handlers.retry import Wait, call_with_retry
from tests.telegram_fakes import RecordingRequest
from tests.test_web_survey import Form, Site, begin, post, write_config
from tests.test_web_survey import site as site  # the fixture
from tests.zalo_emulator import ZaloEmulator
from tests.zalo_support import write_zalo_config

ROOT = Path(__file__).resolve().parent.parent


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a /metrics answer (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


async def test_healthz_reports_the_database_migrations_and_channels(site: Site) -> None:
    async with site.browser() as browser:
        health = await browser.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["ok"] is True
    assert body["database"] == "reachable"
    assert body["migrations"]["pending"] == []
    assert body["channels"] == {"telegram": "off", "zalo": "off", "web": "serving"}


async def test_healthz_fails_when_migrations_are_behind_or_the_database_is_gone(
    site: Site,
) -> None:
    latest = (await site.rows("SELECT MAX(version) FROM schema_migrations"))[0][0]
    async with site.services.database.transaction() as connection:
        await connection.execute("DELETE FROM schema_migrations WHERE version = ?", (latest,))
    async with site.browser() as browser:
        behind = await browser.get("/healthz")
        assert behind.status_code == 503
        assert behind.json()["migrations"]["pending"] == [int(str(latest))]
        await site.services.database.close()
        gone = await browser.get("/healthz")
    assert gone.status_code == 503
    assert gone.json()["database"] == "unreachable"


async def test_metrics_count_answers_completions_and_commit_time(site: Site) -> None:
    async with site.browser() as browser:
        before = (await browser.get("/metrics")).text
        page = await begin(browser)
        for _ in range(5):
            page = await post(browser, "/s/xa_a", page, Form(page.text).value("5 ·"))
        await post(browser, "/s/xa_a", page, Form(page.text).value("Bỏ qua"))
        after = await browser.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    stored = sample(after.text, "sipas_answers_stored_total")
    assert stored - sample(before, "sipas_answers_stored_total") == 7  # consent, 5, comment
    completed = sample(after.text, "sipas_surveys_completed_total")
    assert completed - sample(before, "sipas_surveys_completed_total") == 1
    timed = sample(after.text, "sipas_commit_seconds_count")
    assert timed - sample(before, "sipas_commit_seconds_count") >= 7


def errors(kind: str) -> float:
    return sample(metrics.exposition().decode(), "sipas_bot_api_errors_total", kind=kind)


async def test_failed_sends_are_counted_429s_apart() -> None:
    before = {kind: errors(kind) for kind in ("rate_limited", "error")}
    failures: Iterator[Wait] = iter([1.0, "backoff"])
    calls = []

    async def send() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("refused")

    async def no_sleep(_: float) -> None:
        return None

    await call_with_retry(send, no_sleep, lambda _: next(failures))
    after = {kind: errors(kind) for kind in ("rate_limited", "error")}
    assert after["rate_limited"] - before["rate_limited"] == 1
    assert after["error"] - before["error"] == 1
    assert 'sipas_bot_api_errors_total{kind="rate_limited"}' in metrics.exposition().decode()


def test_digest_deliveries_are_counted() -> None:
    def sent() -> float:
        text = metrics.exposition().decode()
        return sample(text, "sipas_digest_deliveries_total", channel="telegram", outcome="sent")

    before = sent()
    metrics.count_digest("telegram", "sent")
    assert sent() == before + 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_until_healthy(config: Path, port: int, cwd: Path) -> dict[str, object]:
    """`python -m bot run`: its /healthz once it answers, its page, then SIGTERM ends it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)  # the process is starting: nothing to inject here
        assert health is not None, process.communicate(timeout=10)
        page = httpx.get(f"http://127.0.0.1:{port}/s/ubnd_xa_a", timeout=5)
        page = page if page.status_code == 200 else httpx.get(f"http://127.0.0.1:{port}/s/xa_a")
        assert "Bắt đầu đánh giá" in page.text
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        body: dict[str, object] = json.loads(health.text)
        return body
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_run_without_a_chat_token_serves_the_web_page_until_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    config = write_config(tmp_path, "")
    text = config.read_text(encoding="utf-8").replace(
        '[web]\npublic_url = "http://127.0.0.1"',
        f'[web]\npublic_url = "http://127.0.0.1:{port}"\nport = {port}',
    )
    config.write_text(text, encoding="utf-8")
    health = _run_until_healthy(config, port, tmp_path)
    assert health["ok"] is True
    assert health["channels"] == {"telegram": "off", "zalo": "off", "web": "serving"}


def test_the_web_page_runs_beside_zalo_in_one_process(tmp_path: Path, zalo: ZaloEmulator) -> None:
    port = _free_port()
    web = f'\n[web]\npublic_url = "http://127.0.0.1:{port}"\nport = {port}\n'
    config = write_zalo_config(tmp_path, zalo, extra=web)
    health = _run_until_healthy(config, port, tmp_path)
    assert health["channels"] == {"telegram": "off", "zalo": "polling", "web": "serving"}


async def test_the_web_page_starts_and_stops_with_telegram(tmp_path: Path) -> None:
    port = _free_port()
    config = write_config(tmp_path, "")
    text = config.read_text(encoding="utf-8").replace(
        '[web]\npublic_url = "http://127.0.0.1"',
        f'[web]\npublic_url = "http://127.0.0.1:{port}"\nport = {port}',
    )
    config.write_text(text + '\n[telegram]\ntoken = "123:TEST"\n', encoding="utf-8")
    settings = load_settings(config, environ={})
    app = build_application(settings, request=RecordingRequest(), rate_limiter=False)
    async with app:
        await on_startup(app)
        try:
            async with httpx.AsyncClient() as client:
                health = await client.get(f"http://127.0.0.1:{port}/healthz")
        finally:
            await on_shutdown(app)
    assert health.json()["channels"]["telegram"] == "polling"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # the port is free again


def test_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = write_config(tmp_path, "")
        text = config.read_text(encoding="utf-8").replace(
            '[web]\npublic_url = "http://127.0.0.1"',
            f'[web]\npublic_url = "http://127.0.0.1"\nport = {port}',
        )
        config.write_text(text, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "bot", "run", "--config", str(config)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot listen on 127.0.0.1:")
    assert "Traceback" not in result.stderr


def test_check_config_says_where_the_web_page_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(write_config(tmp_path), environ={})
    assert check_config(settings) == 0
    assert "  web: http://127.0.0.1 on 127.0.0.1:8445" in capsys.readouterr().out


@pytest.mark.parametrize("url", ["ftp://x.example", "sipas.example.gov.vn", "https://"])
def test_a_public_url_that_is_not_http_is_refused_with_its_key(tmp_path: Path, url: str) -> None:
    config = write_config(tmp_path)
    text = config.read_text(encoding="utf-8").replace('"http://127.0.0.1"', f'"{url}"')
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ={})
    assert refused.value.key == "web.public_url"
    assert "http(s)://" in refused.value.reason
