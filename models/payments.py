"""Carrying out a state-machine decision on a locked order, inside the caller's transaction:
the status, the entitlement, the outbox rows, the attempt and the audit entry together.

`write_status` is the one place an order's status is changed."""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger

from models.audit import record_audit
from models.base import utcnow
from models.entitlements import (
    Entitlement,
    has_active_access,
    reactivate_entitlement,
    revoke_entitlement,
)
from models.events import PaymentEvent, finish_event, paid_by_unsettled_capture
from models.midtrans_status import MidtransNotification
from models.orders import Order, PaymentAttempt
from models.outbox import queue_message
from models.payment_decision import (
    NotificationDecision,
    Verdict,
    decide_for_order,
    voids_payment,
)
from models.payment_receipts import next_receipt_number
from models.pricing import format_idr
from models.state_machine import Decision, Effect, LocalEvent, Outcome, decide_local
from models.statuses import EntitlementStatus, OrderStatus


@dataclass(frozen=True)
class Applied:
    decision: Decision
    outbox_ids: list[int]


def capture_unsettled(order: Order, *statuses: MidtransNotification) -> bool:
    """Whether the order's card capture may still be voided, for decide_for_order: asked of the
    order's history only when one of `statuses` could void it, so no other status costs a
    query."""
    if not any(voids_payment(order, status) for status in statuses):
        return False
    return paid_by_unsettled_capture(order.order_id)


def apply_status(
    order: Order,
    status: MidtransNotification,
    actor: str,
    event_id: int | None = None,
    action: str | None = None,
    decision: Decision | None = None,
) -> Applied:
    """Persists what `status` means for the locked `order` (its `decision`, when the caller
    made it already); returns the outbox rows queued. `action` names the audit entry when the
    status did not come from Midtrans (an import)."""
    if decision is None:
        decision = decide_for_order(order, status, capture_unsettled(order, status))
    outbox_ids: list[int] = []
    if Effect.RECORD_ATTEMPT in decision.effects:
        record_attempt(order, status, "DENIED")
    if decision.outcome != Outcome.DUPLICATE:  # duplicates are recorded on their event row
        write_status(
            order,
            decision,
            actor,
            action or f"midtrans_{decision.outcome}",
            event_id=event_id,
            transaction_status=status.transaction_status,
            fraud_status=status.fraud_status,
            reason=decision.flag_reason,
        )
    if Effect.GRANT_ACCESS in decision.effects:
        outbox_ids += grant_access(order)
    if Effect.REVOKE_ACCESS in decision.effects:
        outbox_ids += revoke_access(order, f"midtrans {status.transaction_status}")
    if Effect.NOTIFY_EXPIRED in decision.effects and _told_it_expired(order):
        outbox_ids += queue_message(order, "order_expired", order_payload(order))
    if Effect.NOTIFY_INSTRUCTIONS in decision.effects:
        outbox_ids += queue_message(order, "payment_instructions", instructions(order, status))
    if Effect.NOTIFY_REFUNDED in decision.effects:
        outbox_ids += queue_message(order, "payment_refunded", order_payload(order))
    return Applied(decision, outbox_ids)


def write_notification(
    order: Order | None,
    event: PaymentEvent,
    verified: MidtransNotification,
    verdict: NotificationDecision,
) -> list[int]:
    """Carries out what decide_notification decided for a stored payment notification, on the
    locked order and event inside the caller's transaction; returns the outbox rows queued."""
    if verdict.verdict == Verdict.UNKNOWN_ORDER:
        flag_unknown_order(event, verified)
        return []
    applied = apply_status(
        order, verified, f"midtrans:{event.source}", event_id=event.id, decision=verdict.decision
    )
    if verdict.record_verification:
        record_verification(order, verified)
    if verdict.disagreement:
        flag_disagreement(event, verdict.disagreement)
    if verdict.finish_event:
        finish_event(event, verdict.decision.outcome, verified, verdict.flag_reason)
    return applied.outbox_ids


def _told_it_expired(order: Order) -> bool:
    """Imported orders were abandoned in the old system, and a customer the owner gave access
    to (a payment made elsewhere) must not be told to order again."""
    return order.source != "legacy" and not has_active_access(order.order_id)


def apply_snap_answer(order: Order, event: LocalEvent, actor: str, **columns) -> Decision:
    """Persists what Snap's answer means for the locked `order`, with the columns it brings
    (the payment link, or the refusal's reason)."""
    decision = decide_local(order.status, event)
    write_status(order, decision, actor, str(event), columns=columns if decision.changed else {})
    return decision


def write_status(
    order: Order,
    decision: Decision,
    actor: str,
    action: str,
    *,
    event_id: int | None = None,
    columns: dict | None = None,
    **details,
) -> None:
    """The one status writer: the new status (and paid_at with the receipt number, and any
    `columns`), the flag and the audit entry, on the locked order inside the caller's
    transaction."""
    now = utcnow()
    changes = dict(columns or {})
    if decision.changed:
        changes |= {"status": decision.new_status, "updated_at": now}
        if decision.new_status == OrderStatus.PAID:
            changes |= paid_columns(order, now)
    if decision.flag_reason:
        changes["flagged"] = True
    if changes:
        Order.update(**changes).where(Order.order_id == order.order_id).execute()
        for name, value in changes.items():
            setattr(order, name, value)
    record_audit(
        actor,
        action,
        order.order_id,
        old_status=decision.previous_status,
        new_status=decision.new_status,
        event_id=event_id,
        flagged=bool(decision.flag_reason),
        **{name: value for name, value in details.items() if value is not None},
    )


def paid_columns(order: Order, now) -> dict:
    """The payment time and receipt number an order gets when first paid; one paid again (after
    a refund) keeps both."""
    columns = {}
    if order.paid_at is None:
        columns["paid_at"] = now
    if order.receipt_number is None:
        columns["receipt_number"] = next_receipt_number(order.paid_at or now)
    return columns


def grant_entitlement(order_id: str, package_id: str) -> Entitlement:
    """Exactly one entitlement per order (the unique key decides races), active: read back only
    when another transaction had already granted it, and made active again, with the link the
    customer already has, when it was revoked (a voided payment that settled after all, or the
    owner's grant after a revoke)."""
    inserted = list(
        Entitlement.insert(order=order_id, package=package_id)
        .on_conflict_ignore()
        .returning(Entitlement)
        .execute()
    )
    if inserted:
        return inserted[0]
    entitlement = Entitlement.get(Entitlement.order == order_id)
    if entitlement.status == EntitlementStatus.REVOKED:
        reactivate_entitlement(entitlement)
    return entitlement


def grant_access(order: Order) -> list[int]:
    """The entitlement plus the payment-success messages that carry its link."""
    entitlement = grant_entitlement(order.order_id, order.package_id)
    payload = {**order_payload(order), "access_token": entitlement.access_token}
    return queue_message(order, "payment_success", payload)


def revoke_access(order: Order, reason: str) -> list[int]:
    revoked = revoke_entitlement(order.order_id, reason)
    return queue_message(order, "access_revoked", order_payload(order)) if revoked else []


def order_payload(order: Order) -> dict:
    """The facts every customer message about this order may show."""
    return {
        "order_id": order.order_id,
        "customer_name": order.customer_name,
        "amount_text": format_idr(order.final_amount),
        "package_id": order.package_id,
    }


def instructions(order: Order, status: MidtransNotification) -> dict:
    """What the payment-instructions message shows: the link, the deadline, and the number or
    code to pay to when the method has one."""
    expires_at = order.expires_at.isoformat() if order.expires_at else None
    return {
        **order_payload(order),
        "payment_url": order.redirect_url,
        "expires_at": expires_at,
        "payment_channel": status.payment_channel,
        "payment_code": status.payment_code,
    }


def expired_locally(order: Order) -> MidtransNotification:
    """A synthetic 'expire' for an order the Status API says was never attempted."""
    return MidtransNotification(
        order_id=order.order_id,
        status_code="407",
        gross_amount_text=f"{order.final_amount}.00",
        transaction_status="expire",
    )


def record_verification(order: Order, verified: MidtransNotification) -> None:
    """What the Status API confirmed, and when, for the operator's order page. The order's
    `last_checked_at` stays the re-check schedule's own (a verification at payment must not
    skip the re-check an hour later)."""
    record_attempt(order, verified, "VERIFIED", detail=f"gross_amount {verified.gross_amount_text}")


def record_attempt(order: Order, status: MidtransNotification, kind: str, **columns) -> None:
    """A payment attempt row about `status` (denied, or what the Status API confirmed)."""
    PaymentAttempt.create(
        order=order.order_id,
        kind=kind,
        transaction_id=status.transaction_id,
        transaction_status=status.transaction_status,
        payment_type=status.payment_type,
        **columns,
    )


def flag_disagreement(event: PaymentEvent, reason: str) -> None:
    record_audit(
        f"midtrans:{event.source}",
        "midtrans_notification_disagrees",
        event.order_id,
        event_id=event.id,
        flagged=True,
        reason=reason,
    )
    logger.warning("Notification for {} disagrees with the Status API: {}", event.order_id, reason)


def flag_unknown_order(event: PaymentEvent, verified: MidtransNotification) -> None:
    finish_event(event, "flagged_unknown_order", verified, f"unknown order {event.order_id}")
    record_audit(
        f"midtrans:{event.source}",
        "midtrans_flagged_unknown_order",
        event.order_id,
        event_id=event.id,
        flagged=True,
        transaction_status=verified.transaction_status,
    )
    logger.error("Notification for an unknown order; stored and flagged")
