"""Builders and probes for the notification tests: orders with queued messages, the sandbox's
stored mail and WhatsApp messages, and a delivery policy scaled from minutes to fractions of a
second."""

from __future__ import annotations

from dataclasses import replace

from models.checkout import insert_order
from models.db import transaction
from models.delivery import DeliveryPolicy
from models.events import PaymentEvent
from models.orders import Order
from models.outbox import UNPAID_TEMPLATES, OutboxMessage, queue_message
from models.payments import order_payload
from tests.conftest import the_worker
from tests.factories import checkout_request

# 1, 5, 15, 30 minutes become 0.2, 0.4, 0.6, 0.8 seconds; the breaker stays out of the way
# unless a test is about it.
FAST = DeliveryPolicy(
    retry_schedule_seconds=(0.2, 0.4, 0.6, 0.8),
    breaker_fail_max=1000,
    breaker_reset_seconds=1.0,
    email_rate_per_second=50,
    whatsapp_rate_per_second=50,
)


def use_policy(**changes) -> DeliveryPolicy:
    """Gives the worker a scaled-down delivery policy for one test (the `clean` fixture puts
    the settings' own back)."""
    policy = replace(FAST, **changes)
    the_worker().services = the_worker().services.with_policy(policy)
    return policy


def payload_for(order: Order, template_name: str) -> dict:
    """What the payment code would have written for this template."""
    payload = order_payload(order)
    if template_name == "payment_instructions":
        payload |= {
            "payment_url": f"https://app.sandbox.midtrans.com/snap/v4/redirection/"
            f"tok-{order.order_id}",
            "expires_at": order.expires_at.isoformat(),
        }
    if template_name == "payment_success":
        payload["access_token"] = f"access-{order.order_id}-".ljust(43, "x")
    return payload


def queued_order(
    template_name: str = "payment_instructions", attempted: bool = True, **request
) -> dict[str, int]:
    """An order whose messages are queued in the outbox but not yet sent for delivery; unless
    `attempted` is False, Midtrans reported a payment attempt for it first (which a message
    about an unpaid order needs).

    Returns the outbox row ids by channel.
    """
    checkout = checkout_request(**request)
    with transaction():
        insert_order(checkout, expiry_minutes=60)
        order = Order.get_by_id(checkout["order_id"])
        if attempted and template_name in UNPAID_TEMPLATES:
            reported_pending(order.order_id)
        outbox_ids = queue_message(order, template_name, payload_for(order, template_name))
    rows = OutboxMessage.select().where(OutboxMessage.id.in_(outbox_ids))
    return {row.channel: row.id for row in rows}


def reported_pending(order_id: str) -> PaymentEvent:
    """Midtrans' report that the customer picked a payment method, as the intake stores it."""
    return PaymentEvent.create(
        idempotency_key=f"test-pending-{order_id}",
        order_id=order_id,
        transaction_status="pending",
        status_code="201",
        source="webhook",
        raw={"order_id": order_id, "transaction_status": "pending"},
    )


def another_customer(number: int) -> dict[str, str]:
    """A distinct recipient per order, for tests that queue more messages than one person may
    get in a day (models.outbox.CAPPED_PER_RECIPIENT_PER_DAY)."""
    return {"email": f"budi.{number}@example.com", "phone": f"+62812345{number:05d}"}


def row(outbox_id: int) -> OutboxMessage:
    return OutboxMessage.get_by_id(outbox_id)


def status_of(outbox_id: int) -> str:
    return row(outbox_id).status


def mails(sandbox_api) -> list[dict]:
    return sandbox_api.get("/_sandbox/mail").json()


def whatsapp_messages(sandbox_api) -> list[dict]:
    return sandbox_api.get("/_sandbox/whatsapp").json()


def inject(sandbox_api, channel: str, **plan) -> None:
    """Sets a channel's faults (`mail` or `whatsapp`); no arguments clears them."""
    if plan:
        sandbox_api.post(f"/_sandbox/{channel}/faults", json=plan).raise_for_status()
    else:
        sandbox_api.delete(f"/_sandbox/{channel}/faults").raise_for_status()
