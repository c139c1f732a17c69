"""Receipts (kuitansi): the number a paid order gets, and what its receipt shows.

A number is `KW/<year>/<6 digits>`, sequential per WIB year of payment and gap-free: the year's
`receipt_counters` row is upserted (so locked) in the very transaction that makes the order PAID,
so a rolled-back payment gives its number back and concurrent payments queue on that row. An
order keeps its number for good (refunded, then paid again: the same number)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.base import SHOP_TIMEZONE
from models.db import database
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.midtrans_status import InvalidNotification, parse_idr, parse_notification
from models.orders import Order
from models.pricing import format_idr
from models.statuses import OrderStatus
from models.wib import indonesian_date, indonesian_time

RECEIPT_PREFIX = "KW"
_NEXT_NUMBER_SQL = """
INSERT INTO receipt_counters (year, last_number) VALUES (%s, 1)
ON CONFLICT (year) DO UPDATE SET last_number = receipt_counters.last_number + 1
RETURNING last_number
"""
PAYMENT_STATUSES = ("settlement", "capture")
REFUND_STATUSES = ("refund", "partial_refund")
# How a payment type reads on a receipt when its notification names no bank or store.
METHOD_NAMES = {
    "credit_card": "Kartu kredit/debit",
    "bank_transfer": "Virtual Account",
    "echannel": "Mandiri Bill",
    "qris": "QRIS",
    "gopay": "GoPay",
    "shopeepay": "ShopeePay",
    "dana": "DANA",
    "ovo": "OVO",
    "cstore": "Gerai retail",
    "akulaku": "Akulaku",
    "kredivo": "Kredivo",
}


def format_receipt_number(year: int, number: int) -> str:
    return f"{RECEIPT_PREFIX}/{year}/{number:06d}"


def next_receipt_number(paid_at: datetime) -> str:
    """The next number of the WIB year of `paid_at`; call only inside the transaction that makes
    the order PAID (the counter row stays locked until it commits)."""
    year = paid_at.astimezone(SHOP_TIMEZONE).year
    cursor = database.execute_sql(_NEXT_NUMBER_SQL, (year,))
    return format_receipt_number(year, cursor.fetchone()[0])


@dataclass(frozen=True)
class Refund:
    amount_text: str
    date_text: str


@dataclass(frozen=True)
class Receipt:
    """Everything a receipt page or PDF shows; `number` is None while the order is unpaid."""

    number: str | None
    order_id: str
    customer_name: str
    customer_email: str
    package_name: str
    base_amount_text: str
    discount_code: str | None
    discount_amount_text: str | None
    amount_text: str
    method: str
    paid_at_text: str
    refund: Refund | None
    fully_refunded: bool


def receipt_for(access_token: str) -> Receipt | None:
    """The receipt behind a course access link; None for a link nobody holds."""
    entitlement = Entitlement.get_or_none(Entitlement.access_token == access_token)
    if entitlement is None:
        return None
    order = entitlement.order
    reports = list(
        PaymentEvent.select()
        .where(PaymentEvent.order_id == order.order_id)
        .order_by(PaymentEvent.received_at)
    )
    return Receipt(
        number=order.receipt_number,
        order_id=order.order_id,
        customer_name=order.customer_name,
        customer_email=order.customer_email,
        package_name=entitlement.package.name,
        base_amount_text=format_idr(order.base_amount),
        discount_code=order.discount_code,
        discount_amount_text=format_idr(order.discount_amount) if order.discount_amount else None,
        amount_text=format_idr(order.final_amount),
        method=payment_method(reports),
        paid_at_text=indonesian_time(order.paid_at.isoformat()) if order.paid_at else "",
        refund=refund_of(order, reports),
        fully_refunded=order.status == OrderStatus.REFUNDED,
    )


def _parsed(event: PaymentEvent):
    try:
        return parse_notification(event.raw)
    except InvalidNotification:
        return None


def payment_method(reports: list[PaymentEvent]) -> str:
    """The method of the payment Midtrans reported, with its bank or store when named (the
    pending report names them, the settlement often does not)."""
    paid = [event for event in reports if event.transaction_status in PAYMENT_STATUSES]
    if not paid:
        return "-"
    same_transaction = [e for e in reports if e.transaction_id == paid[-1].transaction_id]
    parsed = [_parsed(event) for event in same_transaction]
    channels = [status.payment_channel for status in parsed if status and status.payment_channel]
    if channels:
        return channels[-1]
    payment_type = paid[-1].payment_type or ""
    return METHOD_NAMES.get(payment_type, payment_type.replace("_", " ").title() or "-")


def refund_of(order: Order, reports: list[PaymentEvent]) -> Refund | None:
    """What Midtrans reported refunded (every refund listed in its latest report), and when;
    a REFUNDED order without an amount named counts as refunded in full."""
    refunds = [event for event in reports if event.transaction_status in REFUND_STATUSES]
    if not refunds and order.status != OrderStatus.REFUNDED:
        return None
    latest = _parsed(refunds[-1]) if refunds else None
    amounts = [parse_idr(amount) for _, _, amount in latest.refunds] if latest else []
    total = sum(amount for amount in amounts if amount) or order.final_amount
    when = refunds[-1].received_at if refunds else order.updated_at
    return Refund(amount_text=format_idr(total), date_text=indonesian_date(when))
