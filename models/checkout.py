"""Turning a validated checkout request into an order row, priced on the server."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from peewee import fn

from models.base import utcnow
from models.catalog import DiscountCode, Package
from models.events import reports_for
from models.orders import Order
from models.pricing import Discount, Price, price_order
from models.statuses import AWAITING_PAYMENT, OrderStatus


def hash_order_token(order_token: str) -> str:
    """Orders store only a hash of the customer's status token."""
    return hashlib.sha256(order_token.encode()).hexdigest()


def order_token_matches(order: Order, order_token: str) -> bool:
    """Constant-time check of a token given on the status URL."""
    return hmac.compare_digest(order.order_token_hash, hash_order_token(order_token or ""))


# How long a fresh checkout holds a use of a limited code while the customer picks a method on
# Snap: long enough for an honest customer, short enough that a stranger must keep checking out
# (which the per-IP limit and the alarms see) to hold uses (docs/operating.md "Discount codes").
DISCOUNT_HOLD_MINUTES = 30


def uses_its_code():
    """Which orders count as a use of their discount code: the paid ones, those being paid
    (Midtrans reported a payment attempt) and fresh checkouts still within the hold. A checkout
    nobody went on to pay frees its use once the hold lapses; an expired or failed order too."""
    awaiting = Order.status.in_(AWAITING_PAYMENT)
    being_paid = fn.EXISTS(reports_for(Order.order_id))
    held = Order.created_at > utcnow() - timedelta(minutes=DISCOUNT_HOLD_MINUTES)
    return (Order.status == OrderStatus.PAID) | (awaiting & (being_paid | held))


def discount_uses(code: str) -> int:
    return Order.select().where((Order.discount_code == code) & uses_its_code()).count()


def usable_discount(code: str | None, package_id: str, lock: bool = False) -> DiscountCode | None:
    """The active discount for this package, within its validity window and under its cap, or
    None. `lock` (the worker's order insert) holds the row to the end of the transaction, so
    order inserts read the count one at a time; the web only asks, without a lock. A new order
    holds its use for DISCOUNT_HOLD_MINUTES, so two checkouts cannot both take the last use;
    only a customer who stays on Snap longer than the hold can overshoot the cap."""
    if not code:
        return None
    query = DiscountCode.select().where(
        (fn.upper(DiscountCode.code) == code.upper()) & DiscountCode.active
    )
    discount = (query.for_update() if lock else query).first()
    if discount is None or (discount.package_id and discount.package_id != package_id):
        return None
    now = utcnow()
    if discount.valid_from is not None and discount.valid_from > now:
        return None
    if discount.valid_until is not None and discount.valid_until <= now:
        return None
    if discount.max_uses is not None and discount_uses(discount.code) >= discount.max_uses:
        return None
    return discount


def price_for(package: Package, discount: DiscountCode | None) -> Price:
    """The server's price for one package with an optional discount row."""
    rule = Discount(discount.code, discount.percent_off, discount.amount_off) if discount else None
    return price_order(package.price_idr, rule)


def insert_order(request: dict, expiry_minutes: int, package: Package | None = None) -> bool:
    """Inserts the order once (idempotent on order_id); True when this call created it.
    `package` is the request's package when the caller has read it already."""
    package = package or Package.get_by_id(request["package_id"])
    discount = usable_discount(request.get("discount_code"), package.package_id, lock=True)
    price = price_for(package, discount)
    created_at = utcnow()  # one clock reading: Snap's expiry window is exactly expiry_minutes
    inserted = (
        Order.insert(
            order_id=request["order_id"],
            order_token_hash=request["order_token_hash"],
            package=package.package_id,
            customer_name=request["name"],
            customer_email=request["email"],
            customer_phone=request["phone"],
            discount_code=discount.code if discount else None,
            base_amount=price.base_amount,
            discount_amount=price.discount_amount,
            final_amount=price.final_amount,
            created_at=created_at,
            expires_at=created_at + timedelta(minutes=expiry_minutes),
        )
        .on_conflict_ignore()
        .returning(Order.order_id)
        .execute()
    )
    return bool(list(inserted))
