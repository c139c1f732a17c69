"""`orders export` for the accountant and `orders show` for support. Both only read: no
command, here or anywhere, changes an order's payment status."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import TextIO

from admin.arguments import plain_choices
from admin.context import AdminContext
from admin.order_lookup import one_order_id
from admin.output import add_json_option, print_document
from models.base import SHOP_TIMEZONE
from models.db import connection
from models.order_rows import counted, spreadsheet_safe
from models.order_story import order_timeline
from models.orders import Order
from models.pricing import format_idr
from models.statuses import ORDER_STATUSES, OrderStatus
from models.wib import EARLIEST_DAY, LATEST_DAY, wib_text

EXPORT_COLUMNS = (
    "order_id",
    "created_at",
    "paid_at",
    "status",
    "package_id",
    "customer_name",
    "customer_email",
    "customer_phone",
    "discount_code",
    "base_amount",
    "discount_amount",
    "final_amount",
    "source",
    "flagged",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    orders = subparsers.add_parser("orders", help="export or look at orders (read-only)")
    commands = orders.add_subparsers(dest="orders_command", required=True, metavar="COMMAND")
    export = commands.add_parser("export", help="orders as CSV or JSON for the accountant")
    export.add_argument("--status", type=str.upper, choices=plain_choices(ORDER_STATUSES))
    export.add_argument(
        "--since",
        type=since_moment,
        metavar="DATE",
        help="created on or after DATE (YYYY-MM-DD in WIB, or ISO date-time)",
    )
    export.add_argument("--format", choices=("csv", "json"), required=True)
    export.add_argument("--output", type=Path, metavar="FILE", help="write here, not stdout")
    export.set_defaults(handler=run_export)
    show = commands.add_parser("show", help="one order's history")
    show.add_argument("order_id", metavar="ORDER_ID", help="any unique part of the number")
    add_json_option(show)
    show.set_defaults(handler=run_show)


def since_moment(text: str) -> datetime:
    """`2025-01-31` is midnight in Jakarta; a date-time without offset is Jakarta time too.
    Only days from EARLIEST_DAY to LATEST_DAY: year 9999 or 0001 overflows further on."""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(), SHOP_TIMEZONE)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None
    if not EARLIEST_DAY <= moment.date() <= LATEST_DAY:
        raise argparse.ArgumentTypeError(f"must be from {EARLIEST_DAY} to {LATEST_DAY}: {text!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=SHOP_TIMEZONE)


def run_export(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection(), _output(args.output) as stream:
        rows = export_rows(selected_orders(args.status, args.since))
        count, paid_total = (write_csv if args.format == "csv" else write_json)(rows, stream)
    paid = format_idr(paid_total)
    print(f"exported {counted(count, 'order')}; PAID total {paid}", file=sys.stderr)
    return 0


def selected_orders(status: str | None, since: datetime | None) -> Iterable[Order]:
    query = Order.select().order_by(Order.created_at, Order.order_id)
    if status:
        query = query.where(Order.status == status)
    if since:
        query = query.where(Order.created_at >= since)
    return query.iterator()


def export_rows(orders: Iterable[Order]) -> Iterator[dict]:
    """Plain values: amounts in whole rupiah, times in ISO 8601 with the WIB offset."""
    for order in orders:
        row = {name: getattr(order, name) for name in EXPORT_COLUMNS if name != "package_id"}
        row["package_id"] = order.package_id
        row["created_at"] = _wib(order.created_at)
        row["paid_at"] = _wib(order.paid_at)
        yield {name: row[name] for name in EXPORT_COLUMNS}


def _wib(moment: datetime | None) -> str | None:
    return moment.astimezone(SHOP_TIMEZONE).isoformat(timespec="seconds") if moment else None


def write_csv(rows: Iterable[dict], stream: TextIO) -> tuple[int, int]:
    writer = csv.DictWriter(stream, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    return _written(
        rows,
        lambda row: writer.writerow({name: spreadsheet_safe(value) for name, value in row.items()}),
    )


def write_json(rows: Iterable[dict], stream: TextIO) -> tuple[int, int]:
    """A JSON array written row by row, so a large export never sits in memory."""
    separator = "[\n"

    def write(row: dict) -> None:
        nonlocal separator
        stream.write(separator + json.dumps(row, ensure_ascii=False))
        separator = ",\n"

    count, paid_total = _written(rows, write)
    stream.write("\n]\n" if count else "[]\n")
    return count, paid_total


def _written(rows: Iterable[dict], write) -> tuple[int, int]:
    count = paid_total = 0
    for row in rows:
        write(row)
        count += 1
        paid_total += row["final_amount"] if row["status"] == OrderStatus.PAID else 0
    return count, paid_total


@contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    """stdout, or a file only its owner can read (it holds customers' personal data). An
    existing file is overwritten and made private too: `os.open`'s mode applies only to a file
    it creates, so last month's export left readable by the group would stay that way."""
    if path is None:
        yield sys.stdout
        return
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with open(descriptor, "w", newline="", encoding="utf-8") as stream:
        yield stream


def run_show(args: argparse.Namespace, admin: AdminContext) -> int:
    """ORDER_ID may be any unique part of the number, in any case; several matches are listed."""
    with connection():
        order_id = one_order_id(args.order_id)
        story = order_timeline(order_id) if order_id else None
    return print_document(story, args.json, story_lines)


def story_lines(story: dict) -> list[str]:
    """The order, its access, then everything that happened to it in time order."""
    order, access = story["order"], story["entitlement"]
    flag = " (FLAGGED)" if order["flagged"] else ""
    discount = f" with {order['discount_code']}" if order["discount_code"] else ""
    lines = [
        f"order      {order['order_id']} ({order['source']})",
        f"status     {order['status']}{flag}",
        f"amount     {format_idr(order['final_amount'])} (base {format_idr(order['base_amount'])}, "
        f"discount {format_idr(order['discount_amount'])}{discount})",
        f"customer   {order['customer_name']} <{order['customer_email']}> "
        f"{order['customer_phone']}",
        f"created    {wib_text(order['created_at'])}",
        f"paid       {wib_text(order['paid_at']) or '-'}",
        f"expires    {wib_text(order['expires_at']) or '-'}",
        f"failure    {order['failure_reason'] or '-'}",
        f"access     {access['status']} since {wib_text(access['granted_at'])} "
        f"(token {access['access_token']})"
        if access
        else "access     none",
    ]
    moments = [
        f"{wib_text(m['at']) or '-'}  {m['kind']}: {m['summary']}" for m in story["timeline"]
    ]
    return lines + _section("what happened", moments)


def _section(title: str, lines: list[str]) -> list[str]:
    return [f"{title}:", *(f"  {line}" for line in lines or ["none"])]
