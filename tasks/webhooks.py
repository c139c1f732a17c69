"""Processing Midtrans notifications: store once, ask the Status API, apply the state machine."""

from __future__ import annotations

import dramatiq
from loguru import logger

from integrations.errors import RetryableProviderError, TransactionNotFound
from models.audit import record_audit
from models.base import utcnow
from models.db import transaction
from models.events import PaymentEvent
from models.notification import (
    InvalidNotification,
    MidtransNotification,
    idempotency_key,
    parse_notification,
)
from models.orders import Order
from models.payments import apply_status, decide_for_order, expired_locally
from models.state_machine import is_awaiting_payment
from tasks.broker import settings
from tasks.clients import midtrans
from tasks.payments import enqueue_deliveries


class StatusNotYetVisible(RetryableProviderError):
    """A signed notification exists but the Status API has no transaction yet: ask again."""


@dramatiq.actor(queue_name="webhooks", max_retries=10, min_backoff=5_000, max_backoff=600_000)
def process_notification(raw: dict, source: str = "webhook") -> None:
    """Idempotent: a duplicate notification changes nothing.

    A duplicate for an order still awaiting payment also triggers a Status API check: its key may
    have been taken by a replayed body with a forged status, which must not hide the real one.
    """
    try:
        notification = parse_notification(raw)
    except InvalidNotification as error:
        logger.error("Dropped an unreadable notification: {}", error)
        return
    event_id, is_new = store_event(notification, raw, source)
    if source == "reconciliation":
        process_event(event_id, reapply=True)
        return
    process_event(event_id)
    if not is_new:
        logger.info(
            "Duplicate notification ({}) for event {}", notification.transaction_status, event_id
        )
        _recheck_if_awaiting(notification.order_id)


def _recheck_if_awaiting(order_id: str) -> None:
    order = Order.get_or_none(Order.order_id == order_id)
    if order is not None and is_awaiting_payment(order.status):
        reconcile_order.send(order_id)


@dramatiq.actor(queue_name="maintenance", max_retries=5, min_backoff=10_000, max_backoff=300_000)
def reconcile_order(order_id: str) -> None:
    """Asks the Status API about one order and applies the answer (even one seen before);
    expires the order locally only when Midtrans has no transaction and the window passed."""
    try:
        status = midtrans().transaction_status(order_id)
    except TransactionNotFound:
        expire_if_due(order_id)
        return
    process_notification(status, source="reconciliation")


def expire_if_due(order_id: str) -> None:
    """No transaction at Midtrans and the payment window has passed: the order expires."""
    with transaction() as tx:
        order = Order.locked(order_id)
        if order is None or not is_awaiting_payment(order.status):
            return
        if order.expires_at is None or order.expires_at > utcnow():
            return
        applied = apply_status(order, expired_locally(order), actor="reconciliation:expiry")
        tx.callbacks.append(lambda: enqueue_deliveries(applied.outbox_ids))
    logger.info("Order {} expired locally after the Status API found no transaction", order_id)


@dramatiq.actor(queue_name="webhooks", max_retries=10, min_backoff=5_000, max_backoff=600_000)
def process_stored_event(event_id: int) -> None:
    """Re-runs a stored notification the sweeper found unprocessed."""
    process_event(event_id)


def store_event(notification: MidtransNotification, raw: dict, source: str) -> tuple[int, bool]:
    """Inserts the raw notification once; returns (event id, whether it was new)."""
    key = idempotency_key(notification)
    inserted = list(
        PaymentEvent.insert(
            idempotency_key=key,
            order_id=notification.order_id,
            transaction_id=notification.transaction_id,
            transaction_status=notification.transaction_status,
            fraud_status=notification.fraud_status,
            status_code=notification.status_code,
            gross_amount=notification.gross_amount_text,
            payment_type=notification.payment_type,
            source=source,
            raw=raw,
        )
        .on_conflict_ignore()
        .returning(PaymentEvent.id)
        .execute()
    )
    if inserted:
        return inserted[0].id, True
    return PaymentEvent.get(PaymentEvent.idempotency_key == key).id, False


def process_event(event_id: int, reapply: bool = False) -> None:
    """Applies a stored event once; `reapply` applies a Status API answer seen before again,
    but only when it moves the order (a repeat changes nothing and records nothing)."""
    event = PaymentEvent.get_by_id(event_id)
    if event.processed and not reapply:
        return
    verified = authoritative_status(event)
    with transaction() as tx:
        event = PaymentEvent.select().where(PaymentEvent.id == event_id).for_update().get()
        if event.processed and not reapply:
            return
        order = Order.locked(event.order_id)
        if order is None and event.processed:
            return
        if order is None:
            _finish(event, "flagged_unknown_order", verified, f"unknown order {event.order_id}")
            record_audit(
                f"midtrans:{event.source}",
                "midtrans_flagged_unknown_order",
                event.order_id,
                event_id=event.id,
                flagged=True,
                transaction_status=verified.transaction_status,
            )
            logger.error("Notification for an unknown order; stored and flagged")
            return
        if event.processed and not decide_for_order(order, verified).changed:
            return
        applied = apply_status(order, verified, actor=f"midtrans:{event.source}", event_id=event.id)
        if not event.processed:
            _finish(event, applied.decision.outcome, verified, applied.decision.flag_reason)
        tx.callbacks.append(lambda: enqueue_deliveries(applied.outbox_ids))
    logger.info(
        "Order {}: {} -> {} ({})",
        order.order_id,
        applied.decision.previous_status,
        applied.decision.new_status,
        applied.decision.outcome,
    )


def authoritative_status(event: PaymentEvent) -> MidtransNotification:
    """The Status API's view of the transaction (the body's status is not signed)."""
    if event.source == "reconciliation" or not settings.midtrans_verify_with_status_api:
        return parse_notification(event.raw)
    try:
        return parse_notification(midtrans().transaction_status(event.order_id))
    except TransactionNotFound:
        if Order.get_or_none(Order.order_id == event.order_id) is None:
            return parse_notification(event.raw)  # unknown order: flagged, never applied
        raise StatusNotYetVisible(f"Status API has no transaction for {event.order_id}") from None


def _finish(
    event: PaymentEvent, outcome: str, verified: MidtransNotification, flag_reason: str | None
) -> None:
    PaymentEvent.update(
        processed=True,
        processed_at=utcnow(),
        outcome=outcome,
        verified_status=verified.transaction_status,
        flag_reason=flag_reason,
    ).where(PaymentEvent.id == event.id).execute()
