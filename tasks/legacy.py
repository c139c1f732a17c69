"""Checking an imported PAID order with Midtrans: the old system said paid, but when Midtrans
knows the id its word is the one that counts, so a refund or another amount is flagged for a
person (never applied silently). An id Midtrans does not know stays as imported: the old system
took that payment some other way."""

from __future__ import annotations

from loguru import logger

from integrations.errors import TransactionNotFound
from messaging.contract import VERIFY_LEGACY_ORDER
from models.audit import LEGACY_UNKNOWN_AT_MIDTRANS, orders_with_action, record_audit
from models.db import transaction
from models.midtrans_status import (
    InvalidNotification,
    MidtransNotification,
    amount_matches,
    parse_notification,
)
from models.orders import Order
from models.payments import write_status
from models.state_machine import Decision, Effect, Outcome, decide
from models.statuses import OrderStatus
from tasks.broker import worker_actor
from tasks.services import WorkerServices

ACTOR = "midtrans:legacy_verification"


@worker_actor(VERIFY_LEGACY_ORDER, max_retries=5, min_backoff=10_000, max_backoff=300_000)
def verify_legacy_order(services: WorkerServices, order_id: str) -> None:
    """Asks the Status API (through the same breaker and rate limit as reconciliation)."""
    order = Order.get_or_none(Order.order_id == order_id)
    if order is None or order.source != "legacy" or order.status != OrderStatus.PAID:
        return
    try:
        answer = services.midtrans.transaction_status(order_id)
    except TransactionNotFound:
        _record_unknown(order_id)
        return
    try:
        status = parse_notification(answer)
    except InvalidNotification as error:
        _flag(order_id, None, f"unreadable Status API answer: {error}")
        return
    reason = disagreement(order, status)
    if reason:
        _flag(order_id, status, reason)
        return
    with transaction():
        record_audit(
            ACTOR, "legacy_verified", order_id, transaction_status=status.transaction_status
        )


def disagreement(order: Order, status: MidtransNotification) -> str | None:
    """Why Midtrans' answer is not the paid order the old system reported, or None."""
    decision = decide(
        OrderStatus.PAID,
        status.transaction_status,
        status.fraud_status,
        settled=status.settlement_time is not None,
    )
    if decision.outcome != Outcome.DUPLICATE:  # only a payment leaves a PAID order as it is
        return f"legacy PAID, Midtrans says {status.transaction_status!r}"
    if not amount_matches(order.final_amount, status):
        return f"legacy amount {order.final_amount}, Midtrans says {status.gross_amount_text}"
    return None


def _flag(order_id: str, status: MidtransNotification | None, reason: str) -> None:
    with transaction():
        order = Order.locked(order_id)
        flag = Decision(
            order.status, order.status, "legacy_disagrees", frozenset({Effect.FLAG}), reason
        )
        transaction_status = status.transaction_status if status else None
        write_status(
            order,
            flag,
            ACTOR,
            "legacy_disagrees",
            transaction_status=transaction_status,
            reason=reason,
        )
    logger.warning("Imported order {} disagrees with Midtrans: {}", order_id, reason)


def _record_unknown(order_id: str) -> None:
    """Once per order: the import's summary lists these for a person."""
    with transaction():
        if not orders_with_action(LEGACY_UNKNOWN_AT_MIDTRANS, [order_id]):
            record_audit(ACTOR, LEGACY_UNKNOWN_AT_MIDTRANS, order_id)
    logger.info("Imported order {} is unknown to Midtrans; left as imported", order_id)
