"""Processing Midtrans' payment notifications: store once, ask the Status API, apply the state
machine."""

from __future__ import annotations

from loguru import logger

from integrations.errors import RetryableProviderError, TransactionNotFound
from messaging.contract import PROCESS_NOTIFICATION, PROCESS_STORED_EVENT, RECONCILE_ORDER
from models.db import transaction
from models.events import (
    EventSource,
    PaymentEvent,
    locked_event,
    store_event,
)
from models.midtrans_status import (
    InvalidNotification,
    MidtransNotification,
    parse_notification,
)
from models.orders import Order
from models.payment_decision import Verdict, decide_notification, with_fee_original
from models.payments import capture_unsettled, write_notification
from models.refunds import confirm_refunds, names_unconfirmed_refund
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
    API check when the order still awaits payment, when the stored event's verified status is
    not the status this body claims, or when it names a bank-confirmed refund of ours not yet
    confirmed (Midtrans' second refund notification adds only that).
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
        or names_unconfirmed_refund(order.order_id, notification.confirmed_refund_keys)
    ):
        services.send(RECONCILE_ORDER, notification.order_id)


@worker_actor(PROCESS_STORED_EVENT, max_retries=10, min_backoff=5_000, max_backoff=600_000)
def process_stored_event(services: WorkerServices, event_id: int) -> None:
    """Re-runs a stored notification the sweeper found unprocessed."""
    process_event(services, PaymentEvent.get_by_id(event_id))


def process_event(services: WorkerServices, event: PaymentEvent, reapply: bool = False) -> None:
    """Applies a stored event once; `reapply` applies a Status API answer seen before again,
    but only when it moves the order (a repeat changes nothing and records nothing). Gathers the
    inputs (the verified status, then the event and order locked), decides in one pure
    function, and writes the verdict in one transaction."""
    if event.processed and not reapply:
        return
    verified = authoritative_status(services, event)
    if verified.confirmed_refund_keys:
        with transaction():
            confirm_refunds(event.order_id, verified.confirmed_refund_keys)
    with transaction() as tx:
        event = locked_event(event.id)
        order = Order.locked(event.order_id)
        claimed = parse_notification(event.raw)
        verdict = decide_notification(
            order,
            event,
            verified,
            asked_status_api=asked_status_api(services, event),
            reapply=reapply,
            unsettled_capture=order is not None and capture_unsettled(order, verified, claimed),
        )
        if verdict.verdict == Verdict.SKIP:
            return
        outbox_ids = write_notification(order, event, verified, verdict)
        tx.callbacks.append(lambda: services.wake_deliveries(outbox_ids))
    if verdict.decision:
        decision = verdict.decision
        logger.info(
            "Order {}: {} -> {} ({})",
            order.order_id,
            decision.previous_status,
            decision.new_status,
            decision.outcome,
        )


def asked_status_api(services: WorkerServices, event: PaymentEvent) -> bool:
    """A reconciliation event is the Status API's answer; a webhook is checked with it unless
    verification is switched off."""
    verifying = services.settings.midtrans.verify_with_status_api
    return event.source == EventSource.RECONCILIATION or verifying


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
