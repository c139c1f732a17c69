"""Creating the Snap payment for a new order: the actor behind POST /api/checkout."""

from __future__ import annotations

import dramatiq
from loguru import logger

from integrations.errors import DuplicateOrder, PermanentProviderError
from models.audit import record_audit
from models.base import utcnow
from models.catalog import Package
from models.checkout import insert_order
from models.db import transaction
from models.orders import Order, PaymentAttempt
from models.outbox import queue_message
from models.payments import order_payload
from models.pricing import Price, midtrans_time
from tasks.broker import settings
from tasks.clients import midtrans


def snap_request(order: Order) -> dict:
    """The Snap body: integer amounts, items summing to gross_amount, an explicit expiry."""
    # The amounts the order was priced at, never re-priced: a code retired since must not make
    # the items disagree with gross_amount on a retry.
    price = Price(order.base_amount, order.discount_amount, order.final_amount)
    first, _, last = order.customer_name.partition(" ")
    minutes = max(1, int((order.expires_at - order.created_at).total_seconds() // 60))
    return {
        "transaction_details": {"order_id": order.order_id, "gross_amount": order.final_amount},
        "item_details": price.snap_items(order.package_id, order.package.name, order.discount_code),
        "customer_details": {
            "first_name": first,
            "last_name": last,
            "email": order.customer_email,
            "phone": order.customer_phone,
        },
        "callbacks": {"finish": f"{settings.public_base_url}/finish"},
        "expiry": {
            "start_time": midtrans_time(order.created_at),
            "unit": "minute",
            "duration": minutes,
        },
    }


# Timeouts, 5xx and database blips retry for about 40 minutes; the sweeper re-enqueues orders
# still in CREATED after that, so a long Midtrans outage delays links but never loses an order.
@dramatiq.actor(queue_name="payments", max_retries=12, min_backoff=2_000, max_backoff=300_000)
def create_payment(order_request: dict) -> None:
    """Idempotent: creates the order once and asks Snap for a payment link once."""
    with transaction():
        if not Package.get_or_none(Package.package_id == order_request["package_id"]):
            # Only possible when the web took the checkout during a database outage.
            logger.error("Dropped a checkout for unknown package {!r}", order_request["package_id"])
            return
        if insert_order(order_request, settings.payment_expiry_minutes):
            record_audit("worker", "order_created", order_request["order_id"], new_status="CREATED")
    outbox_ids: list[int] = []
    with transaction() as tx:
        order = Order.locked(order_request["order_id"])
        if order.status != "CREATED" or order.redirect_url:
            logger.info("Payment link already handled (status {})", order.status)
            return
        outbox_ids = _create_snap_payment(order)
        tx.callbacks.append(lambda: enqueue_deliveries(outbox_ids))


def _create_snap_payment(order: Order) -> list[int]:
    """Calls Snap with the order row locked; returns the outbox rows it queued."""
    try:
        payment = midtrans().create_snap_payment(snap_request(order))
    except DuplicateOrder:
        return _adopt_existing_transaction(order)
    except PermanentProviderError as error:
        _fail_order(order, str(error))
        return []
    PaymentAttempt.create(
        order=order.order_id,
        kind="SNAP_CREATED",
        snap_token=payment.token,
        redirect_url=payment.redirect_url,
    )
    _move_order(
        order,
        "PENDING_PAYMENT",
        "snap_created",
        redirect_url=payment.redirect_url,
        snap_token=payment.token,
    )
    return queue_message(order, "payment_instructions", instructions_payload(order))


def instructions_payload(order: Order) -> dict:
    """What the payment-instructions message shows; rendered later by the delivery actor."""
    expires_at = order.expires_at.isoformat() if order.expires_at else None
    return {**order_payload(order), "payment_url": order.redirect_url, "expires_at": expires_at}


def _adopt_existing_transaction(order: Order) -> list[int]:
    """Snap says the order_id is taken: Midtrans has a transaction; wait for its status."""
    logger.warning("Snap reports the order_id as already used; asking the Status API")
    midtrans().transaction_status(order.order_id)  # TransactionNotFound/errors retry the message
    _move_order(order, "PENDING_PAYMENT", "snap_duplicate_adopted")
    return []


def _fail_order(order: Order, reason: str) -> None:
    logger.error("Snap refused the payment: {}", reason)
    PaymentAttempt.create(order=order.order_id, kind="FAILED", detail=reason[:500])
    _move_order(order, "FAILED", "snap_refused", failure_reason=reason[:500])


def _move_order(order: Order, new_status: str, cause: str, **columns) -> None:
    record_audit("worker", cause, order.order_id, old_status=order.status, new_status=new_status)
    Order.update(status=new_status, updated_at=utcnow(), **columns).where(
        Order.order_id == order.order_id
    ).execute()
    order.status = new_status
    for name, value in columns.items():
        setattr(order, name, value)


def enqueue_deliveries(outbox_ids: list[int]) -> None:
    """Wakes the delivery actor for new outbox rows (after commit; the sweeper is the net)."""
    from tasks.notifications import deliver_notification

    for outbox_id in outbox_ids:
        deliver_notification.send(outbox_id)
