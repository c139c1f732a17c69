"""`./run.sh admin discounts ...`: create, list and disable discount codes (audited).

Exit codes: 0 done, 1 refused or not found, 2 usage error."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta

from admin.arguments import whole_number
from admin.context import AdminContext, cli_actor
from admin.orders import since_moment
from admin.output import add_json_option, print_json
from models.db import connection, transaction
from models.discounts import (
    DiscountRefused,
    NewDiscount,
    create_discount,
    disable_discount,
    listed_discounts,
)
from models.pricing import format_idr
from models.wib import wib_text

ACTOR = cli_actor()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("discounts", help="create, list or disable discount codes")
    commands = parser.add_subparsers(dest="discounts_command", required=True, metavar="COMMAND")
    create = commands.add_parser("create", help="a new code (audited)")
    create.add_argument("code", metavar="CODE", help="2-32 of A-Z, 0-9, _ and -")
    off = create.add_mutually_exclusive_group(required=True)
    off.add_argument("--percent", type=whole_number(1, 100), metavar="N", help="1-100 %% off")
    off.add_argument("--amount", type=whole_number(1, 100_000_000), metavar="RP", help="rupiah off")
    create.add_argument("--package", metavar="ID", help="only for this package")
    create.add_argument(
        "--from",
        dest="valid_from",
        type=since_moment,
        metavar="DATE",
        help="valid from the start of this WIB day (YYYY-MM-DD) or from an ISO date-time",
    )
    create.add_argument(
        "--until",
        dest="valid_until",
        type=until_moment,
        metavar="DATE",
        help="valid through the end of this WIB day (YYYY-MM-DD) or until an ISO date-time",
    )
    create.add_argument("--max-uses", type=whole_number(1, 1_000_000), metavar="N")
    create.set_defaults(handler=run_create)
    listing = commands.add_parser("list", help="every code with its uses")
    add_json_option(listing)
    listing.set_defaults(handler=run_list)
    disable = commands.add_parser("disable", help="stop a code being used (audited)")
    disable.add_argument("code", metavar="CODE")
    disable.set_defaults(handler=run_disable)


def until_moment(text: str) -> datetime:
    """`--until 2026-12-12` means through that whole day in Jakarta, as a shop owner reads it:
    the code stops at the next midnight WIB. (Taken as that day's midnight, a one-day sale with
    `--from` and `--until` on the same day was refused, and the last day was always lost.)"""
    moment = since_moment(text)
    return moment + timedelta(days=1) if len(text) == 10 else moment


def run_create(args: argparse.Namespace, admin: AdminContext) -> int:
    new = NewDiscount(
        args.code,
        args.percent,
        args.amount,
        args.package,
        args.valid_from,
        args.valid_until,
        args.max_uses,
    )
    try:
        with connection(), transaction():
            created = create_discount(new, ACTOR)
    except DiscountRefused as refusal:
        print(f"discounts create: {refusal}", file=sys.stderr)
        return 1
    print(f"created {created.code}")
    return 0


def run_list(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection():
        rows = listed_discounts()
    if args.json:
        print_json(rows)
        return 0
    print("\n".join(discount_line(row) for row in rows) or "no discount codes")
    return 0


def discount_line(row: dict) -> str:
    off = f"{row['percent_off']}%" if row["percent_off"] else format_idr(row["amount_off"])
    cap = f"/{row['max_uses']}" if row["max_uses"] else ""
    window = f"{wib_text(row['valid_from']) or '-'} .. {wib_text(row['valid_until']) or '-'}"
    state = "active" if row["active"] else "disabled"
    package = row["package_id"] or "any package"
    return f"{row['code']:<16} {off:>10}  {state:<8}  used {row['uses']}{cap}  {window}  {package}"


def run_disable(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection(), transaction():
        done = disable_discount(args.code, ACTOR)
    if not done:
        print(f"no active discount code {args.code!r}", file=sys.stderr)
        return 1
    print(f"disabled {args.code.upper()}")
    return 0
