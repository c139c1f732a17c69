"""The console's "Penjualan" page: today, 7 and 30 days from models/sales.py (the figures
`./run.sh admin sales` prints), revenue per day as an inline SVG drawn here (no JavaScript),
and the period's orders as a CSV download for the bookkeeping."""

from __future__ import annotations

import csv
import io
from datetime import date

import falcon

from models.db import connection
from models.order_rows import spreadsheet_safe
from models.pricing import format_idr
from models.sales import CSV_COLUMNS, daily_revenue, period_orders, sales_summary
from models.wib import indonesian_day
from web.admin.auth import console_headers, require_session
from web.admin.params import refuse_unknown, whole_param

PERIODS = ((1, "Hari ini"), (7, "7 hari"), (30, "30 hari"))
PERIOD_DAYS = tuple(days for days, _ in PERIODS)
CHART_DAYS = 30
CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 600, 160, 2


def sales_screen(req: falcon.Request) -> dict:
    """The three periods' figures and the 30-day chart (its JSON twin has the same)."""
    refuse_unknown(req, ())
    with connection():
        periods = [{"label": label, **sales_summary(days)} for days, label in PERIODS]
        days = daily_revenue(CHART_DAYS)
    return {"periods": periods, "chart": revenue_chart(days)}


def revenue_chart(days: list[tuple[date, int]]) -> dict:
    """Bar geometry in SVG units, with the words a screen reader says instead of the picture."""
    highest = max((total for _, total in days), default=0)
    slot = CHART_WIDTH / len(days)
    bars = []
    for index, (day, total) in enumerate(days):
        height = round(CHART_HEIGHT * total / highest, 1) if highest else 0
        bars.append(
            {
                "x": round(index * slot, 1),
                "y": round(CHART_HEIGHT - height, 1),
                "width": round(slot - BAR_GAP, 1),
                "height": height,
                "label": f"{indonesian_day(day)}: {format_idr(total)}",
            }
        )
    best_day, best_total = max(days, key=lambda item: item[1])
    busiest = (
        f"tertinggi {format_idr(best_total)} pada {indonesian_day(best_day)}"
        if best_total
        else "belum ada penjualan"
    )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "bars": bars,
        "title": f"Pendapatan per hari, {len(days)} hari terakhir (WIB)",
        "desc": f"Dari {indonesian_day(days[0][0])} sampai {indonesian_day(days[-1][0])}: "
        f"total {format_idr(sum(total for _, total in days))}, {busiest}.",
    }


@falcon.before(require_session)
@falcon.after(console_headers)
class SalesCsvResource:
    """`GET /admin/sales.csv?days=1|7|30`: the orders created or paid in the period, without
    the customer's name, email or phone (the books need the money trail, not contacts)."""

    def __init__(self, auth) -> None:
        self.auth = auth

    def on_get(self, req, resp):
        refuse_unknown(req, ("days",))
        days = whole_param(req, "days", 1, max(PERIOD_DAYS), default=1)
        if days not in PERIOD_DAYS:
            raise falcon.HTTPBadRequest(title="days harus 1, 7 atau 30")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        with connection():
            for row in period_orders(days):
                writer.writerow([spreadsheet_safe(value) for value in row])
        resp.content_type = "text/csv; charset=utf-8"
        resp.downloadable_as = f"penjualan-{days}-hari.csv"
        resp.text = buffer.getvalue()
