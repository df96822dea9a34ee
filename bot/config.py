"""Configuration: one TOML file validated by pydantic; secrets may come from the environment."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import (
    PrivateAttr,
    ValidationError,
    model_validator,
)

from bot.sections import (
    ENV_ZALO_APP_SECRET,
    ENV_ZALO_OA_SECRET,
    EXAMPLE_SECRET,
    AgencyEntry,
    BotSection,
    DigestSection,
    GroupEntry,
    KeyedError,
    OfficialEntry,
    PrivacySection,
    Section,
    StorageSection,
    SurveySection,
    TelegramSection,
    WebSection,
    ZaloOaSection,
    ZaloSection,
)

# The config's whole vocabulary is read from here; the sections are defined in bot.sections.
__all__ = [
    "EXAMPLE_SECRET",
    "AgencyEntry",
    "BotSection",
    "ConfigError",
    "DigestSection",
    "GroupEntry",
    "OfficialEntry",
    "PrivacySection",
    "Settings",
    "StorageSection",
    "SurveySection",
    "TelegramSection",
    "WebSection",
    "ZaloOaSection",
    "ZaloSection",
    "load_settings",
    "refuse_published_secret",
]

ENV_TELEGRAM_TOKEN = "SIPAS_TELEGRAM_TOKEN"
ENV_ZALO_TOKEN = "SIPAS_ZALO_TOKEN"
ENV_SECRET = "SIPAS_SECRET"
ENV_DATABASE_URL = "SIPAS_DATABASE_URL"
ENV_ZALO_OA_REFRESH_TOKEN = "SIPAS_ZALO_OA_REFRESH_TOKEN"


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file, the key and the reason."""

    def __init__(self, path: Path | str, key: str, reason: str) -> None:
        super().__init__(f"{path}: {key}: {reason}")
        self.path = str(path)
        self.key = key
        self.reason = reason


class Settings(Section):
    """The whole configuration; `source` is the file it came from (set by `load_settings`)."""

    _source: Path = PrivateAttr(default=Path("config.toml"))

    @property
    def source(self) -> Path:
        return self._source

    bot: BotSection = BotSection()
    telegram: TelegramSection = TelegramSection()
    zalo: ZaloSection = ZaloSection()
    zalo_oa: ZaloOaSection = ZaloOaSection()
    web: WebSection = WebSection()
    storage: StorageSection = StorageSection()
    survey: SurveySection = SurveySection()
    privacy: PrivacySection = PrivacySection()
    digest: DigestSection = DigestSection()
    groups: tuple[GroupEntry, ...] = ()
    agencies: tuple[AgencyEntry, ...] = ()
    officials: tuple[OfficialEntry, ...] = ()

    @model_validator(mode="after")
    def _references_resolve(self) -> Settings:
        codes = [agency.code for agency in self.agencies]
        for index, code in enumerate(codes):
            if code in codes[:index]:
                raise KeyedError(f"agencies[{index}].code", f"duplicate agency code {code!r}")
        self._groups_resolve(codes)
        for index, official in enumerate(self.officials):
            for code in official.agencies:
                if code != "*" and code not in codes:
                    raise KeyedError(
                        f"officials[{index}].agencies", f"unknown agency code {code!r}"
                    )
        return self

    def _groups_resolve(self, codes: list[str]) -> None:
        # A group id is typed where an agency code may be (/ranking <group>), so they must differ.
        ids = [group.id for group in self.groups]
        for index, group_id in enumerate(ids):
            if group_id in ids[:index]:
                raise KeyedError(f"groups[{index}].id", f"duplicate group id {group_id!r}")
            if group_id.casefold() in {code.casefold() for code in codes}:
                raise KeyedError(f"groups[{index}].id", f"{group_id!r} is also an agency code")
        for index, agency in enumerate(self.agencies):
            if agency.group is not None and agency.group not in ids:
                known = ", ".join(ids) or "(none declared in [[groups]])"
                raise KeyedError(
                    f"agencies[{index}].group",
                    f"unknown group {agency.group!r}; known groups: {known}",
                )

    def agency(self, code: str) -> AgencyEntry | None:
        return next((a for a in self.agencies if a.code == code), None)

    def questionnaire_of(self, code: str) -> str:
        agency = self.agency(code)
        return (agency.questionnaire if agency else None) or self.survey.questionnaire


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, merge environment secrets into, and validate the config file at `path`."""
    environ = os.environ if environ is None else environ
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, "(file)", f"cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, "(syntax)", str(error)) from None
    for section, key, variable in (
        ("telegram", "token", ENV_TELEGRAM_TOKEN),
        ("zalo", "token", ENV_ZALO_TOKEN),
        ("privacy", "secret", ENV_SECRET),
        ("storage", "url", ENV_DATABASE_URL),
        ("zalo_oa", "app_secret", ENV_ZALO_APP_SECRET),
        ("zalo_oa", "oa_secret_key", ENV_ZALO_OA_SECRET),
        ("zalo_oa", "refresh_token", ENV_ZALO_OA_REFRESH_TOKEN),
    ):
        value = environ.get(variable)
        # A section that is not a table is left for validation to report with its key.
        if value and isinstance(data.setdefault(section, {}), dict):
            data[section][key] = value
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        raise _config_error(path, error) from None
    resolved = _resolve_paths(settings, path.parent)
    resolved._source = path
    return resolved


def refuse_published_secret(settings: Settings) -> None:
    """Raise ConfigError when a chat channel would run with the example secret.

    Pseudonyms are HMACs keyed with it: with the key published in config.example.toml anyone
    holding a copy of the database could tell whether a given chat id answered. The terminal
    chat, with no channel token, may keep it.
    """
    if settings.privacy.secret.get_secret_value() != EXAMPLE_SECRET:
        return
    tokens = {
        "telegram": settings.telegram.token,
        "zalo": settings.zalo.token,
        "zalo_oa": settings.zalo_oa.app_secret if settings.zalo_oa.enabled else None,
    }
    channels = [name for name, token in tokens.items() if token is not None]
    if channels:
        raise ConfigError(
            settings.source,
            "privacy.secret",
            f"not set (the published example value) while a {' and '.join(channels)} token is "
            f"set; set {ENV_SECRET} (or [privacy] secret) to a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )


def _config_error(path: Path, error: ValidationError) -> ConfigError:
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, KeyedError):
        return ConfigError(path, cause.key, str(cause))
    key = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
    reason = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        reason = "unknown key (see config.example.toml for the keys)"
    return ConfigError(path, key.lstrip(".") or "(file)", reason)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    """Relative paths in the config are relative to the config file, not to the caller's cwd."""
    storage = settings.storage.model_copy(update={"path": base / settings.storage.path})
    files = tuple(base / file for file in settings.survey.questionnaire_files)
    survey = settings.survey.model_copy(update={"questionnaire_files": files})
    zalo = settings.zalo.model_copy(update={"media_dir": base / settings.zalo.media_dir})
    return settings.model_copy(update={"storage": storage, "survey": survey, "zalo": zalo})
