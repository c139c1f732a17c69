"""Builders for test data and the customer's actions, shared by the test modules."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from config.settings import SANDBOX_SERVER_KEY
from models.base import utcnow
from models.catalog import DiscountCode, Package
from models.checkout import hash_order_token
from models.db import connection
from models.orders import Order
from tests.conftest import declared_actor

VALID_CHECKOUT = {
    "package_id": "ai-movie-course",
    "name": "Budi Santoso",
    "email": "budi@example.com",
    "phone": "081234567890",
}


def checkout_request(**overrides) -> dict:
    """The message the web enqueues for a valid checkout (a new order id each call)."""
    order_id = f"BFA-TEST-{secrets.token_hex(6)}"
    request = {
        "order_id": order_id,
        "order_token_hash": hash_order_token("token-" + order_id),
        "package_id": "ai-movie-course",
        "name": "Budi Santoso",
        "email": "budi@example.com",
        "phone": "+6281234567890",
        "discount_code": None,
    }
    request.update(overrides)
    return request


def order_token_for(request: dict) -> str:
    return "token-" + request["order_id"]


def open_payment(**overrides) -> dict:
    """Runs the payment actor inline for a new order (needs the `db` fixture); the request."""
    create_payment = declared_actor("create_payment")

    request = checkout_request(**overrides)
    create_payment(request)
    return request


def midtrans_transition(sandbox_api, order_id: str, **fields) -> dict:
    """Moves the sandbox transaction (notify=False keeps the notification unsent); the answer."""
    response = sandbox_api.post(
        f"/_sandbox/midtrans/transactions/{order_id}/transition", json=fields
    )
    response.raise_for_status()
    return response.json()


def snap_transaction_picked_elsewhere(sandbox_api, order_id: str, **transition) -> dict:
    """Snap already has this order with a payment method chosen (e.g. a run that crashed, or
    the old system): Snap will refuse the order id. The unsent notification."""
    auth = base64.b64encode(f"{SANDBOX_SERVER_KEY}:".encode()).decode()
    sandbox_api.post(
        "/snap/v1/transactions",
        headers={"Authorization": f"Basic {auth}"},
        json={"transaction_details": {"order_id": order_id, "gross_amount": 99000}},
    ).raise_for_status()
    fields = {"transaction_status": "pending", **transition}
    answer = midtrans_transition(sandbox_api, order_id, notify=False, **fields)
    sandbox_api.delete("/_sandbox/midtrans/requests").raise_for_status()
    return answer["notification"]


def paid_order(sandbox_api, payment_type: str = "bank_transfer", **overrides) -> dict:
    """An order paid through the real code: the payment actor, a sandbox settlement and the
    webhook actor run inline (needs the `db` fixture, no worker); the checkout request."""
    process_notification = declared_actor("process_notification")

    request = open_payment(**overrides)
    answer = midtrans_transition(
        sandbox_api,
        request["order_id"],
        transaction_status="settlement",
        payment_type=payment_type,
        notify=False,
    )
    process_notification(answer["notification"])
    return request


def insert_order(
    order_id: str,
    status: str = "PENDING_PAYMENT",
    email: str = "budi@example.com",
    phone: str = "+6281234567890",
    created_at: datetime | None = None,
) -> str:
    """An order row in any status, written straight to the table (no payment flow); its id."""
    created_at = created_at or utcnow()
    with connection():
        Order.create(
            order_id=order_id,
            order_token_hash="x" * 64,
            package="ai-movie-course",
            customer_name="Budi Santoso",
            customer_email=email,
            customer_phone=phone,
            base_amount=99000,
            final_amount=99000,
            status=status,
            paid_at=created_at if status == "PAID" else None,
            created_at=created_at,
        )
    return order_id


@contextmanager
def extra_package(package_id: str, name: str, active: bool) -> Iterator[Package]:
    """A second package at Rp 50.000 beside the seeded one; removed afterwards with its discount
    codes, because `clean` keeps the catalogue."""
    package = Package.create(
        package_id=package_id,
        name=name,
        description="",
        price_idr=50000,
        active=active,
        created_at=utcnow(),
    )
    try:
        yield package
    finally:
        DiscountCode.delete().where(DiscountCode.package == package.package_id).execute()
        package.delete_instance()


def unsent_settlement(sandbox_api, order_id: str, **fields) -> dict:
    """Midtrans settles the order by bank transfer but does not notify: the signed body."""
    fields = {"transaction_status": "settlement", "payment_type": "bank_transfer", **fields}
    return midtrans_transition(sandbox_api, order_id, notify=False, **fields)["notification"]
