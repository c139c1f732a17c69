"""A customer's "lost link" request: the access links of their paid orders, queued again to the
very contact they asked with (never shown to whoever asked), at most a few a day."""

from __future__ import annotations

from peewee import fn

from models.audit import record_audit
from models.entitlements import Entitlement
from models.orders import Order
from models.outbox import over_daily_cap, queue_again
from models.payments import order_payload
from models.statuses import Channel, EntitlementStatus, OrderStatus

TEMPLATE = "access_link"
MAX_ORDERS = 3  # a customer with several purchases gets the newest few


def orders_with_access(channel: str, contact: str) -> list[Order]:
    """Paid orders with active access whose checkout used `contact` on `channel`."""
    matches = (
        fn.lower(Order.customer_email) == contact.lower()
        if channel == Channel.EMAIL
        else Order.customer_phone == contact
    )
    return list(
        Order.select(Order, Entitlement)
        .join(Entitlement, on=(Entitlement.order == Order.order_id), attr="entitlement")
        .where(matches & (Order.status == OrderStatus.PAID))
        .where(Entitlement.status == EntitlementStatus.ACTIVE)
        .order_by(Order.paid_at.desc())
        .limit(MAX_ORDERS)
    )


def queue_access_links(channel: str, contact: str) -> list[int]:
    """One outbox row per matching order, to the contact stored on the order; the ids of new rows.

    Call inside a transaction; wake the deliveries after commit.
    """
    new_ids = []
    for order in orders_with_access(channel, contact):
        recipient = order.customer_email if channel == Channel.EMAIL else order.customer_phone
        if over_daily_cap(recipient, TEMPLATE):
            continue
        payload = {**order_payload(order), "access_token": order.entitlement.access_token}
        new_id = queue_again(order.order_id, channel, TEMPLATE, recipient, payload)
        if new_id is not None:
            new_ids.append(new_id)
            record_audit("customer:web", "access_link_requested", order.order_id, channel=channel)
    return new_ids
