"""Work the sweeper gave up on. Each sweep that re-enqueues a stuck item (an order without a
payment link, a stored notification not processed) counts; at the limit the item is parked:
flagged in the audit log, raised as the `parked_work` alarm and listed for the operator, who
puts it back (`./run.sh admin dead-letters requeue --parked`) once the cause is fixed."""

from __future__ import annotations

from datetime import datetime

from peewee import Case

from models.audit import record_audit
from models.events import PaymentEvent
from models.orders import Order
from models.statuses import OrderStatus

SWEEPER = "sweeper"


def count_sweep(model, key, ids: list, park_after: int, now: datetime) -> list:
    """One more sweep for each item in `ids`; returns the keys of those it parks."""
    if not ids:
        return []
    reaches_limit = model.sweep_count + 1 >= park_after
    rows = (
        model.update(
            sweep_count=model.sweep_count + 1,
            parked_at=Case(None, [(reaches_limit, now)], None),
        )
        .where(key.in_(ids))
        .returning(key, model.parked_at)
        .execute()
    )
    return [getattr(row, key.name) for row in rows if row.parked_at is not None]


def park_swept(
    order_ids: list[str], event_ids: list[int], park_after: int, now: datetime
) -> tuple[list[str], list[int]]:
    """Counts this sweep for the items about to be re-enqueued; returns (orders, events) parked
    instead, each audited and flagged. Call inside a transaction."""
    orders = count_sweep(Order, Order.order_id, order_ids, park_after, now)
    events = count_sweep(PaymentEvent, PaymentEvent.id, event_ids, park_after, now)
    for order_id in orders:
        record_audit(
            SWEEPER, "work_parked", order_id, flagged=True, kind="order", sweeps=park_after
        )
    for event in PaymentEvent.select().where(PaymentEvent.id.in_(events)):
        record_audit(
            SWEEPER,
            "work_parked",
            event.order_id,
            flagged=True,
            kind="notification",
            event_id=event.id,
            sweeps=park_after,
        )
    return orders, events


def parked_orders():
    """Orders still without a payment link that the sweeper stopped retrying."""
    return Order.select().where(
        Order.parked_at.is_null(False) & (Order.status == OrderStatus.CREATED)
    )


def parked_events():
    """Stored notifications still unprocessed that the sweeper stopped retrying."""
    return PaymentEvent.select().where(
        PaymentEvent.parked_at.is_null(False) & ~PaymentEvent.processed
    )


def unpark_all(actor: str) -> tuple[int, int]:
    """Puts every parked item back in the sweeper's hands, audited; returns (orders, events).
    Call inside a transaction."""
    orders = (
        Order.update(sweep_count=0, parked_at=None).where(Order.parked_at.is_null(False)).execute()
    )
    events = (
        PaymentEvent.update(sweep_count=0, parked_at=None)
        .where(PaymentEvent.parked_at.is_null(False))
        .execute()
    )
    if orders or events:
        record_audit(actor, "parked_work_requeued", None, orders=orders, notifications=events)
    return orders, events
