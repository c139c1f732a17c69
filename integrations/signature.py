"""Midtrans notification signatures: SHA-512 over order_id + status_code + gross_amount + key."""

import hashlib
import hmac


def midtrans_signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """The lowercase hex signature Midtrans puts in `signature_key`, over the strings as sent."""
    payload = f"{order_id}{status_code}{gross_amount}{server_key}".encode()
    return hashlib.sha512(payload).hexdigest()


def signature_is_valid(body: dict, server_key: str) -> bool:
    """True when the body's signature_key matches, compared in constant time."""
    parts = [
        body.get(name) for name in ("order_id", "status_code", "gross_amount", "signature_key")
    ]
    if not all(isinstance(part, str) for part in parts):
        return False
    order_id, status_code, gross_amount, received = parts
    expected = midtrans_signature(order_id, status_code, gross_amount, server_key)
    return hmac.compare_digest(expected.encode(), received.lower().encode())
