"""How long personal data is kept when its purpose has passed (UU PDP: the retention period).

- An unpaid order (FAILED, EXPIRED) keeps its contact details RETENTION_UNPAID_DAYS after it
  ended (its last status change), in case the customer asks about it; then its name, email and
  phone are pseudonymised in all its rows, as `forget` does for one order.
- A finished message (SENT, FAILED, DLQ) keeps its body (the outbox payload: name, links)
  RETENTION_MESSAGE_BODY_DAYS, for support questions; then the payload is emptied.
Paid and refunded orders keep their contact while the course access they bought lasts; the
customer ends that with `forget`. The sweeper runs both rules: idempotent, in batches, one
transaction per batch."""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import SQL

from models.audit import record_audit
from models.db import transaction
from models.erasure import Erasure, new_placeholders, pseudonymise_orders
from models.orders import Order
from models.outbox import OutboxMessage
from models.personal_data import not_pseudonymised
from models.statuses import OrderStatus, OutboxStatus

BATCH = 200
MAX_BATCHES = 20  # per run (~1 s a batch): a backlog, e.g. an old shop's first run, spreads out
ENDED_UNPAID = (OrderStatus.FAILED, OrderStatus.EXPIRED)
FINISHED_MESSAGES = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DLQ)
ACTOR = "worker:retention"


def apply_retention(unpaid_days: int, message_body_days: int, now: datetime) -> dict[str, int]:
    """Both rules, batch by batch; how many orders and message bodies each one changed."""
    return {
        "unpaid_orders": _in_batches(lambda: expire_unpaid_contacts(unpaid_days, now)),
        "message_bodies": _in_batches(lambda: empty_message_bodies(message_body_days, now)),
    }


def _in_batches(run_batch) -> int:
    total = 0
    for _ in range(MAX_BATCHES):
        with transaction():
            changed = run_batch()
        total += changed
        if changed < BATCH:
            break
    return total


def expire_unpaid_contacts(days: int, now: datetime) -> int:
    """One batch of unpaid orders past retention pseudonymised; how many. Inside a transaction."""
    cutoff = now - timedelta(days=days)
    orders = list(
        Order.select()
        .where(
            Order.status.in_(ENDED_UNPAID)
            & (Order.created_at < cutoff)  # the status index narrows the scan first
            & (Order.updated_at < cutoff)
            & not_pseudonymised()
        )
        .order_by(Order.updated_at)
        .limit(BATCH)
        .for_update(skip_locked=True)
    )
    for order in orders:
        record_audit(ACTOR, "contact_details_expired", order.order_id, after_days=days)
    pseudonymise_orders([_own_erasure(order) for order in orders])
    return len(orders)


def _own_erasure(order: Order) -> Erasure:
    """Only this order's own values, in its own rows: the same person may have a paid order
    whose contact must keep working."""
    return Erasure(
        order.order_id,
        (order.customer_email,),
        (order.customer_phone,),
        (order.customer_name,),
        new_placeholders(),
    )


def empty_message_bodies(days: int, now: datetime) -> int:
    """One batch of finished messages past retention emptied; how many. Inside a transaction."""
    due = (
        OutboxMessage.select(OutboxMessage.id)
        .where(
            OutboxMessage.status.in_(FINISHED_MESSAGES)
            & (OutboxMessage.updated_at < now - timedelta(days=days))
            & SQL("payload <> '{}'::jsonb")
        )
        .limit(BATCH)
        .for_update(skip_locked=True)
    )
    ids = [row.id for row in due]
    if ids:
        OutboxMessage.update(payload={}).where(OutboxMessage.id.in_(ids)).execute()
    return len(ids)
