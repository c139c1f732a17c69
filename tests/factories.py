"""Builders for test data and the customer's actions, shared by the test modules."""

from __future__ import annotations

import secrets

from models.checkout import hash_order_token

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
    from tasks.payments import create_payment

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
