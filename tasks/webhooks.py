"""Processing Midtrans' payment notifications: store once, ask the Status API, apply the state
machine."""

from __future__ import annotations

import dataclasses

from loguru import logger

from integrations.errors import RetryableProviderError, TransactionNotFound
from messaging.contract import PROCESS_NOTIFICATION, PROCESS_STORED_EVENT, RECONCILE_ORDER
from models.audit import record_audit
from models.db import transaction
from models.events import (
    EventSource,
    PaymentEvent,
    finish_event,
    locked_event,
    store_event,
)
from models.midtrans_status import (
    InvalidNotification,
    MidtransNotification,
    is_earlier_step,
    parse_notification,
)
from models.orders import Order, PaymentAttempt
from models.payments import apply_status, decide_for_order
from models.state_machine import is_awaiting_payment
from tasks.broker import worker_actor
from tasks.clients import status_answer
from tasks.services import WorkerServices


class StatusNotYetVisible(RetryableProviderError):
    """A signed notification exists but the Status API has no transaction yet: ask again."""


@worker_actor(PROCESS_NOTIFICATION, max_retries=10, min_backoff=5_000, max_backoff=600_000)
def process_notification(
    services: WorkerServices, raw: dict, source: str = EventSource.WEBHOOK
) -> None:
    """Idempotent: a duplicate notification changes nothing.

    A duplicate may be hiding a real status: its key (built from the unsigned body) may have been
    taken earlier by a replayed body relabelled with this status. So a duplicate triggers a Status
    API check when the order still awaits payment, or when the stored event's verified status is
    not the status this body claims.
    """
    try:
        notification = parse_notification(raw)
    except InvalidNotification as error:
        logger.error("Dropped an unreadable notification: {}", error)
        return
    event, is_new = store_event(notification, raw, source)
    if source == EventSource.RECONCILIATION:
        process_event(services, event, reapply=True)
        return
    process_event(services, event)
    if not is_new:
        logger.info(
            "Duplicate notification ({}) for event {}", notification.transaction_status, event.id
        )
        _recheck_if_hidden(services, event.id, notification)


def _recheck_if_hidden(
    services: WorkerServices, event_id: int, notification: MidtransNotification
) -> None:
    order = Order.get_or_none(Order.order_id == notification.order_id)
    if order is None:
        return
    stored = PaymentEvent.get_by_id(event_id)
    if (
        is_awaiting_payment(order.status)
        or stored.verified_status != notification.transaction_status
    ):
        services.send(RECONCILE_ORDER, notification.order_id)


@worker_actor(PROCESS_STORED_EVENT, max_retries=10, min_backoff=5_000, max_backoff=600_000)
def process_stored_event(services: WorkerServices, event_id: int) -> None:
    """Re-runs a stored notification the sweeper found unprocessed."""
    process_event(services, PaymentEvent.get_by_id(event_id))


def process_event(services: WorkerServices, event: PaymentEvent, reapply: bool = False) -> None:
    """Applies a stored event once; `reapply` applies a Status API answer seen before again,
    but only when it moves the order (a repeat changes nothing and records nothing). `event` is
    the row as read before the Status API call; it is read again, locked, to decide."""
    if event.processed and not reapply:
        return
    verified = authoritative_status(services, event)
    with transaction() as tx:
        event = locked_event(event.id)
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
        disagreement = None if event.processed else _disagreement(order, event, verified)
        applied = apply_status(order, verified, actor=f"midtrans:{event.source}", event_id=event.id)
        if asked_status_api(services, event):
            record_verification(order, verified)
        if disagreement:
            _flag_disagreement(event, disagreement)
        if not event.processed:
            reasons = [reason for reason in (applied.decision.flag_reason, disagreement) if reason]
            finish_event(event, applied.decision.outcome, verified, "; ".join(reasons) or None)
        tx.callbacks.append(lambda: services.wake_deliveries(applied.outbox_ids))
    logger.info(
        "Order {}: {} -> {} ({})",
        order.order_id,
        applied.decision.previous_status,
        applied.decision.new_status,
        applied.decision.outcome,
    )


def _disagreement(order: Order, event: PaymentEvent, verified: MidtransNotification) -> str | None:
    """Why the body's unsigned claim matters, when it would have done something else to the
    order than the Status API's answer does. A claim of a step the transaction has since passed
    (a `pending` processed after Midtrans settled, behind a queue backlog) is only late: the
    Status API's answer is applied and nothing is flagged."""
    if event.source != EventSource.WEBHOOK:
        return None
    if event.transaction_status == verified.transaction_status:
        return None
    if is_earlier_step(event.transaction_status, verified.transaction_status):
        return None
    claimed = decide_for_order(order, parse_notification(event.raw))
    actual = decide_for_order(order, verified)
    if (claimed.new_status, claimed.effects) == (actual.new_status, actual.effects):
        return None
    return (
        f"the notification said {event.transaction_status!r}, "
        f"the Status API says {verified.transaction_status!r}"
    )


def _flag_disagreement(event: PaymentEvent, reason: str) -> None:
    record_audit(
        f"midtrans:{event.source}",
        "midtrans_notification_disagrees",
        event.order_id,
        event_id=event.id,
        flagged=True,
        reason=reason,
    )
    logger.warning("Notification for {} disagrees with the Status API: {}", event.order_id, reason)


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


def asked_status_api(services: WorkerServices, event: PaymentEvent) -> bool:
    """A reconciliation event is the Status API's answer; a webhook is checked with it unless
    verification is switched off."""
    verifying = services.settings.midtrans.verify_with_status_api
    return event.source == EventSource.RECONCILIATION or verifying


def record_verification(order: Order, verified: MidtransNotification) -> None:
    """What the Status API confirmed, and when, for the operator's order page. The order's
    `last_checked_at` stays the re-check schedule's own (a verification at payment must not
    skip the re-check an hour later)."""
    PaymentAttempt.create(
        order=order.order_id,
        kind="VERIFIED",
        transaction_id=verified.transaction_id,
        transaction_status=verified.transaction_status,
        payment_type=verified.payment_type,
        detail=f"gross_amount {verified.gross_amount_text}",
    )


def authoritative_status(services: WorkerServices, event: PaymentEvent) -> MidtransNotification:
    """The Status API's view of the transaction (the body's status is not signed)."""
    if not asked_status_api(services, event) or event.source == EventSource.RECONCILIATION:
        return parse_notification(event.raw)
    try:
        answer = status_answer(services.midtrans, event.order_id, event.transaction_id)
        verified = parse_notification(answer)
    except TransactionNotFound:
        if Order.get_or_none(Order.order_id == event.order_id) is None:
            return parse_notification(event.raw)  # unknown order: flagged, never applied
        raise StatusNotYetVisible(f"Status API has no transaction for {event.order_id}") from None
    return with_fee_original(verified, parse_notification(event.raw))


def with_fee_original(
    verified: MidtransNotification, notified: MidtransNotification
) -> MidtransNotification:
    """Under fee imposition the pre-fee price may be missing from the Status API's answer; the
    notification's own is taken then, but only for the very amount the Status API confirms."""
    if verified.original_amount_text or not notified.original_amount_text:
        return verified
    if verified.gross_amount_text != notified.gross_amount_text:
        return verified
    return dataclasses.replace(verified, original_amount_text=notified.original_amount_text)
