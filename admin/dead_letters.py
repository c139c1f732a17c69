"""`./run.sh admin dead-letters ...`: what did not go out, and putting it back.

Two kinds of dead letter: Dramatiq messages in Redis dead-letter queues (ids are UUIDs) and
outbox rows in DLQ or FAILED (ids are numbers). Exit codes: 0 done, 1 nothing found or done.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from admin.arguments import purge_age_days
from admin.confirm import confirmed
from admin.context import AdminContext
from admin.outbox import print_rows, row_details
from admin.output import add_json_option, print_json, reported
from config.readers import ascii_digits
from messaging.contract import DELIVERY_QUEUE
from messaging.dead_letters import DeadLetter, find_dead_letter, list_dead_letters
from models.db import connection
from models.order_rows import (
    counted,
    dead_letter_row,
    masked_outbox_row,
    parked_event_row,
    parked_order_row,
)
from models.outbox import OutboxMessage
from models.outbox_admin import dead_rows
from models.parked import parked_events, parked_orders
from models.wib import wib_text
from tasks.operations.dead_letters import (
    purge_old_dead_letters,
    requeue_dead_letter,
    requeue_everything,
    requeue_parked_work,
)
from tasks.operations.outbox import requeue_outbox_row


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dead-letters",
        help="list, show, requeue or purge dead letters",
        description="Dramatiq dead-letter queues in Redis and outbox rows in DLQ or FAILED.",
    )
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = commands.add_parser("list", help="list every dead letter")
    listing.add_argument("--queue", help="only this Dramatiq queue (e.g. notifications)")
    add_json_option(listing)
    listing.set_defaults(handler=list_command)
    show = commands.add_parser("show", help="show one dead letter with its final error")
    show.add_argument("id", help="a Dramatiq message id, or an outbox row id")
    add_json_option(show)
    show.set_defaults(handler=show_command)
    requeue = commands.add_parser(
        "requeue",
        help="send dead letters again (retries reset)",
        description="Requeue one dead letter by id, or --all: every Dramatiq dead letter "
        "(of --queue) and every outbox row in DLQ. FAILED rows (permanent errors) "
        "are requeued only by id, once the cause is fixed.",
    )
    target = requeue.add_mutually_exclusive_group(required=True)
    target.add_argument("id", nargs="?", help="a Dramatiq message id, or an outbox row id")
    target.add_argument("--all", action="store_true", help="everything dead (see above)")
    target.add_argument(
        "--parked", action="store_true", help="give the sweeper back the work it parked"
    )
    requeue.add_argument("--queue", help="with --all: only this Dramatiq queue")
    requeue.set_defaults(handler=requeue_command)
    purge = commands.add_parser(
        "purge",
        help="delete old Dramatiq dead letters",
        description="Delete Dramatiq dead letters older than DAYS (at least 1: a fresher one "
        "may be under investigation). Outbox rows are history and are never deleted. Asks "
        "before deleting unless --yes.",
    )
    purge.add_argument(
        "--older-than", type=purge_age_days, required=True, metavar="DAYS", help="1-3650"
    )
    purge.add_argument("--dry-run", action="store_true", help="only count what would go")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(handler=purge_command)


def list_command(args: argparse.Namespace, admin: AdminContext) -> int:
    letters = list_dead_letters(admin.broker, args.queue)
    outbox_too = args.queue in (None, DELIVERY_QUEUE)
    rows, orders, events = _outbox_and_parked() if outbox_too else ([], [], [])
    if args.json:
        print_json(_listing_json(letters, rows, orders, events))
        return 0
    _print_letters(letters)
    if outbox_too:
        _print_outbox_and_parked(rows, orders, events)
    return 0


def _outbox_and_parked() -> tuple[list, list, list]:
    """Outbox rows in DLQ or FAILED, and the orders and notifications the sweeper parked."""
    with connection():
        return dead_rows(), list(parked_orders()), list(parked_events())


def _listing_json(letters: list[DeadLetter], rows: list, orders: list, events: list) -> dict:
    """Every section of the listing, always present (empty when --queue leaves it out)."""
    return {
        "dead_letters": [dead_letter_row(letter) for letter in letters],
        "outbox": [masked_outbox_row(row) for row in rows],
        "parked_orders": [parked_order_row(order) for order in orders],
        "parked_notifications": [parked_event_row(event) for event in events],
    }


def _print_letters(letters: list[DeadLetter]) -> None:
    print(f"Dramatiq dead letters: {len(letters)}")
    for letter in letters:
        print(
            f"  {letter.message_id}  {letter.queue_name:<14} {letter.message.actor_name:<24} "
            f"died {wib_text(letter.died_at)}  retries {letter.retries}  "
            f"{(letter.error or 'error not recorded')[:80]}"
        )


def _print_outbox_and_parked(rows: list, orders: list, events: list) -> None:
    print(f"Outbox rows in DLQ or FAILED: {len(rows)}")
    print_rows(rows)
    print(
        f"Parked by the sweeper: {counted(len(orders), 'order')}, "
        f"{counted(len(events), 'notification')}"
    )
    for order in orders:
        print(f"  order {order.order_id}  no payment link after {order.sweep_count} sweeps")
    for event in events:
        print(
            f"  notification {event.id} for {event.order_id}  unprocessed after "
            f"{event.sweep_count} sweeps"
        )


def show_command(args: argparse.Namespace, admin: AdminContext) -> int:
    if ascii_digits(args.id):
        with connection():
            row = OutboxMessage.get_or_none(OutboxMessage.id == int(args.id))
        if row is None:
            print(f"No outbox row {args.id}", file=sys.stderr)
            return 1
        if args.json:
            print_json(masked_outbox_row(row))
        else:
            print(row_details(row))
        return 0
    letter = find_dead_letter(admin.broker, args.id)
    if letter is None:
        print(f"No dead letter {args.id}", file=sys.stderr)
        return 1
    if args.json:
        print_json(dead_letter_row(letter))
        return 0
    message = letter.message
    print(
        f"Message id:  {letter.message_id}\nQueue:       {letter.queue_name}\n"
        f"Actor:       {message.actor_name}\nArguments:   {message.args} {message.kwargs}\n"
        f"Died at:     {wib_text(letter.died_at)}\nRetries:     {letter.retries}\n"
        f"Final error: {letter.error or 'not recorded'}"
    )
    return 0


def requeue_command(args: argparse.Namespace, admin: AdminContext) -> int:
    sender, operator = admin.enqueuer, admin.operator
    if args.queue and not (args.all or args.parked):
        print("--queue goes with --all", file=sys.stderr)
        return 2
    with connection():
        if args.parked:
            outcome = requeue_parked_work(sender, operator)
        elif args.all:
            outcome = requeue_everything(sender, operator, args.queue)
        elif ascii_digits(args.id):
            outcome = requeue_outbox_row(sender, operator, int(args.id))
        else:
            outcome = requeue_dead_letter(sender, operator, args.id)
    return reported(outcome, unchanged_fails=True)


def purge_command(args: argparse.Namespace, admin: AdminContext) -> int:
    older_than = timedelta(days=args.older_than)
    cutoff = datetime.now(UTC) - older_than
    due = sum(letter.died_at < cutoff for letter in list_dead_letters(admin.broker))
    what = f"{due} Dramatiq dead letters older than {args.older_than} days"
    if args.dry_run:
        print(f"Would purge {what} (dry run: nothing deleted)")
        return 0
    if due and not (args.yes or confirmed(f"Delete {what}?")):
        print("Nothing deleted", file=sys.stderr)
        return 1
    with connection():
        return reported(purge_old_dead_letters(admin.enqueuer, admin.operator, args.older_than))
