"""What every page handler of the web server is given: services, templates, clock and limits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

import jinja2
import tornado.web

from bot.config import Settings
from bot.services import Services
from bot.web.security import RateLimiter
from handlers.errors import describe_error
from survey.models import Language
from survey.texts import say

log = logging.getLogger(__name__)

MAX_FORM = 16 * 1024
"""A survey form is a token and an answer, a comment at most a few KB: larger is refused."""
REQUESTS_PER_MINUTE = 600
"""Per client address. Generous: a one-stop office's citizens may share one public address,
and one survey is about fifty requests."""
Clock = Callable[[], datetime]
# Each channel's state for /healthz ("polling", "webhook", "off", ...), asked at each request.
ChannelStates = Callable[[], Mapping[str, str]]


@dataclass
class WebContext:
    settings: Settings
    services: Services
    templates: jinja2.Environment
    clock: Clock
    limiter: RateLimiter
    channels: ChannelStates

    @property
    def secret(self) -> str:
        return self.settings.privacy.secret.get_secret_value()


class Page(tornado.web.RequestHandler):
    """A page of the bot's web server: rate-limited, security headers, errors as a page."""

    rate_limited = True

    def initialize(self, context: WebContext) -> None:
        self.context = context

    def set_default_headers(self) -> None:
        # No script, no frame, no outside request; forms post only back to us.
        self.set_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def prepare(self) -> None:
        if self.rate_limited and not self.context.limiter.allow(self.request.remote_ip or "-"):
            self.refuse(429, "web_too_many")
            return
        length = self.request.headers.get("Content-Length", "0")
        too_long = not length.isdigit() or int(length) > MAX_FORM
        if too_long or len(self.request.body) > MAX_FORM:
            self.refuse(413, "web_too_large")

    @property
    def default_language(self) -> Language:
        return self.context.settings.bot.default_language

    def page(self, name: str, **values: object) -> None:
        self.finish(self.context.templates.get_template(name).render(**values))

    def refuse(self, status: int, key: str, language: Language | None = None) -> None:
        """A short page saying why, in the visitor's language when known."""
        chosen = language or self.default_language
        self.set_status(status)
        self.page("message.html", language=chosen, title="SIPAS", message=say(chosen, key))

    def write_error(self, status_code: int, **kwargs: object) -> None:
        key = "web_not_found" if status_code == 404 else "error"
        self.refuse(status_code, key)

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Tornado's own would print the request, cookies included.
        if isinstance(value, tornado.web.HTTPError):
            return
        log.error(
            "web: %s %s failed: %s", self.request.method, self.request.path, describe_error(value)
        )
