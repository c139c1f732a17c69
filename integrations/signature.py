"""Webhook signatures: Midtrans' SHA-512 over order_id + status_code + gross_amount + key, and
Meta's `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret)."""

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


def meta_signature(raw_body: bytes, app_secret: str) -> str:
    """The `X-Hub-Signature-256` header Meta sends with a webhook: `sha256=<hex HMAC>`."""
    digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def meta_signature_is_valid(header: str | None, raw_body: bytes, app_secret: str) -> bool:
    """True when the header signs these exact bytes with the app secret (constant time)."""
    if not header or not app_secret:
        return False
    expected = meta_signature(raw_body, app_secret)
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())
