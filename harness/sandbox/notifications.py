"""Midtrans' notification and Status API bodies, built the way Midtrans builds them: all strings."""

import hashlib

from harness.sandbox.state import SnapTransaction
from integrations.signature import midtrans_signature

MERCHANT_ID = "G000SANDBOX"
NOTIFICATION_MESSAGE = "midtrans payment notification"
STATUS_FOUND_MESSAGE = "Success, transaction is found"

STATUS_CODE_BY_TRANSACTION_STATUS = {
    "capture": "200",
    "settlement": "200",
    "authorize": "200",
    "refund": "200",
    "partial_refund": "200",
    "chargeback": "200",
    "partial_chargeback": "200",
    "pending": "201",
    "deny": "202",
    "cancel": "202",
    "expire": "202",
    "failure": "202",
}

CARD_DETAILS = {
    "masked_card": "481111-1114",
    "bank": "bni",
    "card_type": "credit",
    "approval_code": "1578569243927",
    "eci": "05",
    "channel_response_code": "00",
    "channel_response_message": "Approved",
}


def status_code_for(transaction_status: str) -> str:
    """The status_code Midtrans pairs with a transaction_status (it describes the call only)."""
    return STATUS_CODE_BY_TRANSACTION_STATUS.get(transaction_status, "200")


def gross_amount_text(txn: SnapTransaction) -> str:
    """Midtrans sends amounts as '99000.00'; a test may override the text to probe parsing."""
    return txn.gross_amount_text or f"{txn.gross_amount}.00"


def sign_body(body: dict, server_key: str) -> dict:
    """The body with signature_key over its own order_id, status_code and gross_amount."""
    signature = midtrans_signature(
        str(body.get("order_id", "")),
        str(body.get("status_code", "")),
        str(body.get("gross_amount", "")),
        server_key,
    )
    return body | {"signature_key": signature}


def transaction_body(txn: SnapTransaction, server_key: str, status_message: str) -> dict:
    """A signed notification (or Status API answer) describing the transaction's current state."""
    body = {
        "transaction_time": txn.transaction_time,
        "transaction_status": txn.transaction_status,
        "transaction_id": txn.transaction_id,
        "status_message": status_message,
        "status_code": status_code_for(str(txn.transaction_status)),
        "payment_type": txn.payment_type,
        "order_id": txn.order_id,
        "merchant_id": MERCHANT_ID,
        "gross_amount": gross_amount_text(txn),
        "currency": "IDR",
        "expiry_time": txn.expiry_time,
    }
    body |= _optional_fields(txn) | _payment_details(txn)
    return sign_body(body, server_key)


def _optional_fields(txn: SnapTransaction) -> dict:
    """Fields Midtrans only sends in some states."""
    optional = {"fraud_status": txn.fraud_status, "settlement_time": txn.settlement_time}
    present = {name: value for name, value in optional.items() if value is not None}
    if txn.original_amount is not None:
        # Where Midtrans' sample notification for Automatic Fee Imposition puts it
        # (https://docs.midtrans.com/docs/snap-advanced-feature).
        present["extra_info"] = {"gross_amount_info": {"original_amount": txn.original_amount}}
    if txn.refunds:
        present["refunds"] = list(txn.refunds)
    return present


def _payment_details(txn: SnapTransaction) -> dict:
    """The per-method fields: VA numbers, QRIS issuer, card details."""
    if txn.payment_type == "bank_transfer":
        return {"va_numbers": [{"bank": "bca", "va_number": _va_number(txn.order_id)}]}
    if txn.payment_type == "qris":
        return {"issuer": "gopay", "acquirer": "gopay"}
    if txn.payment_type == "credit_card":
        return dict(CARD_DETAILS)
    return {}


def _va_number(order_id: str) -> str:
    """A stable 11-digit virtual account number per order, like BCA's."""
    digest = hashlib.sha256(order_id.encode()).hexdigest()
    return str(int(digest, 16))[:11]
