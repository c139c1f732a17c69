"""Carrying out a state-machine decision on a locked order, inside the caller's transaction:
the status, the entitlement, the outbox rows, the attempt and the audit entry together."""

from __future__ import annotations

from dataclasses import dataclass

from models.audit import record_audit
from models.base import utcnow
from models.entitlements import Entitlement
from models.notification import MidtransNotification, amount_matches
from models.orders import Order, PaymentAttempt
from models.outbox import queue_message
from models.pricing import format_idr
from models.state_machine import Decision, Effect, Outcome, decide


@dataclass(frozen=True)
class Applied:
    decision: Decision
    outbox_ids: list[int]


def decide_for_order(order: Order, status: MidtransNotification) -> Decision:
    """The state machine's decision, refusing to pay an amount that is not the order's."""
    decision = decide(order.status, status.transaction_status, status.fraud_status)
    if Effect.GRANT_ACCESS in decision.effects and not amount_matches(order.final_amount, status):
        reason = f"amount mismatch: notified {status.gross_amount_text}, order {order.final_amount}"
        return Decision(
            order.status, order.status, "flagged_amount_mismatch", frozenset({Effect.FLAG}), reason
        )
    return decision


def apply_status(
    order: Order, status: MidtransNotification, actor: str, event_id: int | None = None
) -> Applied:
    """Persists what `status` means for the locked `order`; returns the outbox rows queued."""
    decision = decide_for_order(order, status)
    outbox_ids: list[int] = []
    if decision.changed:
        _set_status(order, decision.new_status)
    if Effect.RECORD_ATTEMPT in decision.effects:
        PaymentAttempt.create(
            order=order.order_id,
            kind="DENIED",
            transaction_id=status.transaction_id,
            transaction_status=status.transaction_status,
            payment_type=status.payment_type,
        )
    if Effect.GRANT_ACCESS in decision.effects:
        outbox_ids += grant_access(order)
    if Effect.REVOKE_ACCESS in decision.effects:
        outbox_ids += revoke_access(order, f"midtrans {status.transaction_status}")
    if Effect.NOTIFY_EXPIRED in decision.effects and order.source != "legacy":
        # Imported orders were abandoned in the old system; no "order again" message for them.
        outbox_ids += queue_message(order, "order_expired", order_payload(order))
    if Effect.NOTIFY_REFUNDED in decision.effects:
        outbox_ids += queue_message(order, "payment_refunded", order_payload(order))
    if decision.outcome != Outcome.DUPLICATE:  # duplicates are recorded on their event row
        _audit(order, decision, status, actor, event_id)
    return Applied(decision, outbox_ids)


def _set_status(order: Order, new_status: str) -> None:
    now = utcnow()
    columns = {"status": new_status, "updated_at": now}
    if new_status == "PAID" and order.paid_at is None:
        columns["paid_at"] = now
    Order.update(**columns).where(Order.order_id == order.order_id).execute()
    for name, value in columns.items():
        setattr(order, name, value)


def _audit(
    order: Order, decision: Decision, status: MidtransNotification, actor: str, event_id: int | None
) -> None:
    if decision.flag_reason:
        Order.update(flagged=True).where(Order.order_id == order.order_id).execute()
    record_audit(
        actor,
        f"midtrans_{decision.outcome}",
        order.order_id,
        old_status=decision.previous_status,
        new_status=decision.new_status,
        event_id=event_id,
        flagged=bool(decision.flag_reason),
        transaction_status=status.transaction_status,
        fraud_status=status.fraud_status,
        reason=decision.flag_reason,
    )


def grant_entitlement(order_id: str, package_id: str) -> Entitlement:
    """Exactly one entitlement per order (the unique key decides races)."""
    Entitlement.insert(order=order_id, package=package_id).on_conflict_ignore().execute()
    return Entitlement.get(Entitlement.order == order_id)


def grant_access(order: Order) -> list[int]:
    """The entitlement plus the payment-success messages that carry its link."""
    entitlement = grant_entitlement(order.order_id, order.package_id)
    payload = {**order_payload(order), "access_token": entitlement.access_token}
    return queue_message(order, "payment_success", payload)


def revoke_access(order: Order, reason: str) -> list[int]:
    revoked = (
        Entitlement.update(status="REVOKED", revoked_at=utcnow(), revoke_reason=reason)
        .where((Entitlement.order == order.order_id) & (Entitlement.status == "ACTIVE"))
        .execute()
    )
    return queue_message(order, "access_revoked", order_payload(order)) if revoked else []


def order_payload(order: Order) -> dict:
    """The facts every customer message about this order may show."""
    return {
        "order_id": order.order_id,
        "customer_name": order.customer_name,
        "amount_text": format_idr(order.final_amount),
        "package_id": order.package_id,
    }


def expired_locally(order: Order) -> MidtransNotification:
    """A synthetic 'expire' for an order the Status API says was never attempted."""
    return MidtransNotification(
        order_id=order.order_id,
        status_code="407",
        gross_amount_text=f"{order.final_amount}.00",
        transaction_status="expire",
    )
