"""`./run.sh admin ...`: the operator's command line. Each command group lives in its own
module with a `register(subparsers)` function; exit codes: 0 ok, 1 a check or item failed,
2 usage error."""

from __future__ import annotations

import argparse
import importlib
import sys

import peewee
import redis

from admin.context import start_admin
from config.settings import Settings, load_settings_or_exit

COMMAND_MODULES = (
    "admin.dead_letters",
    "admin.outbox",
    "admin.orders",
    "admin.access",
    "admin.backup",
    "admin.drill",
    "admin.legacy_import",
    "admin.verify",
    "admin.reconcile",
    "admin.payment_actions",
    "admin.alerts",
    "admin.packages",
    "admin.discounts",
    "admin.sales",
    "admin.person",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="./run.sh admin", description="Operate the Buat Film Pakai AI payment backend."
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also log INFO lines (to stderr)"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """Parses first (so --help needs no services), then starts from `settings` (read from the
    environment unless given) and runs the command."""
    args = build_parser().parse_args(argv)
    admin = start_admin(settings or load_settings_or_exit(), "INFO" if args.verbose else "WARNING")
    try:
        return int(args.handler(args, admin) or 0)
    except (peewee.OperationalError, peewee.InterfaceError) as error:
        print(f"error: the database is unavailable ({_first_line(error)})", file=sys.stderr)
    except redis.ConnectionError as error:
        print(f"error: Redis is unavailable ({_first_line(error)})", file=sys.stderr)
    return 1


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


if __name__ == "__main__":
    sys.exit(main())
