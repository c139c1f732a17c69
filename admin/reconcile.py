"""`./run.sh admin reconcile [ORDER_ID ...] [--all-pending]`: ask Midtrans now, instead of at the
periodic reconciliation's next turn (a customer who paid and is still waiting, say).

The Status API's answer goes through the state machine exactly like a webhook's, so this can
never set a status by hand: it only asks. Exit codes: 0 done, 1 an unknown order id or Midtrans
did not answer, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys

from admin.context import AdminContext, cli_actor
from admin.order_lookup import not_one_order, order_ids_meant
from admin.output import add_json_option, print_json
from integrations.errors import ProviderError
from messaging.contract import RECONCILE
from models.audit import record_audit
from models.db import connection
from models.orders import Order

ACTOR = cli_actor()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="ask Midtrans' Status API about orders now",
        description="Ask the Status API about each ORDER_ID now and apply the answer through the "
        "order state machine; or --all-pending: queue the periodic reconciliation of every "
        "order awaiting payment.",
    )
    parser.add_argument(
        "order_ids", nargs="*", metavar="ORDER_ID", help="any unique part of each number"
    )
    parser.add_argument(
        "--all-pending", action="store_true", help="queue the periodic reconciliation job now"
    )
    add_json_option(parser)
    parser.set_defaults(handler=run_reconcile)


def run_reconcile(args: argparse.Namespace, admin: AdminContext) -> int:
    if not args.order_ids and not args.all_pending:
        print("reconcile: give one or more ORDER_IDs, or --all-pending", file=sys.stderr)
        return 2
    with connection():
        results = [reconcile_one(admin, order_id) for order_id in args.order_ids]
        if args.all_pending:
            queue_all_pending(admin)
    print_failures(results)
    if args.json:
        print_json({"orders": results, "queued_all_pending": args.all_pending})
    else:
        print_results(results, args.all_pending)
    return 1 if any(result["error"] for result in results) else 0


def reconcile_one(admin: AdminContext, order_id: str) -> dict:
    """Runs the reconciliation of one order inline (worker code): its status before and after,
    and why it could not be asked (the order does not exist, Midtrans did not answer)."""
    admin.worker()
    # Imported here: the worker code needs the worker started (admin.worker above).
    from tasks.webhooks import reconcile_order

    found = order_ids_meant(order_id)
    if len(found) != 1:
        error = not_one_order(order_id, found)
        return {"order_id": order_id, "before": None, "after": None, "error": error}
    order_id = found[0]
    before = order_status(order_id)
    result = {"order_id": order_id, "before": before, "after": before, "error": None}
    record_audit(ACTOR, "reconcile_requested", order_id, old_status=before)
    try:
        reconcile_order(order_id)
    except ProviderError as error:
        return {**result, "error": f"Midtrans did not answer ({error})"}
    return {**result, "after": order_status(order_id)}


def print_failures(results: list[dict]) -> None:
    """Why an order was not asked, on stderr (with or without --json)."""
    for result in results:
        if result["error"]:
            unchanged = f"{result['before']}, unchanged: " if result["before"] else ""
            print(f"{result['order_id']}: {unchanged}{result['error']}", file=sys.stderr)


def print_results(results: list[dict], queued_all_pending: bool) -> None:
    """`ORDER_ID: BEFORE -> AFTER` per order asked."""
    for result in results:
        order_id, before, after = result["order_id"], result["before"], result["after"]
        if not result["error"]:
            print(f"{order_id}: {before} -> {after}{' (unchanged)' if after == before else ''}")
    if queued_all_pending:
        due = "every order awaiting payment that is due a check"
        print(f"queued the periodic reconciliation: {due}")


def order_status(order_id: str) -> str | None:
    order = Order.get_or_none(Order.order_id == order_id)
    return order.status if order else None


def queue_all_pending(admin: AdminContext) -> None:
    """The periodic job itself, queued now: it picks every awaiting order that is due a check."""
    record_audit(ACTOR, "reconcile_requested", None, scope="all_pending")
    admin.enqueuer.send(RECONCILE)
