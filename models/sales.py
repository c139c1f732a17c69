"""Sales at a glance, read from the orders as Midtrans reported them: what `./run.sh admin sales`
prints and the console's "Penjualan" page shows (one query module, so the two never differ).

A period is whole calendar days in Jakarta: `days=1` is today (WIB) since midnight, `days=7`
today and the six days before it, as the owner counts "today" and "this week". An order counts
as sold on the day Midtrans reported it paid (`paid_at`), whatever happened to it later (gross
revenue), and as refunded on the day Midtrans reported the full refund (the audit entry
`write_status` wrote). A partial refund leaves the order PAID and is not counted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from models.base import SHOP_TIMEZONE, utcnow
from models.db import database
from models.statuses import OrderStatus
from models.wib import wib_midnight

MAX_DAYS = 366  # a year at most: the console shows 1, 7 and 30
CSV_COLUMNS = ("order_id", "created_at_wib", "paid_at_wib", "status", "amount", "method", "package")

# The method Midtrans named last for the order (its payment and refund reports agree on it);
# 'unknown' for a paid order no stored report names a method for (an import).
_METHOD_SQL = """COALESCE((
    SELECT e.payment_type FROM payment_events e
    WHERE e.order_id = o.order_id AND e.payment_type IS NOT NULL
    ORDER BY e.id DESC LIMIT 1), 'unknown')"""

_PAID_SQL = f"""
SELECT {_METHOD_SQL} AS method, COUNT(*), COALESCE(SUM(o.final_amount), 0)
FROM orders o WHERE o.paid_at >= %s AND o.paid_at < %s
GROUP BY method ORDER BY method
"""  # noqa: S608 - joins this module's constants only

_REFUNDED_SQL = """
SELECT COUNT(*), COALESCE(SUM(o.final_amount), 0) FROM orders o
WHERE o.status = %s AND EXISTS (
    SELECT 1 FROM system_audit_log a
    WHERE a.order_id = o.order_id AND a.new_status = %s AND a.old_status IS DISTINCT FROM %s
      AND a.occurred_at >= %s AND a.occurred_at < %s)
"""

# A checkout is an order a customer started on the shop (imports are not checkouts); it is
# converted when it has been paid since, even if refunded later.
_CHECKOUTS_SQL = """
SELECT COUNT(*), COUNT(o.paid_at) FROM orders o
WHERE o.source = 'web' AND o.created_at >= %s AND o.created_at < %s
"""

_DAILY_SQL = """
SELECT (o.paid_at AT TIME ZONE 'Asia/Jakarta')::date AS day, SUM(o.final_amount)
FROM orders o WHERE o.paid_at >= %s AND o.paid_at < %s GROUP BY day
"""

_ORDERS_SQL = f"""
SELECT o.order_id, o.created_at, o.paid_at, o.status, o.final_amount, {_METHOD_SQL}, p.name
FROM orders o JOIN packages p ON p.package_id = o.package_id
WHERE (o.created_at >= %s AND o.created_at < %s) OR (o.paid_at >= %s AND o.paid_at < %s)
ORDER BY o.created_at, o.order_id
"""  # noqa: S608 - joins this module's constants only


@dataclass(frozen=True)
class Period:
    """Whole WIB days: from midnight of the first day to the midnight that ends today."""

    days: int
    start: datetime
    end: datetime

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return self.start, self.end


def period_of(days: int, now: datetime | None = None) -> Period:
    """The last `days` calendar days in Jakarta, today included."""
    if days < 1:
        raise ValueError("a period has at least one day")
    today = (now or utcnow()).astimezone(SHOP_TIMEZONE).date()
    first_day = today - timedelta(days=days - 1)
    start, end = wib_midnight(first_day), wib_midnight(today + timedelta(days=1))
    return Period(days, start, end)


def sales_summary(days: int, now: datetime | None = None) -> dict:
    """The figures of the period, in whole rupiah (the JSON of `admin sales --json`)."""
    period = period_of(days, now)
    by_method = {
        method: {"paid_orders": count, "gross_revenue": int(total)}
        for method, count, total in _rows(_PAID_SQL, period.bounds)
    }
    refunded_orders, refunded_amount = _rows(
        _REFUNDED_SQL,
        (OrderStatus.REFUNDED, OrderStatus.REFUNDED, OrderStatus.REFUNDED) + period.bounds,
    )[0]
    checkouts, converted = _rows(_CHECKOUTS_SQL, period.bounds)[0]
    return {
        "days": days,
        "from": period.start.isoformat(),
        "until": period.end.isoformat(),
        "paid_orders": sum(entry["paid_orders"] for entry in by_method.values()),
        "gross_revenue": sum(entry["gross_revenue"] for entry in by_method.values()),
        "refunded_orders": refunded_orders,
        "refunded_amount": int(refunded_amount),
        "checkouts": checkouts,
        "checkouts_paid": converted,
        "conversion_percent": round(100 * converted / checkouts, 1) if checkouts else None,
        "by_method": by_method,
    }


def daily_revenue(days: int, now: datetime | None = None) -> list[tuple[date, int]]:
    """Revenue per WIB day, oldest first, a day without sales as 0 (the console's chart)."""
    period = period_of(days, now)
    totals = dict(_rows(_DAILY_SQL, period.bounds))
    first_day = period.start.date()
    return [
        (day, int(totals.get(day, 0)))
        for day in (first_day + timedelta(days=offset) for offset in range(days))
    ]


def period_orders(days: int, now: datetime | None = None) -> Iterator[tuple]:
    """The orders created or paid in the period as CSV rows (CSV_COLUMNS): the money trail for
    the bookkeeping, without the customer's name, email or phone."""
    period = period_of(days, now)
    for order_id, created, paid, status, amount, method, package in _rows(
        _ORDERS_SQL, period.bounds * 2
    ):
        yield (order_id, _wib(created), _wib(paid), status, amount, method, package)


def _wib(moment: datetime | None) -> str:
    return moment.astimezone(SHOP_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _rows(sql: str, params: tuple) -> list[tuple]:
    return list(database.execute_sql(sql, params).fetchall())
