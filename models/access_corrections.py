"""The owner's corrections of a customer's access: revoke it, or grant it, by hand, with a
reason, audited under who asked, the customer told each time. Neither touches the order's
payment status, which changes only through Midtrans (models/payments.write_status): a grant
only reads it, and refuses an order Midtrans has not reported paid unless the owner says the
payment was made elsewhere (a legacy order, a bank transfer to the shop)."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.audit import record_audit
from models.db import transaction
from models.entitlements import Entitlement, revoke_entitlement
from models.orders import Order
from models.outbox import queue_again
from models.outbox_admin import Wake
from models.payments import grant_entitlement, order_payload
from models.statuses import AWAITING_PAYMENT, Channel, EntitlementStatus, OrderStatus

REVOKE, GRANT = "revoke", "grant"
MAX_REASON_LENGTH = 500
REVOKED_TEMPLATE, GRANTED_TEMPLATE = "access_withdrawn", "access_granted"


class AccessCorrectionRefused(Exception):
    """The correction cannot be made as asked; the message says why, for the operator."""


@dataclass(frozen=True)
class Correction:
    """What a correction did: `changed` False when the access already was as asked."""

    order_id: str
    changed: bool
    message: str
    outbox_ids: list[int] = field(default_factory=list)


def correct_access(
    action: str, order_id: str, reason: str, actor: str, wake: Wake, despite_status: bool = False
) -> Correction:
    """Revokes or grants the order's access in one transaction with the order row locked; the
    messages are woken after commit. Raises AccessCorrectionRefused."""
    reason = " ".join(reason.split())
    if not reason:
        raise AccessCorrectionRefused("a reason is required (it goes to the audit log)")
    if len(reason) > MAX_REASON_LENGTH:
        raise AccessCorrectionRefused(f"the reason is longer than {MAX_REASON_LENGTH} characters")
    with transaction() as tx:
        order = Order.locked(order_id)
        if order is None:
            raise AccessCorrectionRefused(f"no order {order_id}")
        if action == REVOKE:
            correction = _revoke(order, reason, actor)
        else:
            correction = _grant(order, reason, actor, despite_status)
        tx.callbacks.append(lambda: wake(correction.outbox_ids))
    return correction


def _revoke(order: Order, reason: str, actor: str) -> Correction:
    if not revoke_entitlement(order.order_id, f"{actor}: {reason}"):
        return Correction(order.order_id, False, f"{order.order_id} has no active access")
    record_audit(
        actor, "access_revoked_by_owner", order.order_id, reason=reason, order_status=order.status
    )
    outbox_ids = _tell_customer(order, REVOKED_TEMPLATE, order_payload(order))
    return Correction(order.order_id, True, f"access to {order.order_id} revoked", outbox_ids)


def _grant(order: Order, reason: str, actor: str, despite_status: bool) -> Correction:
    if order.status in AWAITING_PAYMENT:
        raise AccessCorrectionRefused(_awaiting_payment(order))
    reported_paid = order.status == OrderStatus.PAID
    if not reported_paid and not despite_status:
        raise AccessCorrectionRefused(
            f"Midtrans has not reported {order.order_id} paid (status {order.status}); "
            "for a payment made outside Midtrans, grant it despite the status"
        )
    entitlement = Entitlement.get_or_none(Entitlement.order == order.order_id)
    if entitlement is not None and entitlement.status == EntitlementStatus.ACTIVE:
        return Correction(order.order_id, False, f"{order.order_id} already has access")
    entitlement = grant_entitlement(order.order_id, order.package_id)
    record_audit(
        actor,
        "access_granted_by_owner",
        order.order_id,
        reason=reason,
        order_status=order.status,
        despite_status=not reported_paid,
    )
    payload = {**order_payload(order), "access_token": entitlement.access_token}
    outbox_ids = _tell_customer(order, GRANTED_TEMPLATE, payload)
    return Correction(order.order_id, True, f"access to {order.order_id} granted", outbox_ids)


def _awaiting_payment(order: Order) -> str:
    """Access for an order still awaiting payment would leave it open: the customer could pay
    again, and its expiry would tell them to order again while they have access."""
    return (
        f"{order.order_id} still awaits payment (status {order.status}): wait for Midtrans to "
        "report it, or cancel the payment first; --despite-status is for FAILED, EXPIRED or "
        "REFUNDED orders (a legacy or outside payment)"
    )


def _tell_customer(order: Order, template_name: str, payload: dict) -> list[int]:
    """One message per channel every time: a revoke after a grant after a revoke is three
    different facts, each worth telling (the owner's own action, so never capped)."""
    recipients = {Channel.EMAIL: order.customer_email, Channel.WHATSAPP: order.customer_phone}
    new_ids = [
        queue_again(order.order_id, channel, template_name, recipient, payload)
        for channel, recipient in recipients.items()
    ]
    return [new_id for new_id in new_ids if new_id is not None]
