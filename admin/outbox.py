"""`./run.sh admin outbox ...`: the customer messages, and an operator's explicit resend.

Exit codes: 0 done, 1 nothing to resend.
"""

from __future__ import annotations

import argparse
import sys

from admin.arguments import plain_choices, row_limit
from admin.context import AdminContext, cli_actor
from admin.order_lookup import one_order_id
from admin.output import add_json_option, counted, print_json
from models.db import connection
from models.messages import TEMPLATE_NAMES
from models.order_rows import outbox_row
from models.outbox_admin import (
    NothingToResend,
    list_outbox,
    masked_recipient,
    resend_notification,
)
from models.statuses import CHANNELS, OUTBOX_STATUSES
from models.wib import wib_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "outbox",
        help="list customer messages or resend one",
        description="The notification outbox (email and WhatsApp).",
    )
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = commands.add_parser("list", help="list outbox rows, newest first")
    listing.add_argument("--status", choices=plain_choices(OUTBOX_STATUSES), type=str.upper)
    listing.add_argument(
        "--order", metavar="ORDER_ID", help="only this order's messages (any unique part)"
    )
    listing.add_argument(
        "--limit", type=row_limit, default=50, metavar="N", help="at most N rows (1-10000)"
    )
    add_json_option(listing)
    listing.set_defaults(handler=list_command)
    resend = commands.add_parser(
        "resend",
        help="send a message again as a new, audited row",
        description="Queue TEMPLATE again for ORDER_ID (a new row pointing at the original), "
        "to the order's email and WhatsApp, or one --channel.",
    )
    resend.add_argument("order_id", metavar="ORDER_ID", help="any unique part of the number")
    resend.add_argument(
        "template", metavar="TEMPLATE", choices=TEMPLATE_NAMES, help=", ".join(TEMPLATE_NAMES)
    )
    resend.add_argument("--channel", choices=plain_choices(CHANNELS), type=str.upper)
    resend.set_defaults(handler=resend_command)


def print_rows(rows: list) -> None:
    """One line per row: id, status, attempts, channel, template, order, recipient, error."""
    for row in rows:
        error = (row.last_error or "")[:60]
        print(
            f"  {row.id:>7}  {row.status:<8} {row.attempt_count}x  {row.channel:<8} "
            f"{row.template_name:<20} {row.order_id:<28} {masked_recipient(row):<20} {error}"
        )


def outbox_json(row) -> dict:
    """The console's outbox row with the recipient masked, as the table shows it."""
    return {**outbox_row(row), "recipient": masked_recipient(row)}


def row_details(row) -> str:
    """Every field an operator needs to decide, with the error history; times in WIB, as the
    console shows them."""
    lines = [
        f"Outbox row {row.id} ({row.channel} {row.template_name}) for order {row.order_id}",
        f"Status:      {row.status} after {counted(row.attempt_count, 'attempt')}",
        f"Recipient:   {masked_recipient(row)}",
        f"Next retry:  {wib_text(row.next_retry_at) or '-'}",
        f"Sent at:     {wib_text(row.sent_at) or '-'}",
        f"Resend of:   {row.resend_of or '-'}",
        f"Last error:  {row.last_error or '-'}",
        "Error history:",
    ]
    lines += [
        f"  #{entry.get('attempt')} {wib_text(entry.get('at')) or '-'} {entry.get('kind')}: "
        f"{entry.get('error')}"
        for entry in row.error_history
    ] or ["  (none)"]
    return "\n".join(lines)


def list_command(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection():
        order_id = one_order_id(args.order) if args.order else None
        if args.order and order_id is None:
            if args.json:
                print_json([])  # stdout still parses; the reason is on stderr
            return 1
        rows = list_outbox(args.status, order_id, args.limit)
    if args.json:
        print_json([outbox_json(row) for row in rows])
        return 0
    print(f"Outbox rows: {len(rows)}")
    print_rows(rows)
    return 0


def resend_command(args: argparse.Namespace, admin: AdminContext) -> int:
    channel_names = (args.channel,) if args.channel else CHANNELS
    try:
        with connection():
            order_id = one_order_id(args.order_id)
            if order_id is None:
                return 1
            new_ids = resend_notification(
                order_id, args.template, cli_actor(), channel_names, admin.wake_deliveries
            )
    except NothingToResend as error:
        print(f"Nothing to resend: {error}", file=sys.stderr)
        return 1
    print(
        f"Queued resend of {args.template} for {order_id}: outbox rows "
        f"{', '.join(map(str, new_ids))}"
    )
    return 0
