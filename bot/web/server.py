"""The bot's one web server: routes, and starting and stopping it beside the chat channels."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import tornado.httpserver
import tornado.web

from bot.config import Settings
from bot.jobs import Jobs
from bot.services import Services, open_services
from bot.web.context import REQUESTS_PER_MINUTE, ChannelStates, Clock, Page, WebContext
from bot.web.pages import templates
from bot.web.report import gather, report_html
from bot.web.security import ALL, RateLimiter, ReportLink, cookie_secret, read_report_link
from bot.web.security import sign_report_link as _sign
from bot.webhooks import MAX_BODY
from handlers import metrics
from handlers.scores import UnknownAgency
from storage.health import health, latest_version
from survey.period import Period, parse_period
from survey.texts import say

log = logging.getLogger(__name__)

CODE = r"([A-Za-z0-9_-]{1,32})"
REPORT_LIFETIME = timedelta(hours=24)


def build_application(context: WebContext) -> tornado.web.Application:
    """Every route of the web server, each handler given the same context."""
    from bot.web.survey import SurveyPage, VisitPage

    given = {"context": context}
    routes: list[Any] = [
        (r"/s/v/(v_[A-Za-z0-9_-]{1,80})", VisitPage, given),
        (rf"/s/{CODE}", SurveyPage, given),
        (rf"/p/{CODE}", PublicPage, given),
        (r"/r/([A-Za-z0-9_.*~-]{1,2200})", ReportPage, given),
        (r"/healthz", HealthPage, given),
        (r"/metrics", MetricsPage, given),
    ]
    return tornado.web.Application(
        routes,
        cookie_secret=cookie_secret(context.secret),
        default_handler_class=NotFoundPage,
        default_handler_args=given,
        xsrf_cookies=False,  # our own form tokens, bound to the visitor's id (bot.web.security)
    )


def make_context(
    settings: Settings,
    services: Services,
    clock: Clock,
    channels: ChannelStates | None = None,
    requests_per_minute: int = REQUESTS_PER_MINUTE,
) -> WebContext:
    secret = settings.privacy.secret.get_secret_value()
    return WebContext(
        settings,
        services,
        templates(),
        clock,
        RateLimiter(secret, requests_per_minute),
        channels or (lambda: channel_states(settings)),
    )


def serve(context: WebContext) -> tornado.httpserver.HTTPServer:
    """Listen on `[web] listen:port` (behind the HTTPS proxy, whose forwarded address counts)."""
    web = context.settings.web
    server = tornado.httpserver.HTTPServer(
        build_application(context), xheaders=True, max_body_size=MAX_BODY
    )
    server.listen(web.port, web.listen)
    log.info("web page at %s (listening on %s:%d)", web.public_url, web.listen, web.port)
    return server


async def start_web(
    settings: Settings, services: Services, clock: Clock | None = None
) -> tornado.httpserver.HTTPServer | None:
    """The web server when `[web] public_url` is set, else None. Raises OSError when the port
    cannot be had."""
    if not settings.web.enabled:
        return None
    return serve(make_context(settings, services, clock or _utc_now))


async def run_web(settings: Settings, clock: Clock | None = None) -> None:
    """The web page alone (no chat token configured): run until SIGINT/SIGTERM. The jobs run as
    in every other mode (housekeeping and retention; no digest channel to deliver on)."""
    services = await open_services(settings)
    jobs = Jobs(services, clock or _utc_now)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    server = None
    try:
        server = await start_web(settings, services, clock)
        jobs.start()
        await stop.wait()
        log.info("web: stopping")
    finally:
        jobs.stop()
        await stop_web(server)
        await services.close()


async def stop_web(server: tornado.httpserver.HTTPServer | None) -> None:
    if server is not None:
        server.stop()
        await server.close_all_connections()


def channel_states(settings: Settings) -> dict[str, str]:
    """What the config says each channel runs as."""
    telegram = settings.telegram.mode if settings.telegram.token else "off"
    zalo = settings.zalo.mode if settings.zalo.token else "off"
    return {"telegram": telegram, "zalo": zalo, "web": "serving"}


def report_url(settings: Settings, link: ReportLink) -> str:
    """The signed address of a report (`/report` in chat)."""
    secret = settings.privacy.secret.get_secret_value()
    return f"{settings.web.public_url}/r/{_sign(secret, link)}"


def report_link(
    agency: str | None, period: Period, scope: tuple[str, ...] | None, now: datetime
) -> ReportLink:
    """A link valid 24 hours; `scope` None: an official who sees every agency."""
    expires = int((now + REPORT_LIFETIME).timestamp())
    return ReportLink(agency, period.start, period.end, scope or (ALL,), expires)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class NotFoundPage(Page):
    def prepare(self) -> None:
        super().prepare()
        if not self._finished:
            self.refuse(404, "web_not_found")


class ReportPage(Page):
    """`/r/<signed link>`: the HTML report the link names, within the scope it was made for."""

    async def get(self, token: str) -> None:
        context = self.context
        checked = read_report_link(context.secret, token, context.clock().timestamp())
        if isinstance(checked, str):
            self.refuse(403, "web_link_refused")
            return
        scores = context.services.scores
        codes = [a.code for a in context.settings.agencies]
        visible = checked.visible(codes)
        if not visible:
            self.refuse(403, "web_link_refused")
            return
        pool = None if checked.sees_all else visible
        try:
            view = await gather(scores, checked.agency, Period(checked.start, checked.end), pool)
        except (UnknownAgency, ValueError):
            self.refuse(403, "web_link_refused")
            return
        language = self.default_language
        title = view.card.name or say(language, "all_agencies").capitalize()
        self.finish(report_html(context.templates, view, language, title=title))


class PublicPage(Page):
    """`/p/<code>`: an agency's index this quarter, if it opted in (`public = true`)."""

    async def get(self, code: str) -> None:
        context = self.context
        agency = context.settings.agency(code)
        if agency is None or not agency.public:
            self.refuse(404, "web_not_found")
            return
        today = context.clock().astimezone(context.settings.bot.zone).date()
        period = parse_period("quarter", today)
        view = await gather(
            context.services.scores, agency.code, period, None, trend=False, ranking=False
        )
        language = self.default_language
        self.finish(report_html(context.templates, view, language, title=agency.name, public=True))


class HealthPage(Page):
    """`/healthz`: 200 when the database answers and its schema is current, else 503."""

    rate_limited = False

    async def get(self) -> None:
        state = await health(self.context.services.database)
        body = {
            "ok": state.ok,
            "database": "reachable" if state.reachable else "unreachable",
            "migrations": {"latest": latest_version(), "pending": list(state.pending)},
            "channels": dict(self.context.channels()),
        }
        self.set_status(200 if state.ok else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(body)


class MetricsPage(Page):
    """`/metrics`: the Prometheus text format."""

    rate_limited = False

    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(metrics.exposition())
