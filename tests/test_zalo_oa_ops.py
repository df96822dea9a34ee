"""The OA beyond the survey: the digest inside the reply window, config, QR poster."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import ConfigError, load_settings
from bot.digest.delivery import deliver_due_digests
from bot.zalo_oa.digest import oa_digest
from handlers.officials import Request
from tests.zalo_oa_emulator import OaEmulator
from tests.zalo_oa_support import ADMIN, OaCitizen, OaRun, oa_running, write_oa_config

INVITE = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}")
OPEN, CLOSED = "9000000000000001", "9000000000000002"


async def register(run: OaRun, user_id: str) -> OaCitizen:
    request = Request("invite", ("*",), "telegram", str(ADMIN), run.clock(), "vi")
    code = INVITE.search((await run.services.desk.handle(request)).text)
    assert code
    official = OaCitizen(run, user_id)
    await official.say(f"/register {code.group()}")
    await official.say("/subscribe")
    return official


async def test_the_digest_goes_only_inside_the_free_reply_window(tmp_path: Path) -> None:
    with OaEmulator() as oa:
        async with oa_running(tmp_path, oa) as run:
            await register(run, CLOSED)
            run.clock.advance(hours=49)  # CLOSED last wrote 49 hours ago: outside 48 h
            await register(run, OPEN)
            channel = oa_digest(run.channel, run.clock)
            before = {user: len(oa.sent(user)) for user in (OPEN, CLOSED)}
            report = await deliver_due_digests({"zalo_oa": channel}, run.services, run.clock())
            assert report.sent == [OPEN]
            assert report.undeliverable == [CLOSED]
            assert "undeliverable 1" in report.summary()
            assert len(oa.sent(OPEN)) == before[OPEN] + 1
            assert len(oa.sent(CLOSED)) == before[CLOSED]  # never a paid message
            assert report.period is not None
            start = report.period.start.isoformat()
            assert await run.channel.store.undeliverable(start) == 1
            again = await deliver_due_digests({"zalo_oa": channel}, run.services, run.clock())
            assert again.already == [OPEN]
            assert again.undeliverable == [CLOSED]
            assert await run.channel.store.undeliverable(start) == 1


def test_check_config_names_the_oa(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with OaEmulator() as oa:
        config = write_oa_config(tmp_path, oa, 8445)
        assert main(["check-config", "--config", str(config)]) == 0
    assert "zalo_oa: app 360846524940903967" in capsys.readouterr().out


def test_the_oa_needs_its_secrets_and_takes_them_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[zalo_oa]\napp_id = "123"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"zalo_oa\.app_secret.*SIPAS_ZALO_APP_SECRET"):
        load_settings(config, environ={})
    environ = {
        "SIPAS_ZALO_APP_SECRET": "s1",
        "SIPAS_ZALO_OA_SECRET": "s2",
        "SIPAS_ZALO_OA_REFRESH_TOKEN": "r1",
    }
    oa = load_settings(config, environ=environ).zalo_oa
    assert oa.enabled
    assert oa.app_secret is not None
    assert oa.app_secret.get_secret_value() == "s1"
    assert "s1" not in repr(oa)
    config.write_text('[zalo_oa]\napp_id = "123"\npath = "no-slash"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"zalo_oa\.path"):
        load_settings(config, environ=environ)


def test_the_oa_refuses_the_published_secret(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[zalo_oa]\napp_id = "123"\napp_secret = "oa-app-secret-long"\n'
        'oa_secret_key = "oa-secret-key-long"\n',
        encoding="utf-8",
    )
    assert main(["run", "--config", str(config)]) == 2


def test_the_qr_poster_opens_the_oa_and_prints_the_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with OaEmulator() as oa:
        config = write_oa_config(tmp_path, oa, 8445)
    out = tmp_path / "poster.svg"
    args = ["qr", "--config", str(config), "--agency", "ubnd_xa_a", "--out", str(out)]
    assert main([*args, "--channel", "zalo-oa", "--oa-url", "https://zalo.me/579745"]) == 0
    svg = out.read_text(encoding="utf-8")
    assert "ubnd_xa_a" in svg
    assert "https://zalo.me/579745" in svg
    assert "the citizen sends: ubnd_xa_a" in capsys.readouterr().out
    assert main([*args, "--channel", "zalo-oa", "--force"]) == 2
    assert "--oa-url" in capsys.readouterr().err
    assert main([*args, "--oa-url", "https://zalo.me/579745", "--force"]) == 2
    assert "--channel zalo-oa" in capsys.readouterr().err
