"""Periodic jobs: the sweeper re-enqueues unfinished work; reconciliation asks Midtrans.

Each job takes a transaction-scoped advisory lock, so two schedulers started by mistake
cannot run the same job twice at once.
"""

from __future__ import annotations

from datetime import timedelta

from loguru import logger
from peewee import SQL, fn

from messaging.contract import (
    CREATE_PAYMENT,
    PROCESS_STORED_EVENT,
    RECONCILE,
    RECONCILE_ORDER,
    SWEEP,
    sweep_claim_key,
)
from models.base import utcnow
from models.db import database, transaction
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.forget import complete_forget, pending_erasures
from models.orders import Order
from models.parked import park_swept
from models.payments import grant_access
from models.retention import apply_retention
from models.statuses import AWAITING_PAYMENT, OrderStatus
from tasks.delivery import requeue_due_deliveries, wake_deliveries
from tasks.periodic import first_requeue, periodic_job
from tasks.services import services

SWEEP_GRACE = timedelta(minutes=1)
REPAIR_WINDOW = timedelta(days=2)
PERSONAL_DATA_EVERY_SECONDS = 300
BATCH = 200
_LOCK_KEYS = {"sweep": 7_100_001, "reconcile": 7_100_002}


def _job_lock(name: str) -> bool:
    """True when this transaction holds the job's lock (released at commit)."""
    cursor = database.execute_sql("SELECT pg_try_advisory_xact_lock(%s)", (_LOCK_KEYS[name],))
    return bool(cursor.fetchone()[0])


def order_request(order: Order) -> dict:
    """Rebuilds the checkout message from a stored order, for orders stuck in CREATED."""
    return {
        "order_id": order.order_id,
        "order_token_hash": order.order_token_hash,
        "package_id": order.package_id,
        "name": order.customer_name,
        "email": order.customer_email,
        "phone": order.customer_phone,
        "discount_code": order.discount_code,
    }


@periodic_job(SWEEP)
def sweep() -> None:
    """Re-enqueues what should have happened by now and repairs paid orders without access."""
    now = utcnow()
    cutoff = now - SWEEP_GRACE
    with transaction() as tx:
        if not _job_lock("sweep"):
            return
        stuck_orders = list(
            Order.select()
            .where(
                (Order.status == OrderStatus.CREATED)
                & Order.redirect_url.is_null()
                & Order.parked_at.is_null()
                & (Order.created_at < cutoff)
                & (Order.expires_at > now)
            )
            .limit(BATCH)
        )
        stale_events = [
            event.id
            for event in PaymentEvent.select(PaymentEvent.id)
            .where(
                ~PaymentEvent.processed
                & PaymentEvent.parked_at.is_null()
                & (PaymentEvent.received_at < cutoff)
            )
            .limit(BATCH)
        ]
        repaired = repair_missing_entitlements(now)
        tx.callbacks.append(lambda: wake_deliveries(repaired))
    stuck_orders = [order for order in stuck_orders if first_requeue("order", order.order_id)]
    stale_events = [event_id for event_id in stale_events if first_requeue("event", event_id)]
    stuck_orders, stale_events = _skip_parked(stuck_orders, stale_events, now)
    for order in stuck_orders:
        services().send(CREATE_PAYMENT, order_request(order))
    for event_id in stale_events:
        services().send(PROCESS_STORED_EVENT, event_id)
    requeue_due_deliveries()
    personal_data_upkeep(now)
    if stuck_orders or stale_events or repaired:
        logger.warning(
            "Sweeper re-enqueued {} orders, {} notifications; {} access repairs",
            len(stuck_orders),
            len(stale_events),
            len(repaired),
        )


def personal_data_upkeep(now) -> None:
    """At most every 5 minutes: erases the forget requests whose goodbye message is delivered
    or given up, and applies the retention rules (models/retention.py)."""
    claim = sweep_claim_key("personal-data", "upkeep")
    if not services().redis.set(claim, 1, nx=True, ex=PERSONAL_DATA_EVERY_SECONDS):
        return
    for order_id in pending_erasures():
        with transaction():
            complete_forget(order_id, "worker:sweeper")
    settings = services().settings
    changed = apply_retention(
        settings.retention_unpaid_days, settings.retention_message_body_days, now
    )
    if any(changed.values()):
        logger.info(
            "Retention: {} unpaid orders pseudonymised, {} message bodies emptied",
            changed["unpaid_orders"],
            changed["message_bodies"],
        )


def _skip_parked(orders: list[Order], event_ids: list[int], now) -> tuple[list, list]:
    """Counts this sweep; what reached the limit is parked for an operator, not re-enqueued."""
    park_after = services().settings.sweep_park_after
    with transaction():
        parked_orders, parked_events = park_swept(
            [order.order_id for order in orders], event_ids, park_after, now
        )
    if parked_orders or parked_events:
        logger.error(
            "Parked after {} sweeps: orders {}, notifications {} (see the parked_work alarm)",
            park_after,
            parked_orders,
            parked_events,
        )
    return (
        [order for order in orders if order.order_id not in parked_orders],
        [event_id for event_id in event_ids if event_id not in parked_events],
    )


def repair_missing_entitlements(now) -> list[int]:
    """PAID orders without an entitlement get one (and their success messages).

    Only orders paid within REPAIR_WINDOW are scanned, through the paid_at index, so a sweep
    costs the same however many orders the shop has sold; an older one (which the sweeper would
    have repaired within a minute of its payment) is raised by the paid_without_access alarm."""
    granted = Entitlement.select(SQL("1")).where(Entitlement.order == Order.order_id)
    missing = (
        Order.select()
        .where(
            (Order.status == OrderStatus.PAID)
            & (Order.paid_at > now - REPAIR_WINDOW)
            & ~fn.EXISTS(granted)  # an anti-join probing the entitlement's unique key
        )
        .limit(BATCH)
    )
    outbox_ids = []
    for order in missing:
        logger.error("PAID order {} had no entitlement; granting it now", order.order_id)
        outbox_ids += grant_access(Order.locked(order.order_id))
    return outbox_ids


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
def reconcile() -> None:
    """Enqueues a Status API check for every order awaiting payment that is due one, and for
    recently paid orders at the points of their re-check schedule."""
    now = utcnow()
    after_hours = services().settings.paid_recheck_after_hours
    with transaction():
        if not _job_lock("reconcile"):
            return
        due = _due_order_ids(Order.status.in_(AWAITING_PAYMENT) & due_for_status_check(now))
        due += _due_order_ids(paid_recheck_due(now, after_hours))
        Order.update(last_checked_at=now).where(Order.order_id.in_(due)).execute()
    for order_id in due:
        services().send(RECONCILE_ORDER, order_id)


def _due_order_ids(condition) -> list[str]:
    """A batch of the due orders, the longest unasked first."""
    query = (
        Order.select(Order.order_id)
        .where(condition)
        .order_by(Order.last_checked_at.asc(nulls="FIRST"))
        .limit(BATCH)
    )
    return [order.order_id for order in query]
