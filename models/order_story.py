"""One order's story: payment attempts, raw notifications, status changes from the audit log,
the entitlement and every notification with its attempts and errors, in time order."""

from __future__ import annotations

from datetime import UTC, datetime

from models.audit import AuditEntry
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.order_rows import (
    attempt_row,
    audit_row,
    entitlement_row,
    event_row,
    iso,
    order_detail,
    outbox_row,
)
from models.orders import Order, PaymentAttempt
from models.outbox import OutboxMessage
from models.refunds import MANUAL_REFUND_METHODS, Refund, paid_with
from models.state_machine import is_awaiting_payment


def _moments(attempts: list, events: list, audit: list, entitlement, outbox: list) -> list:
    """Everything that happened, as (time, kind, summary) rows sorted by time."""
    moments = [
        (
            a["created_at"],
            "payment attempt",
            " ".join(filter(None, (a["kind"], a["transaction_status"], a["payment_type"]))),
        )
        for a in attempts
    ]
    moments += [
        (
            e["received_at"],
            f"notification ({e['source']})",
            f"{e['transaction_status']} -> {e['outcome'] or 'not processed yet'}",
        )
        for e in events
    ]
    moments += [
        (
            entry["occurred_at"],
            f"audit: {entry['actor']}",
            f"{entry['action']} {entry['old_status'] or ''} -> {entry['new_status'] or ''}",
        )
        for entry in audit
    ]
    moments += [
        (m["created_at"], "notification queued", f"{m['channel']} {m['template_name']}")
        for m in outbox
    ]
    moments += [
        (m["sent_at"], "notification sent", f"{m['channel']} {m['template_name']}")
        for m in outbox
        if m["sent_at"]
    ]
    if entitlement:
        moments.append((entitlement["granted_at"], "access granted", entitlement["status"]))
    if entitlement and entitlement["revoked_at"]:
        moments.append(
            (entitlement["revoked_at"], "access revoked", entitlement["revoke_reason"] or "")
        )
    return [
        {"at": at, "kind": kind, "summary": summary.strip()}
        for at, kind, summary in sorted(moments, key=_when)
    ]


def _when(moment: tuple) -> datetime:
    return datetime.fromisoformat(moment[0]) if moment[0] else datetime.min.replace(tzinfo=UTC)


def _last_check(order, attempts: list[dict]) -> str | None:
    """The latest of the re-check schedule's last ask and the worker's last verification."""
    moments = [a["created_at"] for a in attempts if a["kind"] == "VERIFIED"]
    if order.last_checked_at:
        moments.append(iso(order.last_checked_at))
    return max(moments, key=datetime.fromisoformat, default=None)


def order_number_part(part: str):
    """Order numbers containing `part` in any case (ILIKE, its wildcards escaped): an operator
    reads out or pastes any piece of the number."""
    return Order.order_id.contains(part.strip())


def order_ids_containing(part: str, limit: int = 20) -> list[str]:
    """The numbers `part` may mean: the exact one alone if it exists, else up to `limit`."""
    if Order.get_or_none(Order.order_id == part) is not None:
        return [part]
    query = Order.select(Order.order_id).where(order_number_part(part))
    return [row.order_id for row in query.order_by(Order.created_at.desc()).limit(limit)]


def order_timeline(order_id: str) -> dict | None:
    """Everything the console knows about one order, or None for an unknown id."""
    order = Order.get_or_none(Order.order_id == order_id)
    if order is None:
        return None
    attempts = [
        attempt_row(a)
        for a in PaymentAttempt.select()
        .where(PaymentAttempt.order == order_id)
        .order_by(PaymentAttempt.id)
    ]
    events = [
        event_row(e)
        for e in PaymentEvent.select()
        .where(PaymentEvent.order_id == order_id)
        .order_by(PaymentEvent.id)
    ]
    audit = [
        audit_row(entry)
        for entry in AuditEntry.select()
        .where(AuditEntry.order_id == order_id)
        .order_by(AuditEntry.occurred_at, AuditEntry.id)
    ]
    entitlement = entitlement_row(Entitlement.get_or_none(Entitlement.order == order_id))
    outbox = [
        outbox_row(m)
        for m in OutboxMessage.select()
        .where(OutboxMessage.order == order_id)
        .order_by(OutboxMessage.id)
    ]
    return {
        "order": {**order_detail(order), "last_checked_at": _last_check(order, attempts)},
        "attempts": attempts,
        "notifications": events,
        "audit": audit,
        "entitlement": entitlement,
        "outbox": outbox,
        "money": money_actions(order, events),
        "timeline": _moments(attempts, events, audit, entitlement, outbox),
    }


def money_actions(order: Order, events: list[dict]) -> dict:
    """What the order page offers to ask Midtrans: the refunds so far, how the order was paid,
    whether only a manual refund is possible, and whether a card payment is held for review."""
    latest = events[-1] if events else {}
    held = (latest.get("transaction_status"), latest.get("fraud_status")) == (
        "capture",
        "challenge",
    )
    method = paid_with(order.order_id)
    refunds = Refund.select().where(Refund.order == order.order_id).order_by(Refund.id)
    return {
        "payment_type": method,
        "manual_refund": method in MANUAL_REFUND_METHODS,
        "challenged": held and is_awaiting_payment(order.status),
        "refunds": [
            {
                "refund_key": refund.refund_key,
                "amount": refund.amount,
                "reason": refund.reason,
                "operator": refund.operator,
                "status": refund.status,
                "created_at": iso(refund.created_at),
            }
            for refund in refunds
        ],
    }
