"""The sections of the config file: one pydantic model a section, saying what each key may hold.

`bot.config` puts them together into `Settings` and reads the file; they live apart so that
file stays one reader's length.
"""

from __future__ import annotations

import math
import re
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
    SecretStr,
    field_validator,
    model_validator,
)

from survey.models import ELEMENT_IDS, Language

ZALO_BASE_URL = "https://bot-api.zaloplatforms.com"
ENV_ZALO_APP_SECRET = "SIPAS_ZALO_APP_SECRET"
ENV_ZALO_OA_SECRET = "SIPAS_ZALO_OA_SECRET"
EXAMPLE_SECRET = "change-this-secret-before-going-live"


def _http_url(value: str) -> str:
    """An http(s) URL with a host, without a trailing slash (paths are appended to it)."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an http(s):// URL with a host")
    return value.rstrip("/")


class KeyedError(ValueError):
    """A cross-field error that knows which key it is about."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSection(Section):
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


class TelegramSection(Section):
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
            raise KeyedError(
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


class StorageSection(Section):
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


class ZaloSection(Section):
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
        return None if value is None else _http_url(value)

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


class WebSection(Section):
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
        return None if value is None else _http_url(value)

    @property
    def enabled(self) -> bool:
        """On once it has a public address: posters and /report links are built on it."""
        return self.public_url is not None


class ZaloOaSection(Section):
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
        return _http_url(value)

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
                raise KeyedError(f"zalo_oa.{key}", f"required with app_id (or set {env})")
        return self


class SurveySection(Section):
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


class PrivacySection(Section):
    secret: SecretStr = SecretStr(EXAMPLE_SECRET)
    retention_days: int = Field(default=0, ge=0)
    expire_unfinished_days: int = Field(default=7, ge=1)

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("the secret must be at least 16 characters")
        return value


class DigestSection(Section):
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


class AgencyEntry(Section):
    code: AgencyCode
    name: str = Field(min_length=1, max_length=200)
    questionnaire: str | None = None
    visit_required: bool = False
    public: bool = False
    group: str | None = None


class GroupEntry(Section):
    id: AgencyCode
    name: str = Field(min_length=1, max_length=200)


class OfficialEntry(Section):
    telegram_id: int | None = None
    zalo_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    role: Literal["admin", "official"] = "official"
    agencies: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _somebody(self) -> OfficialEntry:
        if self.telegram_id is None and self.zalo_id is None:
            raise ValueError("give telegram_id, zalo_id or both")
        return self
