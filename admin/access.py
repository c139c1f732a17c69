"""`access revoke|grant ORDER --reason TEXT`: the owner corrects a customer's access (a
chargeback settled outside Midtrans, a legacy order the Status API never heard of, an amount
the owner accepts), audited as `admin:cli` with the reason, the customer told by email and
WhatsApp. Never a payment status: that changes only through Midtrans."""

from __future__ import annotations

import argparse
import sys

from admin.confirm import confirmed
from admin.context import AdminContext, cli_actor
from admin.order_lookup import one_order_id
from models.access_corrections import GRANT, REVOKE, AccessCorrectionRefused, correct_access
from models.db import connection
from models.orders import Order

ACTOR = cli_actor()


def register(subparsers: argparse._SubParsersAction) -> None:
    access = subparsers.add_parser(
        "access", help="revoke or grant an order's course access by hand (audited)"
    )
    commands = access.add_subparsers(dest="access_command", required=True, metavar="COMMAND")
    revoke = commands.add_parser(
        "revoke", help="end the order's access and tell the customer; the payment is untouched"
    )
    grant = commands.add_parser(
        "grant",
        help="give the order access and tell the customer; refuses an order Midtrans has not "
        "reported paid unless --despite-status",
    )
    grant.add_argument(
        "--despite-status",
        action="store_true",
        help="grant although Midtrans has not reported the order paid (a legacy or outside "
        "payment); said so in the audit",
    )
    revoke.set_defaults(despite_status=False)
    for command, action in ((revoke, REVOKE), (grant, GRANT)):
        command.add_argument("order_id", metavar="ORDER", help="any unique part of the number")
        command.add_argument(
            "--reason", required=True, metavar="TEXT", help="why (kept in the audit log)"
        )
        command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        command.set_defaults(handler=run_correction, action=action)


def run_correction(args: argparse.Namespace, admin: AdminContext) -> int:
    """0 when the access is as asked (changed now or already), 1 when refused or not confirmed."""
    with connection():
        order_id = one_order_id(args.order_id)
        order = Order.get_or_none(Order.order_id == order_id) if order_id else None
    if order is None:
        return 1
    question = (
        f"{args.action.capitalize()} access to {order.order_id} "
        f"({order.status}, {order.customer_name})?"
    )
    if not (args.yes or confirmed(question)):
        print("Nothing changed", file=sys.stderr)
        return 1
    try:
        with connection():
            correction = correct_access(
                args.action,
                order.order_id,
                args.reason,
                ACTOR,
                admin.wake_deliveries,
                args.despite_status,
            )
    except AccessCorrectionRefused as refusal:
        print(f"Refused: {refusal}", file=sys.stderr)
        return 1
    print(correction.message if correction.changed else f"Nothing changed: {correction.message}")
    return 0
