"""`./run.sh admin sales [--days N] [--json]`: paid orders, revenue, refunds, checkouts and the
split by payment method over the last N calendar days in Jakarta (1 = today, WIB). Read-only.

Exit codes: 0 done, 2 usage error."""

from __future__ import annotations

import argparse

from admin.arguments import whole_number
from admin.context import AdminContext
from admin.output import add_json_option, print_json
from models.db import connection
from models.pricing import format_idr
from models.sales import MAX_DAYS, sales_summary
from models.wib import wib_text


def register(subparsers: argparse._SubParsersAction) -> None:
    sales = subparsers.add_parser(
        "sales",
        help="sales at a glance: paid orders, revenue, refunds, checkouts, by method",
        description="Sales over the last N calendar days in Jakarta, today included "
        "(--days 1 = today since midnight WIB). Revenue counts an order on the day Midtrans "
        "reported it paid; a refund on the day Midtrans reported it.",
    )
    sales.add_argument(
        "--days", type=whole_number(1, MAX_DAYS), default=1, metavar="N", help="default 1 (today)"
    )
    add_json_option(sales)
    sales.set_defaults(handler=run_sales)


def run_sales(args: argparse.Namespace, admin: AdminContext) -> int:
    with connection():
        summary = sales_summary(args.days)
    if args.json:
        print_json(summary)
        return 0
    print("\n".join(summary_lines(summary)))
    return 0


def summary_lines(summary: dict) -> list[str]:
    conversion = summary["conversion_percent"]
    lines = [
        f"{wib_text(summary['from'])} .. {wib_text(summary['until'])} ({summary['days']} days)",
        f"paid orders      {summary['paid_orders']}  {format_idr(summary['gross_revenue'])}",
        f"refunded orders  {summary['refunded_orders']}  {format_idr(summary['refunded_amount'])}",
        f"checkouts        {summary['checkouts']}, paid since: {summary['checkouts_paid']}"
        + (f" ({conversion}%)" if conversion is not None else ""),
    ]
    for method, figures in summary["by_method"].items():
        lines.append(
            f"  {method:<15} {figures['paid_orders']}  {format_idr(figures['gross_revenue'])}"
        )
    return lines
