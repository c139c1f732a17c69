"""Asking Midtrans now about orders, instead of at the periodic reconciliation's next turn.
The answer goes through the state machine exactly like a payment notification's, so this only
asks: it never sets a status by hand. Worker code (the Status API, the state machine)."""

from __future__ import annotations

from integrations.errors import ProviderError
from messaging.contract import RECONCILE
from messaging.redis import Sender
from models.audit import record_audit
from models.orders import Order
from tasks.operations import REFUSED, Outcome, done
from tasks.reconciliation import reconcile_order
from tasks.services import WorkerServices


def reconcile_order_now(worker: WorkerServices, operator: str, order_id: str) -> Outcome:
    """Runs the reconciliation of one order inline with the worker's services `worker` (built
    by the caller): its status before and after, or why Midtrans could not be asked."""
    before = order_status(order_id)
    record_audit(operator, "reconcile_requested", order_id, old_status=before)
    try:
        reconcile_order(worker, order_id)
    except ProviderError as error:
        reason = f"Midtrans did not answer ({error})"
        return Outcome(REFUSED, reason, {"order_id": order_id, "before": before, "after": before})
    after = order_status(order_id)
    moved = f"{before} -> {after}{' (unchanged)' if after == before else ''}"
    return done(f"{order_id}: {moved}", order_id=order_id, before=before, after=after)


def order_status(order_id: str) -> str | None:
    order = Order.get_or_none(Order.order_id == order_id)
    return order.status if order else None


def reconcile_all_pending(sender: Sender, operator: str) -> Outcome:
    """The periodic job itself, queued now: it picks every awaiting order due a check."""
    record_audit(operator, "reconcile_requested", None, scope="all_pending")
    sender.send(RECONCILE)
    due = "every order awaiting payment that is due a check"
    return done(f"queued the periodic reconciliation: {due}")
