"""Rows as operators see them (console pages, JSON twins, the admin command line's `--json`):
plain dicts, ISO times in WIB.

Personal data (name, email, phone) appears here because the console is where the operator needs
it; none of it is ever logged. Secrets (access tokens, signatures) are shortened.
"""

from __future__ import annotations

from datetime import date, datetime

from config.logs import mask_token
from models.base import SHOP_TIMEZONE
from models.outbox import masked_recipient


def iso(value: date | datetime | None) -> str | None:
    """ISO 8601; a moment in Jakarta time (`+07:00`) as the shop reads it, whatever the
    database session's time zone."""
    if isinstance(value, datetime):
        value = value.astimezone(SHOP_TIMEZONE)
    return value.isoformat() if value else None


def order_summary(order) -> dict:
    return {
        "order_id": order.order_id,
        "status": order.status,
        "flagged": order.flagged,
        "customer_name": order.customer_name,
        "customer_email": order.customer_email,
        "customer_phone": order.customer_phone,
        "final_amount": order.final_amount,
        "source": order.source,
        "created_at": iso(order.created_at),
        "paid_at": iso(order.paid_at),
    }


def order_detail(order) -> dict:
    return {
        **order_summary(order),
        "package_id": order.package_id,
        "base_amount": order.base_amount,
        "discount_code": order.discount_code,
        "discount_amount": order.discount_amount,
        "redirect_url": order.redirect_url,
        "failure_reason": order.failure_reason,
        "receipt_number": order.receipt_number,
        "expires_at": iso(order.expires_at),
        "last_checked_at": iso(order.last_checked_at),
        "updated_at": iso(order.updated_at),
    }


def attempt_row(attempt) -> dict:
    return {
        "id": attempt.id,
        "kind": attempt.kind,
        "transaction_id": attempt.transaction_id,
        "transaction_status": attempt.transaction_status,
        "payment_type": attempt.payment_type,
        "detail": attempt.detail,
        "redirect_url": attempt.redirect_url,
        "created_at": iso(attempt.created_at),
    }


def event_row(event) -> dict:
    raw = dict(event.raw or {})
    if raw.get("signature_key"):
        raw["signature_key"] = mask_token(raw["signature_key"])
    return {
        "id": event.id,
        "source": event.source,
        "transaction_status": event.transaction_status,
        "fraud_status": event.fraud_status,
        "gross_amount": event.gross_amount,
        "payment_type": event.payment_type,
        "verified_status": event.verified_status,
        "processed": event.processed,
        "outcome": event.outcome,
        "flag_reason": event.flag_reason,
        "received_at": iso(event.received_at),
        "processed_at": iso(event.processed_at),
        "raw": raw,
    }


def audit_row(entry) -> dict:
    return {
        "id": entry.id,
        "occurred_at": iso(entry.occurred_at),
        "actor": entry.actor,
        "action": entry.action,
        "order_id": entry.order_id,
        "old_status": entry.old_status,
        "new_status": entry.new_status,
        "event_id": entry.event_id,
        "flagged": entry.flagged,
        "details": entry.details,
    }


def entitlement_row(entitlement) -> dict | None:
    if entitlement is None:
        return None
    return {
        "status": entitlement.status,
        "granted_at": iso(entitlement.granted_at),
        "revoked_at": iso(entitlement.revoked_at),
        "revoke_reason": entitlement.revoke_reason,
        "access_token": mask_token(entitlement.access_token),
    }


def outbox_row(message) -> dict:
    return {
        "id": message.id,
        "order_id": message.order_id,
        "channel": message.channel,
        "template_name": message.template_name,
        "recipient": message.recipient,
        "status": message.status,
        "attempt_count": message.attempt_count,
        "next_retry_at": iso(message.next_retry_at),
        "last_error": message.last_error,
        "error_history": message.error_history or [],
        "sent_at": iso(message.sent_at),
        "provider_message_id": message.provider_message_id,
        "delivery_status": message.delivery_status,
        "delivery_status_at": iso(message.delivery_status_at),
        "resend_of": message.resend_of,
        "created_at": iso(message.created_at),
        "updated_at": iso(message.updated_at),
    }


def masked_outbox_row(message) -> dict:
    """The outbox row with the recipient masked, as the command line's tables show it."""
    return {**outbox_row(message), "recipient": masked_recipient(message)}


def parked_order_row(order) -> dict:
    return {"order_id": order.order_id, "sweep_count": order.sweep_count}


def parked_event_row(event) -> dict:
    return {"id": event.id, "order_id": event.order_id, "sweep_count": event.sweep_count}


def package_row(package) -> dict:
    return {
        "package_id": package.package_id,
        "name": package.name,
        "price_idr": package.price_idr,
        "active": package.active,
        "content_url": package.content_url,
        "lessons": list(package.lessons),
    }


def dead_letter_row(letter) -> dict:
    """A Dramatiq dead letter (messaging/dead_letters.py) and its final error."""
    message = letter.message
    return {
        "message_id": letter.message_id,
        "queue": letter.queue_name,
        "actor": message.actor_name,
        "args": list(message.args),
        "kwargs": message.kwargs,
        "died_at": iso(letter.died_at),
        "retries": letter.retries,
        "error": letter.error,
    }


def page_count(total: int, page_size: int) -> int:
    """At least one page, so an empty list still renders."""
    return max(1, -(-total // page_size))


def counted(count: int, noun: str) -> str:
    """`1 order`, `2 orders`: what an operator reads, never "1 orders"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A customer-typed `=HYPERLINK(...)` must stay text when the accountant opens the CSV;
    a signed number such as the phone `+6281...` is no formula and stays as it is."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_STARTS):
        return value
    signed_number = value[:1] in "+-" and value[1:].isdigit()
    return value if signed_number else "'" + value
