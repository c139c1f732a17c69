"""Creating the Snap payment for a new order: the actor behind POST /api/checkout."""

from __future__ import annotations

from loguru import logger

from integrations.errors import DuplicateOrder, PermanentProviderError
from messaging.contract import CREATE_PAYMENT
from models.audit import record_audit
from models.catalog import Package
from models.checkout import insert_order
from models.db import transaction
from models.orders import Order, PaymentAttempt
from models.payments import apply_snap_answer
from models.pricing import Price, midtrans_time
from models.state_machine import LocalEvent
from models.statuses import OrderStatus
from tasks.broker import worker_actor
from tasks.clients import status_answer
from tasks.services import WorkerServices

ACTOR = "worker"


def snap_request(order: Order, public_base_url: str) -> dict:
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
        "callbacks": {"finish": f"{public_base_url}/finish"},
        "expiry": {
            "start_time": midtrans_time(order.created_at),
            "unit": "minute",
            "duration": minutes,
        },
    }


# Timeouts, 5xx and database blips retry for about 40 minutes; the sweeper re-enqueues orders
# still in CREATED after that, so a long Midtrans outage delays links but never loses an order.
@worker_actor(CREATE_PAYMENT, max_retries=12, min_backoff=2_000, max_backoff=300_000)
def create_payment(services: WorkerServices, order_request: dict) -> None:
    """Idempotent: creates the order once and asks Snap for a payment link once."""
    with transaction():
        package = Package.get_or_none(Package.package_id == order_request["package_id"])
        if package is None:
            # Only possible when the web took the checkout during a database outage.
            logger.error("Dropped a checkout for unknown package {!r}", order_request["package_id"])
            return
        expiry_minutes = services.settings.payment_expiry_minutes
        if insert_order(order_request, expiry_minutes, package):
            record_audit(
                ACTOR, "order_created", order_request["order_id"], new_status=OrderStatus.CREATED
            )
    with transaction():
        order = Order.locked(order_request["order_id"])
        if order.status != OrderStatus.CREATED or order.redirect_url:
            logger.info("Payment link already handled (status {})", order.status)
            return
        if order.package_id == package.package_id:
            order.package = package  # read above: Snap's item name needs no second query
        _create_snap_payment(services, order)


def _create_snap_payment(services: WorkerServices, order: Order) -> None:
    """Calls Snap with the order row locked and records its answer. No message is sent yet:
    the payment instructions follow once Midtrans reports the payment method."""
    midtrans = services.midtrans
    try:
        payment = midtrans.create_snap_payment(
            snap_request(order, services.settings.public_base_url)
        )
    except DuplicateOrder:
        logger.warning("Snap reports the order_id as already used; asking the Status API")
        status_answer(midtrans, order.order_id)  # not found / errors retry the message
        apply_snap_answer(order, LocalEvent.TRANSACTION_EXISTS, ACTOR)
        return
    except PermanentProviderError as error:
        logger.error("Snap refused the payment: {}", error)
        reason = str(error)[:500]
        PaymentAttempt.create(order=order.order_id, kind="FAILED", detail=reason)
        apply_snap_answer(order, LocalEvent.SNAP_REFUSED, ACTOR, failure_reason=reason)
        return
    PaymentAttempt.create(
        order=order.order_id,
        kind="SNAP_CREATED",
        snap_token=payment.token,
        redirect_url=payment.redirect_url,
    )
    apply_snap_answer(
        order,
        LocalEvent.LINK_CREATED,
        ACTOR,
        redirect_url=payment.redirect_url,
        snap_token=payment.token,
    )
