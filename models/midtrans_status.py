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
# Automatic Fee Imposition puts the pre-fee price at the top level in Midtrans' own sample
# notification (https://docs.midtrans.com/docs/snap-advanced-feature, "Automatic Fee
# Imposition"); bodies seen elsewhere nest it under `metadata`. Both are read.
_ORIGINAL_AMOUNT_PATHS = (
    ("extra_info", "gross_amount_info", "original_amount"),
    ("metadata", "extra_info", "gross_amount_info", "original_amount"),
)


# How far a transaction has come in Midtrans' life cycle (pending, captured, settled or ended,
# partly returned, returned). Statuses of one step can follow each other in either order.
_LIFE_CYCLE_STEP = {
    "pending": 0,
    "authorize": 0,
    "capture": 1,
    "settlement": 2,
    "deny": 2,
    "cancel": 2,
    "expire": 2,
    "failure": 2,
    "partial_refund": 3,
    "partial_chargeback": 3,
    "refund": 4,
    "chargeback": 4,
}


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
    payment_channel: str | None = None  # e.g. "Virtual Account BCA", from a pending status
    payment_code: str | None = None  # the number or code the customer pays with
    refunds: tuple[tuple[str | None, ...], ...] = ()  # (id, key, amount) of each refund named
    # The refund keys listed with bank_confirmed_at: those refunds are done. Not part of the
    # event's key (the bank's confirmation of a refund seen before is the same event).
    confirmed_refund_keys: tuple[str, ...] = ()


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
        refunds=_refunds(body),
        confirmed_refund_keys=_confirmed_refund_keys(body),
        **_payment_details(body),
    )


def _optional_text(body: dict, name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def _optional_lowercase(body: dict, name: str) -> str | None:
    value = _optional_text(body, name)
    return (value.strip().lower() or None) if value else None


def _original_amount_text(body: dict) -> str | None:
    """The pre-fee price under Automatic Fee Imposition, from either place Midtrans puts it;
    None when neither holds one, or when the two disagree (no price is trusted then)."""
    found = [_amount_at(body, path) for path in _ORIGINAL_AMOUNT_PATHS]
    texts = [text for text in found if text is not None]
    if len({parse_idr(text) for text in texts}) != 1:
        return None
    return texts[0]


def _amount_at(body: dict, path: tuple[str, ...]) -> str | None:
    """The amount text at the end of `path`, wherever the nesting breaks: None."""
    value: object = body
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return _scalar_text(value)


def _refunds(body: dict) -> tuple[tuple[str | None, ...], ...]:
    """Each refund or chargeback the body names, as (refund_chargeback_id, refund_key,
    refund_amount): the refund API's answer has them at the top level, notifications and the
    Status API list every one so far in `refunds[]`
    (https://docs.midtrans.com/reference/refund-transaction,
    https://docs.midtrans.com/reference/get-transaction-status). Sorted, without repeats."""
    listed = body.get("refunds")
    items = [body, *(listed if isinstance(listed, list) else [])]
    found = {_refund_of(item) for item in items if isinstance(item, dict)} - {(None, None, None)}
    return tuple(sorted(found, key=str))


def _confirmed_refund_keys(body: dict) -> tuple[str, ...]:
    """The refund keys Midtrans lists with `bank_confirmed_at`: the refund is done then
    (https://docs.midtrans.com/reference/refund-transaction). Sorted, without repeats."""
    listed = body.get("refunds")
    items = listed if isinstance(listed, list) else []
    keys = {
        _scalar_text(item.get("refund_key"))
        for item in items
        if isinstance(item, dict) and _scalar_text(item.get("bank_confirmed_at"))
    }
    return tuple(sorted(keys - {None}))


def _refund_of(item: dict) -> tuple[str | None, ...]:
    names = ("refund_chargeback_id", "refund_key", "refund_amount")
    return tuple(_scalar_text(item.get(name)) for name in names)


def _scalar_text(value: object) -> str | None:
    """A string as sent, an integer as its digits; anything else is None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value else None


def _payment_details(body: dict) -> dict[str, str]:
    """How to pay, where the payment type has a number to pay to: a VA, a biller code, a store
    code. QRIS and e-wallets pay on Midtrans' page: nothing here."""
    details = {}
    va_numbers = body.get("va_numbers")
    first = va_numbers[0] if isinstance(va_numbers, list) and va_numbers else None
    if isinstance(first, dict) and _short_texts(first.get("bank"), first.get("va_number")):
        details = {
            "payment_channel": f"Virtual Account {first['bank'].upper()}",
            "payment_code": first["va_number"],
        }
    elif _short_texts(body.get("permata_va_number")):
        details = {
            "payment_channel": "Virtual Account PERMATA",
            "payment_code": body["permata_va_number"],
        }
    elif _short_texts(body.get("bill_key"), body.get("biller_code")):
        details = {
            "payment_channel": f"Mandiri Bill (kode perusahaan {body['biller_code']})",
            "payment_code": body["bill_key"],
        }
    elif _short_texts(body.get("payment_code"), body.get("store")):
        details = {
            "payment_channel": f"Gerai {body['store'].title()}",
            "payment_code": body["payment_code"],
        }
    return details


def _short_texts(*values: object) -> bool:
    return all(isinstance(v, str) and 0 < len(v) <= 64 and v.isprintable() for v in values)


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


def is_earlier_step(claimed_status: str, current_status: str) -> bool:
    """True when `claimed_status` is a step the transaction has since passed (a `pending`
    after `settlement`): a late notification, not a contradiction. Unknown statuses never are."""
    claimed = _LIFE_CYCLE_STEP.get(claimed_status)
    current = _LIFE_CYCLE_STEP.get(current_status)
    return claimed is not None and current is not None and claimed < current


def idempotency_key(notification: MidtransNotification) -> str:
    """Same transaction, status, fraud verdict and refunds twice is one event; any change is a
    new one.

    The signed order_id is part of the key, so a body with a made-up transaction_id cannot claim
    the key of another order's event. Hashed so that any input gives a fixed-length key.
    """
    parts = [
        notification.order_id,
        notification.transaction_id,
        notification.transaction_status,
        notification.fraud_status,
    ]
    if notification.refunds:  # a second partial refund is a new event, not a duplicate
        parts.append([list(refund) for refund in notification.refunds])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()
