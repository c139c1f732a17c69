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
from admin.order_lookup import not_one_order, order_ids_meant
from admin.output import add_json_option, print_json
from models.db import connection


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
    # Imported here: the reconciliation is worker code, which only this command needs.
    from tasks.operations.orders import reconcile_all_pending, reconcile_order_now

    with connection():
        results = [reconcile_one(admin, reconcile_order_now, part) for part in args.order_ids]
        queued = reconcile_all_pending(admin.enqueuer, admin.operator) if args.all_pending else None
    said = [result.pop("said") for result in results]
    print_failures(results)
    if args.json:
        print_json({"orders": results, "queued_all_pending": args.all_pending})
        return 1 if any(result["error"] for result in results) else 0
    print(
        "\n".join(line for line, result in zip(said, results, strict=True) if not result["error"])
    )
    if queued:
        print(queued.message)
    return 1 if any(result["error"] for result in results) else 0


def reconcile_one(admin: AdminContext, reconcile_order_now, order_id: str) -> dict:
    """The reconciliation of one order, run inline: its status before and after, and why it
    could not be asked (the order does not exist, Midtrans did not answer)."""
    found = order_ids_meant(order_id)
    if len(found) != 1:
        error = not_one_order(order_id, found)
        return {"order_id": order_id, "before": None, "after": None, "error": error, "said": error}
    outcome = reconcile_order_now(admin.worker(), admin.operator, found[0])
    error = outcome.message if outcome.is_refused else None
    return {**outcome.details, "error": error, "said": outcome.message}


def print_results(said: list[str], results: list[dict], queued) -> None:
    """`ORDER_ID: BEFORE -> AFTER` per order asked, then the queued job if any."""
    for line, result in zip(said, results, strict=True):
        if not result["error"]:
            print(line)
    if queued:
        print(queued.message)


def print_failures(results: list[dict]) -> None:
    """Why an order was not asked, on stderr (with or without --json)."""
    for result in results:
        if result["error"]:
            unchanged = f"{result['before']}, unchanged: " if result["before"] else ""
            print(f"{result['order_id']}: {unchanged}{result['error']}", file=sys.stderr)
