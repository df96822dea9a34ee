"""Configuration: the example validates and documents every key; broken configs say why."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import ConfigError, Settings, load_settings
from tests.cli_support import run_cli as _run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
GOOD_SECRET = "a-test-secret-that-is-long-enough"


def _section_models(
    model: type[BaseModel], prefix: str = ""
) -> Iterator[tuple[str, type[BaseModel]]]:
    """(table name, model) for every table of the config, including [[agencies]]-style arrays."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        candidates = [annotation, *typing.get_args(annotation)]
        for candidate in candidates:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                table = f"{prefix}{name}"
                yield table, candidate
                yield from _section_models(candidate, f"{table}.")


def _documented_keys(text: str) -> dict[tuple[str, str], bool]:
    """(table, key) → whether its first occurrence has a comment directly above it or its table."""
    lines = text.splitlines()
    table = ""
    header_line = -1
    found: dict[tuple[str, str], bool] = {}
    for number, line in enumerate(lines):
        stripped = line.strip()
        if header := re.fullmatch(r"\[\[?\s*([A-Za-z0-9_.]+)\s*\]\]?", stripped):
            table, header_line = header[1], number
            continue
        key = re.match(r"([A-Za-z0-9_]+)\s*=", stripped)
        if key is None or (table, key[1]) in found:
            continue
        above = lines[number - 1].strip() if number > 0 else ""
        block_comment = (
            number - 1 == header_line
            and header_line > 0
            and lines[header_line - 1].startswith("#")
        )
        found[(table, key[1])] = above.startswith("#") or block_comment
    return found


def _write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_is_valid() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.survey.questionnaire == "sipas-2023"
    assert [a.code for a in settings.agencies] == ["ubnd_xa_a", "so_tu_phap", "ubnd_phuong_b"]
    assert settings.storage.path == ROOT / "data" / "sipas.sqlite"
    assert settings.telegram.token is None


def test_every_config_key_is_documented_in_the_example() -> None:
    documented = _documented_keys(EXAMPLE.read_text(encoding="utf-8"))
    expected = [
        (table, key) for table, model in _section_models(Settings) for key in model.model_fields
    ]
    assert len(expected) > 20, "the model walk found too few keys"
    missing = [f"{table}.{key}" for table, key in expected if (table, key) not in documented]
    assert not missing, f"keys missing from config.example.toml: {missing}"
    bare = [f"{table}.{key}" for table, key in expected if not documented[(table, key)]]
    assert not bare, f"keys without a comment line above them in config.example.toml: {bare}"


def test_the_documentation_check_spots_a_bare_key() -> None:
    text = "# about bot\n[bot]\n# the zone\ntimezone = 'UTC'\ndefault_language = 'vi'\n"
    assert _documented_keys(text) == {
        ("bot", "timezone"): True,
        ("bot", "default_language"): False,
    }


def test_the_example_holds_no_keys_the_settings_do_not_know() -> None:
    known = {
        (table, key) for table, model in _section_models(Settings) for key in model.model_fields
    }
    unknown = set(_documented_keys(EXAMPLE.read_text(encoding="utf-8"))) - known
    assert not unknown


def test_secrets_can_come_from_the_environment() -> None:
    settings = load_settings(
        EXAMPLE,
        environ={"SIPAS_TELEGRAM_TOKEN": "123:from-the-environment", "SIPAS_SECRET": GOOD_SECRET},
    )
    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == "123:from-the-environment"
    assert settings.privacy.secret.get_secret_value() == GOOD_SECRET


def test_a_short_secret_from_the_environment_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(EXAMPLE, environ={"SIPAS_SECRET": "short"})
    assert caught.value.key == "privacy.secret"


def test_secrets_do_not_leak_into_the_settings_repr() -> None:
    settings = load_settings(EXAMPLE, environ={"SIPAS_TELEGRAM_TOKEN": "123:very-secret-token"})
    assert "very-secret-token" not in repr(settings)
    assert "very-secret-token" not in str(settings)


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '[storage]\npath = "db/x.sqlite"\n')
    assert load_settings(path, environ={}).storage.path == tmp_path / "db" / "x.sqlite"


AGENCY = '[[agencies]]\ncode = "a"\nname = "A"\n'
WEBHOOK = '[telegram]\nmode = "webhook"\nwebhook_url = "https://bot.example.org/tg"\n'

BROKEN = [
    pytest.param('[bot]\ntimezone = "Mars/Olympus"\n', "bot.timezone", "time zone", id="timezone"),
    pytest.param("[survey]\nmin_responses = 0\n", "survey.min_responses", "1", id="min_responses"),
    pytest.param("[bot]\ncolour = 'blue'\n", "bot.colour", "unknown key", id="unknown-key"),
    pytest.param("[bots]\ntimezone = 'UTC'\n", "bots", "unknown key", id="unknown-section"),
    pytest.param(
        AGENCY + '[[agencies]]\ncode = "a"\nname = "B"\n',
        "agencies[1].code",
        "duplicate",
        id="duplicate-agency",
    ),
    pytest.param(
        AGENCY + '[[officials]]\ntelegram_id = 1\nagencies = ["b"]\n',
        "officials[0].agencies",
        "unknown agency",
        id="official-unknown-agency",
    ),
    pytest.param(
        '[telegram]\nmode = "webhook"\n', "webhook_url", "required", id="webhook-without-url"
    ),
    pytest.param(WEBHOOK, "telegram.secret_token", "8–256", id="telegram-webhook-without-secret"),
    pytest.param(
        WEBHOOK + 'secret_token = "short"\n',
        "telegram.secret_token",
        "8–256",
        id="telegram-short-secret",
    ),
    pytest.param(
        WEBHOOK + 'secret_token = "has spaces in it"\n',
        "telegram.secret_token",
        "A-Z",
        id="telegram-secret-charset",
    ),
    pytest.param('[bot]\ntimezone = "UTC\n', "line 2", "(syntax)", id="toml-syntax"),
    pytest.param('[privacy]\nsecret = "short"\n', "privacy.secret", "16", id="short-secret"),
    pytest.param('[digest]\ncron = "0 8 30 2 *"\n', "digest.cron", "never", id="cron-never"),
    pytest.param('[digest]\ncron = "0 8 * *"\n', "digest.cron", "five", id="cron-four-fields"),
    pytest.param(
        '[zalo]\ntoken = "1:a"\nmode = "webhook"\nwebhook_url = "http://example.org/h"\n'
        'secret_token = "12345678"\n',
        "zalo",
        "https",
        id="zalo-webhook-http",
    ),
]


@pytest.mark.parametrize(("text", "key", "reason"), BROKEN)
def test_a_broken_config_names_file_key_and_reason(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert key in message
    assert reason in message


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert str(caught.value) == f"{path}: (file): not found"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param("[survey]\nmin_responses = 0\n", "survey.min_responses", id="min_responses"),
        pytest.param("[bots]\ntimezone = 'UTC'\n", "bots", id="unknown-section"),
        pytest.param('[bot]\ntimezone = "UTC\n', "(syntax)", id="toml-syntax"),
        pytest.param(WEBHOOK, "telegram.secret_token", id="telegram-webhook-without-secret"),
        pytest.param(
            '[telegram]\ntoken = "123:ABC"\n', "privacy.secret", id="token-with-example-secret"
        ),
        pytest.param(
            '[zalo]\ntoken = "1:abc"\n', "privacy.secret", id="zalo-token-with-example-secret"
        ),
    ],
)
def test_check_config_reports_a_broken_config_in_one_line(
    tmp_path: Path, text: str, key: str
) -> None:
    path = _write(tmp_path, text)
    result = _run_cli("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(path) in lines[0]
    assert key in lines[0]
    assert result.stdout == ""


def test_run_refuses_a_telegram_webhook_without_a_secret_token_in_one_line(
    tmp_path: Path,
) -> None:
    text = WEBHOOK + 'token = "123:ABC"\nbase_url = "http://127.0.0.1:9/bot"\n'
    path = _write(tmp_path, text + f'[privacy]\nsecret = "{GOOD_SECRET}"\n')
    result = _run_cli("run", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {path}: telegram.secret_token: required when mode = ")
    assert "Traceback" not in result.stderr


def test_a_telegram_webhook_with_a_secret_token_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, WEBHOOK + 'secret_token = "tg-webhook_secret-1"\n')
    settings = load_settings(path, environ={})
    assert settings.telegram.secret_token is not None


def test_the_example_secret_with_a_token_tells_how_to_set_a_real_one(tmp_path: Path) -> None:
    path = _write(tmp_path, '[telegram]\ntoken = "123:ABC"\n')
    result = _run_cli("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {path}: privacy.secret: ")
    assert "SIPAS_SECRET" in line
    assert "change-this-secret" not in line  # the example value itself is not repeated
    assert result.stdout == ""


def test_a_real_secret_with_a_token_passes_check_config(tmp_path: Path) -> None:
    path = _write(
        tmp_path, f'[telegram]\ntoken = "123:ABC"\n[privacy]\nsecret = "{GOOD_SECRET}"\n'
    )
    result = _run_cli("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stdout


def test_check_config_summarises_the_example(tmp_path: Path) -> None:
    result = _run_cli("check-config", "--config", str(EXAMPLE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "configuration is valid" in result.stdout
    assert "sipas-2023" in result.stdout
    assert "agencies: 3" in result.stdout
    assert not list(tmp_path.iterdir()), "check-config must not create files"


def test_an_unknown_questionnaire_is_reported_by_its_key(tmp_path: Path) -> None:
    path = _write(tmp_path, '[survey]\nquestionnaire = "sipas-1999"\n')
    result = _run_cli("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "survey.questionnaire" in lines[0]
    assert "sipas-1999" in lines[0]


def test_an_unknown_questionnaire_error_names_the_config_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '[survey]\nquestionnaire = "sipas-1999"\n')
    result = _run_cli("check-config", "--config", str(path), cwd=tmp_path)
    assert str(path) in result.stderr


@pytest.mark.parametrize(
    ("text", "variable", "key"),
    [
        pytest.param('telegram = "x"\n', "SIPAS_TELEGRAM_TOKEN", "telegram", id="telegram"),
        pytest.param("privacy = 5\n", "SIPAS_SECRET", "privacy", id="privacy"),
    ],
)
def test_a_section_that_is_not_a_table_is_a_config_error_even_with_env_secrets(
    tmp_path: Path, text: str, variable: str, key: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={variable: GOOD_SECRET})
    assert caught.value.key == key
