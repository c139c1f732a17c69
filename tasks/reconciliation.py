"""Reconciliation, the worker's side: asking the Status API about orders whose notification
may have been lost. The periodic job enqueues the orders due a check (awaiting payment, and
paid orders at the points of their re-check schedule); reconcile_order asks about one and
applies the answer, or expires the order when nothing was ever paid. `./run.sh admin
reconcile` (admin/reconcile.py) runs reconcile_order inline."""

from __future__ import annotations

from datetime import timedelta

from loguru import logger

from integrations.errors import TransactionNotFound
from messaging.contract import RECONCILE, RECONCILE_ORDER
from models.base import utcnow
from models.db import transaction
from models.events import EventSource
from models.orders import Order
from models.payments import apply_status, expired_locally
from models.state_machine import is_awaiting_payment
from models.statuses import AWAITING_PAYMENT, OrderStatus
from tasks.broker import worker_actor
from tasks.clients import AttemptNotFound, status_answer
from tasks.maintenance import BATCH, job_lock
from tasks.periodic import first_requeue, periodic_job
from tasks.services import WorkerServices
from tasks.webhooks import process_notification


@worker_actor(RECONCILE_ORDER, max_retries=5, min_backoff=10_000, max_backoff=300_000)
def reconcile_order(services: WorkerServices, order_id: str) -> None:
    """Asks the Status API about one order and applies the answer (even one seen before);
    expires the order locally only once the window passed and Midtrans has no transaction under
    any of the order's ids, or only a refused attempt. The check counts as done
    (`last_checked_at`) only once Midtrans answered: a timeout or a 5xx leaves a paid order's
    re-check due."""
    try:
        status = status_answer(services.midtrans, order_id)
    except AttemptNotFound:
        record_status_check(order_id)
        logger.warning("Order {}: its reported attempt is not found; not expired", order_id)
        return
    except TransactionNotFound:
        record_status_check(order_id)
        expire_if_due(services, order_id)
        return
    process_notification(services, status, source=EventSource.RECONCILIATION)
    record_status_check(order_id)
    if str(status.get("transaction_status", "")).lower() == "deny":
        # a refused attempt and a closed window: nothing more can come
        expire_if_due(services, order_id)


def record_status_check(order_id: str) -> None:
    """The Status API answered about the order now: the points of its re-check schedule up to
    now are done."""
    Order.update(last_checked_at=utcnow()).where(Order.order_id == order_id).execute()


def expire_if_due(services: WorkerServices, order_id: str) -> None:
    """Nothing paid at Midtrans and the payment window has passed: the order expires."""
    with transaction() as tx:
        order = Order.locked(order_id)
        if order is None or not is_awaiting_payment(order.status):
            return
        if order.expires_at is None or order.expires_at > utcnow():
            return
        applied = apply_status(order, expired_locally(order), actor="reconciliation:expiry")
        tx.callbacks.append(lambda: services.wake_deliveries(applied.outbox_ids))
    logger.info("Order {} expired locally after the Status API found no transaction", order_id)


# (orders younger than this, are asked about this often); the last band has no upper age.
RECONCILE_BANDS = (
    (timedelta(hours=1), timedelta(minutes=2)),
    (timedelta(days=1), timedelta(minutes=15)),
    (None, timedelta(hours=2)),
)


def due_for_status_check(now):
    """The SQL condition for "this order is due a Status API check": young orders often, old
    ones rarely, never-checked ones at once. Decided in the query so a crowd of old orders
    cannot push young ones out of the batch."""
    condition = Order.last_checked_at.is_null()
    younger_than = None
    for age_limit, interval in RECONCILE_BANDS:
        band = Order.last_checked_at <= now - interval
        if age_limit is not None:
            band &= Order.created_at > now - age_limit
        if younger_than is not None:
            band &= Order.created_at <= now - younger_than
        condition |= band
        younger_than = age_limit
    return condition


def paid_recheck_due(now, after_hours: tuple[float, ...]):
    """The SQL condition for "this paid order is due another Status API check": a refund or
    chargeback whose notification was lost must still be seen. Each point of the decaying
    schedule after payment (1 h, 1 day, 7 days, 30 days by default) asks once."""
    offsets = [timedelta(hours=hours) for hours in after_hours]
    condition = Order.paid_at > now - max(offsets) - timedelta(days=7)  # slack for an outage
    points = None
    for offset in offsets:
        point = (Order.paid_at <= now - offset) & (
            Order.last_checked_at.is_null() | (Order.last_checked_at < Order.paid_at + offset)
        )
        points = point if points is None else points | point
    return (Order.status == OrderStatus.PAID) & condition & points


@periodic_job(RECONCILE)
def reconcile(services: WorkerServices) -> None:
    """Enqueues a Status API check for every order awaiting payment that is due one, and for
    recently paid orders at the points of their re-check schedule.

    An awaiting order counts as asked once enqueued (its band asks again anyway). A paid
    order's point counts as done only once the Status API answered (reconcile_order records
    it): a check that failed is asked again after the re-wake claim, so a chargeback due at
    the 30-day point is not lost to an outage."""
    now = utcnow()
    after_hours = services.settings.paid_recheck_after_hours
    with transaction():
        if not job_lock("reconcile"):
            return
        awaiting = _due_order_ids(Order.status.in_(AWAITING_PAYMENT) & due_for_status_check(now))
        rechecks = _due_order_ids(paid_recheck_due(now, after_hours))
        Order.update(last_checked_at=now).where(Order.order_id.in_(awaiting)).execute()
    rechecks = [
        order_id for order_id in rechecks if first_requeue(services.redis, "recheck", order_id)
    ]
    for order_id in awaiting + rechecks:
        services.send(RECONCILE_ORDER, order_id)


def _due_order_ids(condition) -> list[str]:
    """A batch of the due orders, the longest unasked first."""
    query = (
        Order.select(Order.order_id)
        .where(condition)
        .order_by(Order.last_checked_at.asc(nulls="FIRST"))
        .limit(BATCH)
    )
    return [order.order_id for order in query]
