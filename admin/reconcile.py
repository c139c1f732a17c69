"""`./run.sh admin reconcile [ORDER_ID ...] [--all-pending]`: ask Midtrans now, instead of at the
periodic reconciliation's next turn (a customer who paid and is still waiting, say).

The Status API's answer goes through the state machine exactly like a webhook's, so this can
never set a status by hand: it only asks. Exit codes: 0 done, 1 an unknown order id or Midtrans
did not answer, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from admin.context import AdminContext
from integrations.errors import ProviderError
from messaging.contract import RECONCILE
from models.audit import record_audit
from models.db import connection
from models.orders import Order

ACTOR = "admin:cli"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="ask Midtrans' Status API about orders now",
        description="Ask the Status API about each ORDER_ID now and apply the answer through the "
        "order state machine; or --all-pending: queue the periodic reconciliation of every "
        "order awaiting payment.",
    )
    parser.add_argument("order_ids", nargs="*", metavar="ORDER_ID")
    parser.add_argument(
        "--all-pending", action="store_true", help="queue the periodic reconciliation job now"
    )
    parser.set_defaults(handler=run_reconcile)


def run_reconcile(args: argparse.Namespace, admin: AdminContext) -> int:
    if not args.order_ids and not args.all_pending:
        print("reconcile: give one or more ORDER_IDs, or --all-pending", file=sys.stderr)
        return 2
    with connection():
        failures = sum(not reconcile_one(admin, order_id) for order_id in args.order_ids)
        if args.all_pending:
            queue_all_pending(admin)
    return 1 if failures else 0


def reconcile_one(admin: AdminContext, order_id: str) -> bool:
    """Runs the reconciliation of one order inline (worker code) and prints `before -> after`;
    False when the order does not exist or Midtrans did not answer."""
    admin.worker()
    # Imported here: the worker code needs the worker started (admin.worker above).
    from tasks.webhooks import reconcile_order

    before = order_status(order_id)
    if before is None:
        print(f"{order_id}: no such order", file=sys.stderr)
        return False
    record_audit(ACTOR, "reconcile_requested", order_id, old_status=before)
    try:
        reconcile_order(order_id)
    except ProviderError as error:
        unanswered = f"{order_id}: {before}, unchanged: Midtrans did not answer ({error})"
        print(unanswered, file=sys.stderr)
        return False
    after = order_status(order_id)
    unchanged = " (unchanged)" if after == before else ""
    print(f"{order_id}: {before} -> {after}{unchanged}")
    return True


def order_status(order_id: str) -> str | None:
    order = Order.get_or_none(Order.order_id == order_id)
    return order.status if order else None


def queue_all_pending(admin: AdminContext) -> None:
    """The periodic job itself, queued now: it picks every awaiting order that is due a check."""
    record_audit(ACTOR, "reconcile_requested", None, scope="all_pending")
    admin.enqueuer.send(RECONCILE)
    print("queued the periodic reconciliation: every order awaiting payment that is due a check")
