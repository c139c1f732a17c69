"""Processing Midtrans notifications: store once, ask the Status API, apply the state machine."""

from __future__ import annotations

from loguru import logger

from integrations.errors import RetryableProviderError, TransactionNotFound
from messaging.contract import PROCESS_NOTIFICATION, PROCESS_STORED_EVENT, RECONCILE_ORDER
from models.audit import record_audit
from models.base import utcnow
from models.db import transaction
from models.events import PaymentEvent, finish_event, locked_event, store_event
from models.midtrans_status import InvalidNotification, MidtransNotification, parse_notification
from models.orders import Order
from models.payments import apply_status, decide_for_order, expired_locally
from models.state_machine import is_awaiting_payment
from tasks.broker import worker_actor
from tasks.delivery import wake_deliveries
from tasks.services import services


class StatusNotYetVisible(RetryableProviderError):
    """A signed notification exists but the Status API has no transaction yet: ask again."""


@worker_actor(PROCESS_NOTIFICATION, max_retries=10, min_backoff=5_000, max_backoff=600_000)
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
        services().send(RECONCILE_ORDER, order_id)


@worker_actor(RECONCILE_ORDER, max_retries=5, min_backoff=10_000, max_backoff=300_000)
def reconcile_order(order_id: str) -> None:
    """Asks the Status API about one order and applies the answer (even one seen before);
    expires the order locally only when Midtrans has no transaction and the window passed."""
    try:
        status = services().midtrans.transaction_status(order_id)
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
        tx.callbacks.append(lambda: wake_deliveries(applied.outbox_ids))
    logger.info("Order {} expired locally after the Status API found no transaction", order_id)


@worker_actor(PROCESS_STORED_EVENT, max_retries=10, min_backoff=5_000, max_backoff=600_000)
def process_stored_event(event_id: int) -> None:
    """Re-runs a stored notification the sweeper found unprocessed."""
    process_event(event_id)


def process_event(event_id: int, reapply: bool = False) -> None:
    """Applies a stored event once; `reapply` applies a Status API answer seen before again,
    but only when it moves the order (a repeat changes nothing and records nothing)."""
    event = PaymentEvent.get_by_id(event_id)
    if event.processed and not reapply:
        return
    verified = authoritative_status(event)
    with transaction() as tx:
        event = locked_event(event_id)
        if event.processed and not reapply:
            return
        order = Order.locked(event.order_id)
        if order is None and event.processed:
            return
        if order is None:
            _flag_unknown_order(event, verified)
            return
        if event.processed and not decide_for_order(order, verified).changed:
            return
        applied = apply_status(order, verified, actor=f"midtrans:{event.source}", event_id=event.id)
        if not event.processed:
            finish_event(event, applied.decision.outcome, verified, applied.decision.flag_reason)
        tx.callbacks.append(lambda: wake_deliveries(applied.outbox_ids))
    logger.info(
        "Order {}: {} -> {} ({})",
        order.order_id,
        applied.decision.previous_status,
        applied.decision.new_status,
        applied.decision.outcome,
    )


def _flag_unknown_order(event: PaymentEvent, verified: MidtransNotification) -> None:
    finish_event(event, "flagged_unknown_order", verified, f"unknown order {event.order_id}")
    record_audit(
        f"midtrans:{event.source}",
        "midtrans_flagged_unknown_order",
        event.order_id,
        event_id=event.id,
        flagged=True,
        transaction_status=verified.transaction_status,
    )
    logger.error("Notification for an unknown order; stored and flagged")


def authoritative_status(event: PaymentEvent) -> MidtransNotification:
    """The Status API's view of the transaction (the body's status is not signed)."""
    if event.source == "reconciliation" or not services().settings.midtrans_verify_with_status_api:
        return parse_notification(event.raw)
    try:
        return parse_notification(services().midtrans.transaction_status(event.order_id))
    except TransactionNotFound:
        if Order.get_or_none(Order.order_id == event.order_id) is None:
            return parse_notification(event.raw)  # unknown order: flagged, never applied
        raise StatusNotYetVisible(f"Status API has no transaction for {event.order_id}") from None
