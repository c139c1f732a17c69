"""The orders list: search by order id, email or phone; filter by status and date; paginated."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta

import falcon
from peewee import fn

from models.base import SHOP_TIMEZONE
from models.order_rows import iso, order_summary, page_count
from models.order_story import order_number_part
from models.orders import Order
from models.statuses import ORDER_STATUSES
from web.admin.params import day_param, page_param, refuse_unknown, text_param
from web.validation import InvalidField, clean_phone

PAGE_SIZE = 50
FILTER_PARAMS = ("q", "status", "since", "until", "page")


@dataclass(frozen=True)
class OrderFilters:
    query: str = ""
    status: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1

    def as_dict(self) -> dict:
        shown = asdict(self)
        shown.update(since=iso(self.since), until=iso(self.until))
        return shown


def filters_from(req: falcon.Request) -> OrderFilters:
    """Reads and checks the query string; a bad or unknown parameter is a 400 naming it."""
    refuse_unknown(req, FILTER_PARAMS)
    status = text_param(req, "status", 20).upper()
    if status and status not in ORDER_STATUSES:
        allowed = ", ".join(ORDER_STATUSES)
        raise falcon.HTTPBadRequest(title=f"status harus salah satu dari {allowed}")
    return OrderFilters(
        text_param(req, "q", 100),
        status,
        day_param(req, "since"),
        day_param(req, "until"),
        page_param(req),
    )


def _phone_or_none(text: str) -> str | None:
    try:
        return clean_phone(text)
    except InvalidField:
        return None


def _matching(query: str):
    """An email matches exactly (any case), a phone in any Indonesian spelling, else any part of
    an order number in any case (read out on the phone, `7k3m` finds `BFA-...-7K3M-...`)."""
    if "@" in query:
        return fn.lower(Order.customer_email) == query.lower()
    by_order_id = order_number_part(query)
    phone = _phone_or_none(query)
    if phone is None:
        return by_order_id
    return by_order_id | Order.customer_phone.in_([phone, query])


def _wib_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHOP_TIMEZONE)


def _conditions(filters: OrderFilters) -> list:
    conditions = []
    if filters.query:
        conditions.append(_matching(filters.query))
    if filters.status:
        conditions.append(Order.status == filters.status)
    if filters.since:
        conditions.append(Order.created_at >= _wib_midnight(filters.since))
    if filters.until:
        conditions.append(Order.created_at < _wib_midnight(filters.until + timedelta(days=1)))
    return conditions


def search_orders(filters: OrderFilters) -> dict:
    """One page of matching orders, newest first, with the total; dates are WIB days."""
    query = Order.select()
    for condition in _conditions(filters):
        query = query.where(condition)
    total = query.count()
    rows = query.order_by(Order.created_at.desc()).paginate(filters.page, PAGE_SIZE)
    return {
        "orders": [order_summary(order) for order in rows],
        "total": total,
        "page": filters.page,
        "pages": page_count(total, PAGE_SIZE),
        "filters": filters.as_dict(),
        "statuses": list(ORDER_STATUSES),
    }
