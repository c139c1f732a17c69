"""A re-run of the legacy import meets an order it imported before: the old system's status now
is read as a Midtrans status and put to the state machine, so an order paid in the old system
after the first run becomes PAID (with access and the success message), and none moves back.

The decision, the write and its consequences go through models/payments.py like every status
change, in one transaction. An unmoved order writes nothing, so a re-run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from admin.legacy_rows import LegacyOrder
from models.db import transaction
from models.midtrans_status import MidtransNotification
from models.orders import Order
from models.payment_decision import decide_for_order
from models.payments import apply_status, capture_unsettled
from models.statuses import OrderStatus

ACTOR = "admin:import"
# The old system's status in Midtrans' words, for the state machine.
TRANSACTION_STATUS = {
    OrderStatus.PAID: "settlement",
    OrderStatus.PENDING_PAYMENT: "pending",
    OrderStatus.EXPIRED: "expire",
    OrderStatus.FAILED: "cancel",
    OrderStatus.REFUNDED: "refund",
}


@dataclass(frozen=True)
class Forward:
    """What a re-run did (or, in a dry run, would do) to one existing order."""

    kind: str  # "forward", "flagged", "unchanged" or "skipped"
    detail: str
    new_status: str | None = None
    outbox_ids: list[int] = field(default_factory=list)


def legacy_status(legacy: LegacyOrder) -> MidtransNotification:
    return MidtransNotification(
        order_id=legacy.order_id,
        status_code="200",
        gross_amount_text=f"{legacy.amount}.00",
        transaction_status=TRANSACTION_STATUS[legacy.status],
    )


def bring_forward(legacy: LegacyOrder, dry_run: bool) -> Forward:
    """Moves an already imported order to where the old system's row now stands, as far as
    the state machine allows."""
    with transaction():
        order = Order.locked(legacy.order_id)
        if order.source != "legacy":
            return Forward("skipped", "id belongs to an order placed in this shop")
        status = legacy_status(legacy)
        decision = decide_for_order(order, status, capture_unsettled(order, status))
        moves = f"{decision.previous_status} -> {decision.new_status}"
        if not decision.changed and (not decision.flag_reason or order.flagged):
            return Forward("unchanged", decision.previous_status)
        if dry_run:
            kind = "forward" if decision.changed else "flagged"
            return Forward(kind, moves if decision.changed else decision.flag_reason)
        applied = apply_status(order, status, ACTOR, action="legacy_brought_forward")
    if not decision.changed:
        return Forward("flagged", decision.flag_reason)
    return Forward("forward", moves, decision.new_status, applied.outbox_ids)
