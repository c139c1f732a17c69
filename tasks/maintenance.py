"""The sweeper, a periodic job: re-enqueues unfinished work and repairs paid orders without
access (reconciliation, the other periodic job that asks Midtrans, is tasks/reconciliation.py).

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
    SWEEP,
    sweep_claim_key,
)
from models.base import utcnow
from models.db import database, transaction
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.forget import pending_erasures
from models.orders import Order
from models.parked import park_swept
from models.payment_reminders import due_reminders, queue_reminder
from models.payments import grant_access
from models.retention import apply_retention
from models.statuses import OrderStatus
from tasks.delivery import requeue_due_deliveries
from tasks.operations.person import finish_forget
from tasks.periodic import first_requeue, periodic_job
from tasks.services import WorkerServices

SWEEP_GRACE = timedelta(minutes=1)
REPAIR_WINDOW = timedelta(days=2)
PERSONAL_DATA_EVERY_SECONDS = 300
BATCH = 200
_LOCK_KEYS = {"sweep": 7_100_001, "reconcile": 7_100_002}


def job_lock(name: str) -> bool:
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
def sweep(services: WorkerServices) -> None:
    """Re-enqueues what should have happened by now and repairs paid orders without access."""
    now = utcnow()
    cutoff = now - SWEEP_GRACE
    with transaction() as tx:
        if not job_lock("sweep"):
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
        tx.callbacks.append(lambda: services.wake_deliveries(repaired))
    claimed = services.redis
    stuck_orders = [
        order for order in stuck_orders if first_requeue(claimed, "order", order.order_id)
    ]
    stale_events = [
        event_id for event_id in stale_events if first_requeue(claimed, "event", event_id)
    ]
    park_after = services.settings.sweep_park_after
    stuck_orders, stale_events = _skip_parked(stuck_orders, stale_events, park_after, now)
    for order in stuck_orders:
        services.send(CREATE_PAYMENT, order_request(order))
    for event_id in stale_events:
        services.send(PROCESS_STORED_EVENT, event_id)
    requeue_due_deliveries(services)
    remind_due_payments(services, now)
    personal_data_upkeep(services, now)
    if stuck_orders or stale_events or repaired:
        logger.warning(
            "Sweeper re-enqueued {} orders, {} notifications; {} access repairs",
            len(stuck_orders),
            len(stale_events),
            len(repaired),
        )


def remind_due_payments(services: WorkerServices, now) -> None:
    """Queues the one payment reminder of each order now due for it (models.payment_reminders);
    an order the per-recipient cap kept from its reminder is tried again at most every 5
    minutes, as the sweeper does with any stuck item."""
    hours_before = services.settings.delivery.payment_reminder_hours_before
    if not hours_before:
        return
    due = due_reminders(now, timedelta(hours=hours_before), BATCH)
    due = [order_id for order_id in due if first_requeue(services.redis, "reminder", order_id)]
    outbox_ids: list[int] = []
    with transaction() as tx:
        for order_id in due:
            outbox_ids += queue_reminder(order_id)
        tx.callbacks.append(lambda: services.wake_deliveries(outbox_ids))
    if outbox_ids:
        logger.info("Queued {} payment reminder messages", len(outbox_ids))


def personal_data_upkeep(services: WorkerServices, now) -> None:
    """At most every 5 minutes: erases the forget requests whose goodbye message is delivered
    or given up, and applies the retention rules (models/retention.py)."""
    claim = sweep_claim_key("personal-data", "upkeep")
    if not services.redis.set(claim, 1, nx=True, ex=PERSONAL_DATA_EVERY_SECONDS):
        return
    for order_id in pending_erasures():
        finish_forget("worker:sweeper", order_id)
    retention = services.settings.retention
    changed = apply_retention(retention.unpaid_days, retention.message_body_days, now)
    if any(changed.values()):
        logger.info(
            "Retention: {} unpaid orders pseudonymised, {} message bodies emptied",
            changed["unpaid_orders"],
            changed["message_bodies"],
        )


def _skip_parked(
    orders: list[Order], event_ids: list[int], park_after: int, now
) -> tuple[list, list]:
    """Counts this sweep; what reached the limit is parked for an operator, not re-enqueued."""
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
