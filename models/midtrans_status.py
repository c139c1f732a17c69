"""Midtrans notification and Status API bodies, read into one typed value.

Both bodies carry the same fields, every value a string; fields come and go by payment type, so
unknown ones are ignored and missing ones are None. Amounts are kept as received because the
signature is computed over the exact text.
"""

import hashlib
import json
import re
from dataclasses import dataclass

_REQUIRED_FIELDS = ("order_id", "status_code", "gross_amount", "transaction_status")
_WHOLE_RUPIAH = re.compile(r"([0-9]{1,15})(?:\.0+)?")  # beyond 15 digits is not a price
_ORIGINAL_AMOUNT_PATH = ("metadata", "extra_info", "gross_amount_info", "original_amount")


class InvalidNotification(ValueError):
    """The body lacks a field every Midtrans notification carries; nothing can be decided."""


@dataclass(frozen=True)
class MidtransNotification:
    """The fields decisions are made on; statuses lowercased, amounts as the exact text sent."""

    order_id: str
    status_code: str
    gross_amount_text: str
    transaction_status: str
    fraud_status: str | None = None
    transaction_id: str | None = None
    payment_type: str | None = None
    transaction_time: str | None = None
    settlement_time: str | None = None
    expiry_time: str | None = None
    original_amount_text: str | None = None


def parse_notification(body: dict) -> MidtransNotification:
    """Read a notification or Status API body; raises InvalidNotification without the essentials."""
    if not isinstance(body, dict):
        raise InvalidNotification("the body is not a JSON object")
    for name in _REQUIRED_FIELDS:
        if not isinstance(body.get(name), str) or not body[name]:
            raise InvalidNotification(f"{name} is missing or not a string")
    return MidtransNotification(
        order_id=body["order_id"],
        status_code=body["status_code"],
        gross_amount_text=body["gross_amount"],
        transaction_status=body["transaction_status"].strip().lower(),
        fraud_status=_optional_lowercase(body, "fraud_status"),
        transaction_id=_optional_text(body, "transaction_id"),
        payment_type=_optional_text(body, "payment_type"),
        transaction_time=_optional_text(body, "transaction_time"),
        settlement_time=_optional_text(body, "settlement_time"),
        expiry_time=_optional_text(body, "expiry_time"),
        original_amount_text=_original_amount_text(body),
    )


def _optional_text(body: dict, name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def _optional_lowercase(body: dict, name: str) -> str | None:
    value = _optional_text(body, name)
    return (value.strip().lower() or None) if value else None


def _original_amount_text(body: dict) -> str | None:
    """The pre-fee price under Automatic Fee Imposition, wherever the nesting breaks: None."""
    value: object = body
    for key in _ORIGINAL_AMOUNT_PATH:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def parse_idr(text: str | None) -> int | None:
    """Whole rupiah from "99000", "99000.0" or "99000.00"; None for cents or anything else."""
    if not isinstance(text, str):
        return None
    match = _WHOLE_RUPIAH.fullmatch(text)
    return int(match.group(1)) if match else None


def amount_matches(order_amount: int, notification: MidtransNotification) -> bool:
    """True for the exact order amount, or the fee-imposition original amount equal to it."""
    candidates = (notification.gross_amount_text, notification.original_amount_text)
    return any(parse_idr(text) == order_amount for text in candidates if text is not None)


def idempotency_key(notification: MidtransNotification) -> str:
    """Same transaction, status and fraud verdict twice is one event; any change is a new one.

    The signed order_id is part of the key, so a body with a made-up transaction_id cannot claim
    the key of another order's event. Hashed so that any input gives a fixed-length key.
    """
    parts = [
        notification.order_id,
        notification.transaction_id,
        notification.transaction_status,
        notification.fraud_status,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()
