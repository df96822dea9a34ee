"""Configuration: one TOML file validated by pydantic; secrets may come from the environment."""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from survey.models import ELEMENT_IDS, Language

ENV_TELEGRAM_TOKEN = "SIPAS_TELEGRAM_TOKEN"
ENV_ZALO_TOKEN = "SIPAS_ZALO_TOKEN"
ZALO_BASE_URL = "https://bot-api.zaloplatforms.com"
ENV_SECRET = "SIPAS_SECRET"
ENV_DATABASE_URL = "SIPAS_DATABASE_URL"
ENV_ZALO_APP_SECRET = "SIPAS_ZALO_APP_SECRET"
ENV_ZALO_OA_SECRET = "SIPAS_ZALO_OA_SECRET"
ENV_ZALO_OA_REFRESH_TOKEN = "SIPAS_ZALO_OA_REFRESH_TOKEN"
EXAMPLE_SECRET = "change-this-secret-before-going-live"


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file, the key and the reason."""

    def __init__(self, path: Path | str, key: str, reason: str) -> None:
        super().__init__(f"{path}: {key}: {reason}")
        self.path = str(path)
        self.key = key
        self.reason = reason


class _KeyedError(ValueError):
    """A cross-field error that knows which key it is about."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSection(_Section):
    default_language: Language = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. 'Asia/Ho_Chi_Minh')") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class TelegramSection(_Section):
    token: SecretStr | None = None
    base_url: str | None = None
    base_file_url: str | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=1, le=65535)
    secret_token: SecretStr | None = None

    @field_validator("token", "secret_token", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _webhook_settings(self) -> TelegramSection:
        if self.mode != "webhook":
            return self
        if not self.webhook_url:
            raise ValueError("webhook_url is required when mode = 'webhook'")
        # Without it anyone who learns the URL can post updates as any user, an admin included.
        secret = self.secret_token.get_secret_value() if self.secret_token else ""
        if not _TELEGRAM_SECRET.fullmatch(secret):
            raise _KeyedError(
                "telegram.secret_token",
                "required when mode = 'webhook': 8–256 characters of A-Z, a-z, 0-9, _ and - "
                "(Telegram sends it back in X-Telegram-Bot-Api-Secret-Token)",
            )
        return self


# What Telegram accepts as a webhook secret (1–256 of these); we ask for at least 8, as for Zalo.
_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{8,256}")


def _no_nul(value: object) -> object:
    """A path with a NUL byte cannot name a file; say so here rather than crash later."""
    items = value if isinstance(value, list | tuple) else [value]
    if any("\x00" in str(item) for item in items):
        raise ValueError("a path cannot contain a NUL character")
    return value


class StorageSection(_Section):
    path: Annotated[Path, BeforeValidator(_no_nul)] = Path("data/sipas.sqlite")
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    # A PostgreSQL server instead of the SQLite file (several instances share it).
    url: SecretStr | None = None

    @field_validator("url", mode="before")
    @classmethod
    def _postgres_url(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw in ("", None):
            return None
        if not str(raw).startswith(("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql:// (or leave it empty for SQLite)")
        return value

    @property
    def location(self) -> Path | str:
        """What `Database.open` takes: the PostgreSQL URL if one is set, else the file."""
        return self.url.get_secret_value() if self.url is not None else self.path


class ZaloSection(_Section):
    """The Zalo Bot Platform: methods at `<base_url>/bot<token>/<method>`."""

    token: SecretStr | None = None
    base_url: str = ZALO_BASE_URL
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    listen: str = "127.0.0.1"
    port: int = Field(default=8444, ge=1, le=65535)
    secret_token: SecretStr | None = None
    public_media_url: str | None = None
    media_dir: Annotated[Path, BeforeValidator(_no_nul)] = Path("data/media")

    @field_validator("token", "secret_token", "public_media_url", "webhook_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Documented as `{bot_id}:{access_token}`; it also sits in every URL path.
        if value is not None and not _ZALO_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("expected '<bot id>:<access token>' as sent by Zalo Bot Creator")
        return value

    @field_validator("base_url", "public_media_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an http(s):// URL with a host")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _webhook_settings(self) -> ZaloSection:
        if self.mode != "webhook":
            return self
        if not self.webhook_url:
            raise ValueError("webhook_url is required when mode = 'webhook'")
        parts = urlsplit(self.webhook_url)
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("webhook_url must be https:// (Zalo posts only to HTTPS)")
        secret = self.secret_token.get_secret_value() if self.secret_token else ""
        if not 8 <= len(secret) <= 256:
            raise ValueError("secret_token of 8–256 characters is required when mode = 'webhook'")
        return self


# Documented as "<bot id>:<access token>"; kept lenient (the real alphabet is not documented),
# but never whitespace, "/", "?" or "#", which would break the URL path it sits in.
_ZALO_TOKEN = re.compile(r"[^:\s/?#]+:[^\s/?#]+")


class WebSection(_Section):
    """The bot's own web server: the citizen survey page, reports, health and metrics."""

    listen: str = "127.0.0.1"
    port: int = Field(default=8445, ge=1, le=65535)
    public_url: str | None = None

    @field_validator("public_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an http(s):// URL with a host")
        return value.rstrip("/")

    @property
    def enabled(self) -> bool:
        """On once it has a public address: posters and /report links are built on it."""
        return self.public_url is not None


class ZaloOaSection(_Section):
    """A Zalo Official Account (OA Open API v3): OAuth app, webhook signature, listener."""

    app_id: str | None = Field(default=None, pattern=r"^[0-9]{1,32}$")
    app_secret: SecretStr | None = None
    oa_secret_key: SecretStr | None = None
    refresh_token: SecretStr | None = None  # the first consent only; the database keeps its heirs
    base_url: str = "https://openapi.zalo.me"
    oauth_url: str = "https://oauth.zaloapp.com"
    listen: str = "127.0.0.1"
    port: int = Field(default=8446, ge=1, le=65535)
    path: str = Field(default="/zalo-oa/webhook", pattern=r"^/[A-Za-z0-9/_.-]{0,200}$")

    @field_validator("app_id", "app_secret", "oa_secret_key", "refresh_token", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("base_url", "oauth_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an http(s):// URL with a host")
        return value.rstrip("/")

    @property
    def enabled(self) -> bool:
        return self.app_id is not None

    @model_validator(mode="after")
    def _complete(self) -> ZaloOaSection:
        if self.app_id is None:
            return self
        for key, env in (
            ("app_secret", ENV_ZALO_APP_SECRET),
            ("oa_secret_key", ENV_ZALO_OA_SECRET),
        ):
            if getattr(self, key) is None:
                raise _KeyedError(f"zalo_oa.{key}", f"required with app_id (or set {env})")
        return self


class SurveySection(_Section):
    questionnaire: str = "sipas-2023"
    questionnaire_files: Annotated[tuple[Path, ...], BeforeValidator(_no_nul)] = ()
    min_responses: int = Field(default=10, ge=1)
    resubmit_after_hours: int = Field(default=24, ge=0)
    element_weights: dict[str, float] = Field(default_factory=dict)

    @field_validator("element_weights")
    @classmethod
    def _weights_for_elements(cls, value: dict[str, float]) -> dict[str, float]:
        for element, weight in value.items():
            if element not in ELEMENT_IDS:
                raise ValueError(f"unknown element {element!r}; one of {', '.join(ELEMENT_IDS)}")
            if not math.isfinite(weight) or weight <= 0:
                raise ValueError(f"weight of {element!r} must be a positive number")
        return value


class PrivacySection(_Section):
    secret: SecretStr = SecretStr(EXAMPLE_SECRET)
    retention_days: int = Field(default=0, ge=0)
    expire_unfinished_days: int = Field(default=7, ge=1)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("the secret must be at least 16 characters")
        return value


class DigestSection(_Section):
    cron: str = "0 8 * * mon"
    alert_below: float = Field(default=70.0, ge=0, le=100)

    @field_validator("cron")
    @classmethod
    def _valid_crontab(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("expected five crontab fields, e.g. '0 8 * * mon'")
        try:
            trigger = CronTrigger.from_crontab(value, timezone=UTC)
        except ValueError as error:
            raise ValueError(f"not a valid crontab ({error}), e.g. '0 8 * * mon'") from None
        # "0 8 30 2 *" parses but never fires: the digest would silently never go out.
        # Five years from a fixed day cover every real schedule, 29 February included.
        start = datetime(2001, 1, 1, tzinfo=UTC)
        fires = trigger.get_next_fire_time(None, start)
        if fires is None or fires > start + timedelta(days=5 * 366):
            raise ValueError("this crontab never fires (no such date), e.g. '0 8 * * mon'")
        return value


AgencyCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class AgencyEntry(_Section):
    code: AgencyCode
    name: str = Field(min_length=1, max_length=200)
    questionnaire: str | None = None
    visit_required: bool = False
    public: bool = False
    group: str | None = None


class GroupEntry(_Section):
    id: AgencyCode
    name: str = Field(min_length=1, max_length=200)


class OfficialEntry(_Section):
    telegram_id: int | None = None
    zalo_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    role: Literal["admin", "official"] = "official"
    agencies: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _somebody(self) -> OfficialEntry:
        if self.telegram_id is None and self.zalo_id is None:
            raise ValueError("give telegram_id, zalo_id or both")
        return self


class Settings(_Section):
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
                raise _KeyedError(f"agencies[{index}].code", f"duplicate agency code {code!r}")
        self._groups_resolve(codes)
        for index, official in enumerate(self.officials):
            for code in official.agencies:
                if code != "*" and code not in codes:
                    raise _KeyedError(
                        f"officials[{index}].agencies", f"unknown agency code {code!r}"
                    )
        return self

    def _groups_resolve(self, codes: list[str]) -> None:
        # A group id is typed where an agency code may be (/ranking <group>), so they must differ.
        ids = [group.id for group in self.groups]
        for index, group_id in enumerate(ids):
            if group_id in ids[:index]:
                raise _KeyedError(f"groups[{index}].id", f"duplicate group id {group_id!r}")
            if group_id.casefold() in {code.casefold() for code in codes}:
                raise _KeyedError(f"groups[{index}].id", f"{group_id!r} is also an agency code")
        for index, agency in enumerate(self.agencies):
            if agency.group is not None and agency.group not in ids:
                known = ", ".join(ids) or "(none declared in [[groups]])"
                raise _KeyedError(
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
    if isinstance(cause, _KeyedError):
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
