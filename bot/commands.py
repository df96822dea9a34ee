"""The command-line commands, each a small async function over the loaded settings."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime

from bot.config import EXAMPLE_SECRET, Settings, refuse_published_secret
from bot.digest.compose import write_dry_run
from bot.files.demo import run_demo, summary
from bot.files.export import write_period_export
from bot.files.paths import cannot_write, may_write
from bot.files.qr import qr_command
from bot.files.report import report
from bot.questionnaires import load_catalogue
from bot.services import check_catalogue, open_services
from bot.terminal import run_terminal
from storage.database import Database
from storage.health import health, latest_version
from storage.migrations import migrate
from storage.postgres import describe_url
from survey.period import PeriodError, parse_period

log = logging.getLogger(__name__)


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    match args.command:
        case "run":
            return await run(settings, args)
        case "check-config":
            return check_config(settings) or await check_database(settings)
        case "migrate":
            return await migrate_database(settings)
        case "copy-data":
            from bot.files.copying import copy_command  # its own module: moving a pilot up

            return await copy_command(settings, args.to)
        case "report":
            return await report_command(settings, args)
        case "import-responses":
            from bot.files.importing import import_responses  # its own module: files, fingerprints

            code, message = await import_responses(
                settings, args.file, datetime.now(UTC), args.dry_run, args.skip_duplicates
            )
            print(message, file=sys.stdout if code == 0 else sys.stderr)
            return code
        case "export":
            return await export_command(settings, args)
        case "qr":
            return await qr_command(settings, args)
        case "digest":
            return await digest_command(settings, args, datetime.now(UTC))
    raise AssertionError(args.command)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if settings.telegram.token is None and settings.web.enabled:
        from bot.web.server import run_web  # no chat token: the web page alone, as a service

        try:
            await run_web(settings)
        except OSError as error:  # the port is taken or not allowed
            where = f"{settings.web.listen}:{settings.web.port}"
            print(
                f"error: cannot listen on {where} ([web] listen, port): {error}", file=sys.stderr
            )
            return 1
        return 0
    if settings.telegram.token is None:
        logging.getLogger().setLevel(logging.WARNING)  # keep the console chat readable
        await run_terminal(settings, args.as_user)
        return 0
    raise AssertionError("Telegram runs outside the event loop: see bot.__main__")


def check_config(settings: Settings) -> int:
    refuse_published_secret(settings)
    catalogue = load_catalogue(settings.survey.questionnaire_files)
    check_catalogue(settings, catalogue)
    telegram = settings.telegram
    secret = settings.privacy.secret.get_secret_value()
    print("configuration is valid")
    print(f"  language, time zone: {settings.bot.default_language}, {settings.bot.timezone}")
    channel = f"{telegram.mode}" if telegram.token else "terminal chat (no token)"
    print(f"  telegram: {channel}{' via ' + telegram.base_url if telegram.base_url else ''}")
    zalo = settings.zalo
    if zalo.token is not None:
        media = f"charts at {zalo.public_media_url}" if zalo.public_media_url else "digest as text"
        print(f"  zalo: {zalo.mode} via {zalo.base_url} ({media})")
    else:
        print("  zalo: off (no token)")
    web = settings.web
    print(f"  web: {web.public_url} on {web.listen}:{web.port}" if web.enabled else "  web: off")
    oa = settings.zalo_oa
    if oa.enabled:
        print(
            f"  zalo_oa: app {oa.app_id} via {oa.base_url}, webhook {oa.listen}:{oa.port}{oa.path}"
        )
    else:
        print("  zalo_oa: off (no app_id)")
    if settings.storage.url is not None:
        print(f"  database: PostgreSQL {describe_url(settings.storage.url.get_secret_value())}")
    else:
        print(f"  database: {settings.storage.path} (synchronous={settings.storage.synchronous})")
    print(
        f"  survey: {settings.survey.questionnaire}, min_responses={settings.survey.min_responses}"
        f", resubmit_after_hours={settings.survey.resubmit_after_hours}"
    )
    print(f"  questionnaires: {', '.join(catalogue.ids)}")
    print(f"  agencies: {len(settings.agencies)}; officials: {len(settings.officials)}")
    print(f"  digest: '{settings.digest.cron}'")
    if secret == EXAMPLE_SECRET:
        print("  warning: privacy.secret is the example value; set SIPAS_SECRET before going live")
    return 0


async def report_command(settings: Settings, args: argparse.Namespace) -> int:
    today = datetime.now(settings.bot.zone).date()  # the period's days are local days
    if args.html or args.out:
        from bot.files.report import write_html_report  # jinja2 and the templates, only here

        code, text = await write_html_report(settings, args, today)
        print(text, file=sys.stdout if code == 0 else sys.stderr)
        return code
    code, text = await report(
        settings,
        agency=args.agency,
        start=args.start,
        end=args.end,
        as_json=args.json,
        today=today,
        group=args.group,
    )
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code


async def export_command(settings: Settings, args: argparse.Namespace) -> int:
    today = datetime.now(settings.bot.zone).date()
    try:
        period = parse_period(args.period, today)
    except PeriodError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not may_write(args.out, settings, force=args.force):
        return 2
    services = await open_services(settings)
    try:
        agencies = [args.agency] if args.agency else None
        if args.agency and settings.agency(args.agency) is None:
            known = ", ".join(a.code for a in settings.agencies)
            print(f"error: unknown agency {args.agency!r}; known codes: {known}", file=sys.stderr)
            return 2
        out = await write_period_export(
            services.scores,
            services.database,
            services.catalogue,
            period=period,
            agencies=agencies,
            fmt=args.format,
            out=args.out,
            language=settings.bot.default_language,
        )
    except OSError as error:
        return cannot_write(args.out, error)
    finally:
        await services.close()
    print(f"wrote {out} ({period})")
    return 0


async def demo(args: argparse.Namespace) -> int:
    today = datetime.now(UTC).date()
    result = await run_demo(args.out, today=today, seed=args.seed, responses=args.responses)
    print(summary(result))
    return 0


async def digest_command(settings: Settings, args: argparse.Namespace, now: datetime) -> int:
    """`digest --dry-run --out DIR [--period P]`: each recipient's text and PNG, nothing sent."""
    period = None
    if args.period:
        try:
            period = parse_period(args.period, now.astimezone(settings.bot.zone).date())
        except PeriodError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    if not may_write(args.out, settings, force=args.force, folder=True):
        return 2
    services = await open_services(settings)
    try:
        written = await write_dry_run(services, args.out, period, now)
    except OSError as error:
        return cannot_write(args.out, error)
    finally:
        await services.close()
    for path in written:
        print(path)
    print(f"wrote {len(written) // 2} digest preview(s) to {args.out}")
    return 0


async def migrate_database(settings: Settings) -> int:
    database = await Database.open(settings.storage.location, settings.storage.synchronous)
    try:
        applied = await migrate(database)
    finally:
        await database.close()
    for migration in applied:
        print(f"applied {migration.version}: {migration.name}")
    print(f"database {database.location} is up to date")
    return 0


async def check_database(settings: Settings) -> int:
    """Connect (a PostgreSQL server, or an existing SQLite file) and say what it runs and
    whether its migrations are current; an unreachable server is one line and exit 2."""
    if settings.storage.url is None and not settings.storage.path.exists():
        print("  migrations: none yet (the file is created and migrated at start-up)")
        return 0
    database = await Database.open(settings.storage.location, settings.storage.synchronous)
    try:
        state = await health(database)
        version = await database.server_version()
    finally:
        await database.close()
    print(f"  database server: {version} at {database.location}")
    if state.migrations_current:
        print(f"  migrations: current (version {latest_version()})")
    else:
        missing = ", ".join(map(str, state.pending))
        print(f"  migrations: {missing} pending (python -m bot migrate, or start the bot)")
    return 0
