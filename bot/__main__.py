"""Command line: `python -m bot <command> [--config PATH]` (also installed as `sipas-bot`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from bot import commands
from bot.config import ConfigError, Settings, load_settings, refuse_published_secret
from bot.files.paths import check_media_dir
from bot.logs import configure_logging, redact
from storage.database import StorageError
from survey.catalogue import QuestionnaireError

DEFAULT_CONFIG = Path("config.toml")
EXAMPLE_CONFIG = Path("config.example.toml")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sipas-bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = _command(sub, "run", "run the bot (Telegram when a token is set, else the terminal)")
    run.add_argument("--as-user", help="terminal chat: whom to simulate (default: your login)")
    _command(sub, "check-config", "validate the configuration and print a summary")
    _command(sub, "migrate", "apply pending database migrations")
    copy = _command(sub, "copy-data", "copy the SQLite database into an empty PostgreSQL one")
    copy.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/db")
    report = _command(sub, "report", "print the index of an agency (or all) for a period")
    report.add_argument("--agency", metavar="CODE", help="agency code (default: all agencies)")
    report.add_argument("--group", metavar="ID", help="one group's agencies pooled ([[groups]])")
    report.add_argument("--from", dest="start", type=_day, metavar="DATE", help="first day")
    report.add_argument("--to", dest="end", type=_day, metavar="DATE", help="last day")
    report.add_argument("--json", action="store_true", help="print JSON instead of a table")
    report.add_argument("--html", action="store_true", help="write a printable HTML report")
    report.add_argument("--out", type=Path, help="with --html: the file to write")
    _force(report, "with --html: overwrite an existing --out file")
    imports = _command(sub, "import-responses", "import paper forms typed into a CSV or XLSX")
    imports.add_argument("file", type=Path, help="the .csv or .xlsx file")
    imports.add_argument(
        "--dry-run", action="store_true", help="check and summarise, store nothing"
    )
    imports.add_argument(
        "--skip-duplicates", action="store_true", help="import only rows not imported before"
    )
    export = _command(sub, "export", "write the responses and index tables of a period")
    export.add_argument("--period", default=None, help="e.g. month, 2026-10, 2026-Q3")
    export.add_argument("--format", choices=("csv", "xlsx"), default="xlsx")
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    export.add_argument("--agency", metavar="CODE", help="one agency (default: all)")
    _force(export, "overwrite an existing --out file")
    digest = _command(sub, "digest", "preview each subscriber's weekly digest (text and PNG)")
    digest.add_argument(
        "--dry-run", action="store_true", required=True, help="write files, send nothing"
    )
    digest.add_argument("--out", type=Path, required=True, help="the folder to write into")
    digest.add_argument("--period", default=None, help="e.g. 2026-09-28..2026-10-04, 2026-09")
    _force(digest, "write into a folder that is not empty")
    demo = _command(sub, "demo", "create a demo database and show what the bot makes of it")
    demo.add_argument("--out", type=Path, default=Path("demo"), help="output folder (demo/)")
    demo.add_argument("--responses", type=int, help="about this many responses (default ~4000)")
    demo.add_argument("--seed", type=int, default=2026, help="generator seed")
    qr = _command(sub, "qr", "write a printable QR poster linking to the bot for one agency")
    qr.add_argument("--agency", metavar="CODE", required=True, help="the agency code")
    qr.add_argument("--out", type=Path, help="poster file, .png or .svg (default qr-CODE.png)")
    qr.add_argument("--bot-username", help="the bot's username (default: asked with getMe)")
    qr.add_argument("--visit", action="store_true", help="a signed single-use visit link")
    qr.add_argument(
        "--valid-minutes", type=int, default=120, help="how long a --visit link is valid"
    )
    _force(qr, "overwrite an existing poster file")
    qr.add_argument(
        "--channel",
        choices=("telegram", "zalo", "zalo-oa", "web"),
        default="telegram",
        help="the app citizens open (default telegram; web: the bot's web page)",
    )
    qr.add_argument(
        "--zalo-url",
        metavar="URL",
        help="with --channel zalo (required): the link to the bot's chat, from Zalo Bot Creator",
    )
    qr.add_argument(
        "--oa-url",
        metavar="URL",
        help="with --channel zalo-oa (required): the link to the Official Account's chat",
    )
    return parser


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _force(parser: argparse.ArgumentParser, text: str) -> None:
    # Never the database or the config, even with --force: see bot.files.paths.
    parser.add_argument("--force", action="store_true", help=text)


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=text, description=text)
    parser.add_argument("--config", type=Path, help="config file (default ./config.toml)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug details")
    return parser


def resolve_config(path: Path | None) -> Path:
    """The config to use; with none given and no ./config.toml, the example (and say so)."""
    if path is not None:
        return path
    if not DEFAULT_CONFIG.exists() and EXAMPLE_CONFIG.exists():
        print(
            f"note: {DEFAULT_CONFIG} not found; using {EXAMPLE_CONFIG} "
            f"(copy it to {DEFAULT_CONFIG} to make your own)",
            file=sys.stderr,
        )
        return EXAMPLE_CONFIG
    return DEFAULT_CONFIG


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        if args.command == "demo":  # the demo writes its own config
            return asyncio.run(commands.demo(args))
        settings: Settings = load_settings(resolve_config(args.config))
        if args.command in ("run", "check-config"):
            check_media_dir(settings)
        token, zalo = settings.telegram.token, settings.zalo.token
        redact(
            [
                secret.get_secret_value()
                for secret in (
                    token,
                    zalo,
                    settings.telegram.secret_token,
                    settings.zalo.secret_token,
                    settings.privacy.secret,
                    settings.storage.url,
                    settings.zalo_oa.app_secret,
                    settings.zalo_oa.oa_secret_key,
                    settings.zalo_oa.refresh_token,
                )
                if secret is not None
            ]
        )
        if args.command == "run":
            refuse_published_secret(settings)  # before any channel starts
        if args.command == "run" and zalo is not None and _zalo_refused(settings):
            return 2
        if args.command == "run" and token is not None:
            return _run_telegram(settings)
        if args.command == "run" and zalo is not None:
            return _run_zalo(settings)
        if args.command == "run" and settings.zalo_oa.enabled:
            return _run_oa(settings)
        return asyncio.run(commands.dispatch(args, settings))
    except (ConfigError, QuestionnaireError, StorageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _zalo_refused(settings: Settings) -> bool:
    """getMe before starting, so a bad token or host is one clear line, not a polling loop."""
    from bot.zalo.api import ZaloApiError
    from bot.zalo.channel import ask_bot_name

    try:
        asyncio.run(ask_bot_name(settings.zalo))
    except ZaloApiError as error:
        if error.transient:
            where = settings.zalo.base_url
            print(f"error: cannot reach the Zalo Bot API ({where}): {error}", file=sys.stderr)
        else:
            print(
                f"error: Zalo refused the bot token ([zalo] token or SIPAS_ZALO_TOKEN): {error}",
                file=sys.stderr,
            )
        return True
    return False


def _run_zalo(settings: Settings) -> int:
    from bot.zalo.api import ZaloApiError
    from bot.zalo.channel import run_zalo  # imported only when it is used

    try:
        asyncio.run(run_zalo(settings))
    except ZaloApiError as error:  # e.g. setWebhook refused: one line; the service restarts us
        print(f"error: Zalo refused to start the bot: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the webhook or chart port is taken or not allowed
        where = f"{settings.zalo.listen}:{settings.zalo.port}"
        print(f"error: cannot listen on {where} ([zalo] listen, port): {error}", file=sys.stderr)
        return 1
    return 0


def _run_oa(settings: Settings) -> int:
    from bot.zalo_oa.channel import run_oa  # imported only when it is used

    try:
        asyncio.run(run_oa(settings))
    except OSError as error:  # the webhook port is taken or not allowed
        oa = settings.zalo_oa
        print(
            f"error: cannot listen on {oa.listen}:{oa.port} ([zalo_oa] listen, port): {error}",
            file=sys.stderr,
        )
        return 1
    return 0


def _run_telegram(settings: Settings) -> int:
    from telegram.error import InvalidToken, NetworkError  # imported only when it is used

    from bot.telegram_app import ask_bot_username, run_telegram
    from bot.zalo.api import ZaloApiError

    try:
        # A refused token is common and PTB would report it with a traceback: ask first.
        asyncio.run(ask_bot_username(settings))
        run_telegram(settings)
    except InvalidToken:  # its message quotes the token: say it in our words instead
        print(
            "error: Telegram refused the bot token ([telegram] token or SIPAS_TELEGRAM_TOKEN)",
            file=sys.stderr,
        )
        return 2
    except NetworkError as error:  # the service manager restarts us; say why in one line
        where = settings.telegram.base_url or "api.telegram.org"
        print(f"error: cannot reach the Telegram Bot API ({where}): {error}", file=sys.stderr)
        return 1
    except (ZaloApiError, OSError) as error:  # Zalo, started alongside, could not start
        print(f"error: the Zalo channel could not start: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
