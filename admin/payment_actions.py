"""`refund ORDER`, `challenge approve|deny ORDER`, `cancel ORDER`: the owner asks Midtrans to
refund, to decide a card payment held for review, or to end an open payment, with a reason
(audited as `admin:cli`). Each only asks: the order moves when Midtrans confirms, through its
payment notification or the Status API (tasks/operations/payment_actions.py). Exit codes: 0
asked (or already asked), 1 refused or not confirmed, 2 usage error."""

from __future__ import annotations

import argparse
import sys

from admin.arguments import whole_number
from admin.confirm import confirmed
from admin.context import AdminContext
from admin.order_lookup import one_order_id
from admin.output import reported
from models.db import connection
from models.orders import Order
from models.pricing import format_idr

MAX_REFUND_IDR = 10**12 - 1  # as the console's refund field: more than any order costs


def register(subparsers: argparse._SubParsersAction) -> None:
    refund = subparsers.add_parser(
        "refund",
        help="ask Midtrans to refund a paid order (card, GoPay, ShopeePay, QRIS, DANA, OVO, "
        "Kredivo, Akulaku); a virtual account or store payment is refused with the manual way",
    )
    refund.add_argument(
        "--amount",
        type=whole_number(1, MAX_REFUND_IDR),
        metavar="RUPIAH",
        help="a partial refund (default: all of it)",
    )
    refund.set_defaults(handler=run_refund)
    challenge = subparsers.add_parser(
        "challenge", help="approve or deny a card payment Midtrans holds for review"
    )
    challenge.add_argument("decision", choices=("approve", "deny"))
    challenge.set_defaults(handler=run_challenge)
    cancel = subparsers.add_parser(
        "cancel",
        help="end a payment still open at Midtrans (expire a pending one, cancel a card "
        "payment not settled)",
    )
    cancel.set_defaults(handler=run_cancel)
    for command in (refund, challenge, cancel):
        command.add_argument("order_id", metavar="ORDER", help="any unique part of the number")
        command.add_argument(
            "--reason", required=True, metavar="TEXT", help="why (kept in the audit log)"
        )
        command.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def run_refund(args: argparse.Namespace, admin: AdminContext) -> int:
    amount = format_idr(args.amount) if args.amount else "the whole amount"
    return _confirmed_run(
        args, admin, f"Refund {amount} of", "refund_order", args.reason, args.amount
    )


def run_challenge(args: argparse.Namespace, admin: AdminContext) -> int:
    question = f"{args.decision.capitalize()} the card payment of"
    return _confirmed_run(args, admin, question, "decide_challenge", args.decision, args.reason)


def run_cancel(args: argparse.Namespace, admin: AdminContext) -> int:
    return _confirmed_run(args, admin, "Cancel the open payment of", "cancel_payment", args.reason)


def _confirmed_run(args, admin: AdminContext, question: str, operation: str, *arguments) -> int:
    """Finds the order, asks for confirmation (unless --yes), runs the operation (named in
    tasks/operations/payment_actions.py) inline."""
    with connection():
        order_id = one_order_id(args.order_id)
        order = Order.get_or_none(Order.order_id == order_id) if order_id else None
    if order is None:
        return 1
    asked = f"{question} {order.order_id} ({order.status}, {format_idr(order.final_amount)})?"
    if not (args.yes or confirmed(asked)):
        print("Nothing asked of Midtrans", file=sys.stderr)
        return 1
    # Worker code (it calls Midtrans): loaded only by the commands that run it.
    from tasks.operations import payment_actions

    with connection():
        run = getattr(payment_actions, operation)
        outcome = run(admin.worker(), admin.operator, order.order_id, *arguments)
    return reported(outcome)
