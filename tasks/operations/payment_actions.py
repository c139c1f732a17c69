"""The owner's money actions through Midtrans: refund a paid order, approve or deny a card
payment held for review, cancel or expire a payment still open. Each only ASKS Midtrans: the
order's status moves when Midtrans' payment notification or the Status API says so (the
reconciliation of the order is queued at once, so a lost notification costs nothing).
Worker code (it calls Midtrans): takes the worker's services, as reconcile_order_now does."""

from __future__ import annotations

from integrations.errors import (
    ActionRefused,
    AlreadyDone,
    ProviderError,
    RetryableProviderError,
    TransactionNotFound,
)
from messaging.contract import RECONCILE_ORDER
from models.audit import record_audit
from models.base import utcnow
from models.db import transaction
from models.orders import Order
from models.pricing import format_idr
from models.refunds import (
    Refund,
    new_refund_key,
    open_refund,
    paid_with,
    record_answer,
    refund_refusal,
    refunded_amount,
    repeated_refund,
)
from models.state_machine import is_awaiting_payment
from models.statuses import OrderStatus, RefundStatus
from models.wib import wib_text
from tasks.clients import status_answer
from tasks.operations import REFUSED, Outcome, audited_unchanged, done, refused
from tasks.services import WorkerServices

MOVES_LATER = "asked Midtrans; the order moves when Midtrans confirms"
CHALLENGE_DECISIONS = ("approve", "deny")
# The Status API's transaction_status -> the Midtrans call that ends it: a pending payment
# (an open virtual account, QRIS or store code) is expired, which is what Midtrans itself does
# when its time runs out; a card payment captured or authorised but not settled is cancelled
# (no money arrives). Settled money is refunded instead.
ENDING_CALL = {"pending": "expire", "capture": "cancel", "authorize": "cancel"}


def refund_order(
    worker: WorkerServices, operator: str, order_id: str, reason: str, amount: int | None = None
) -> Outcome:
    """Asks Midtrans to refund `amount` (the rest when None) of a paid order. The refund row is
    written first; a refund still in flight is reused with its refund_key, and the same request
    as one Midtrans already took (same amount and reason, within 7 days) is not sent again, so
    a repeat, a retry after a timeout or a double click never refunds twice."""
    with transaction():
        order = Order.locked(order_id)
        in_flight = open_refund(order_id) if order else None
        repeat = _repeat_of(order, in_flight, reason, amount)
        problem = None if repeat else _refund_problem(order, in_flight, amount)
        refund = in_flight
        if problem is None and repeat is None and in_flight is None:
            refund = _new_refund(order, operator, reason, amount)
    if problem:
        return refused(operator, "refund_refused", order_id, problem, f"Refused: {problem}")
    if repeat:
        return _already_refunded(operator, repeat)
    if in_flight and amount is not None and amount != in_flight.amount:
        return _other_amount_refused(worker, operator, in_flight, amount)
    return _complete_refund(worker, operator, refund)


def _repeat_of(
    order: Order | None, in_flight: Refund | None, reason: str, amount: int | None
) -> Refund | None:
    """The refund this request repeats (models.refunds.repeated_refund), if any."""
    if order is None or in_flight is not None:
        return None
    wanted = amount if amount is not None else order.final_amount - refunded_amount(order.order_id)
    return repeated_refund(order.order_id, wanted, reason, utcnow())


def _already_refunded(operator: str, repeat: Refund) -> Outcome:
    said = (
        f"unchanged: {format_idr(repeat.amount)} was already refunded on "
        f"{wib_text(repeat.created_at)} (refund_key {repeat.refund_key}); to refund again, "
        "give another --reason"
    )
    return audited_unchanged(
        operator, "refund_unchanged", repeat.order_id, said, refund_key=repeat.refund_key
    )


def _other_amount_refused(
    worker: WorkerServices, operator: str, in_flight: Refund, amount: int
) -> Outcome:
    """Another amount asked while a refund is in flight: that refund is completed first (sent
    again if Midtrans never answered) and the new amount is not asked."""
    if in_flight.status == RefundStatus.REQUESTED:
        _ask_refund(worker, operator, in_flight)
    said = (
        f"the refund of {format_idr(in_flight.amount)} in flight (refund_key "
        f"{in_flight.refund_key}) is being completed first; {format_idr(amount)} was not asked "
        "of Midtrans: ask it again once that refund is confirmed"
    )
    return refused(
        operator, "refund_refused", in_flight.order_id, said, f"Refused: {said}",
        refund_key=in_flight.refund_key,
    )  # fmt: skip


def _complete_refund(worker: WorkerServices, operator: str, refund: Refund) -> Outcome:
    """Sends a refund Midtrans has not answered yet; one it took is only waited for."""
    if refund.status == RefundStatus.ACCEPTED:
        said = f"Midtrans already has refund {refund.refund_key} ({format_idr(refund.amount)})"
        return audited_unchanged(
            operator, "refund_unchanged", refund.order_id, f"{said}; {MOVES_LATER}"
        )
    return _ask_refund(worker, operator, refund)


def _refund_problem(order: Order | None, refund: Refund | None, amount: int | None) -> str | None:
    """Why no refund can be asked now (None when it can, or when one is in flight)."""
    if order is None:
        return "no such order"
    if refund is not None:
        return None
    if order.status != OrderStatus.PAID:
        return f"the order is {order.status}: only a paid order can be refunded"
    refunded = refunded_amount(order.order_id)
    wanted = amount if amount is not None else order.final_amount - refunded
    return refund_refusal(order, paid_with(order.order_id), wanted, refunded, utcnow())


def _new_refund(order: Order, operator: str, reason: str, amount: int | None) -> Refund:
    """The refund row, written (and audited) before Midtrans is asked."""
    amount = amount if amount is not None else order.final_amount - refunded_amount(order.order_id)
    refund = Refund.create(
        order=order.order_id,
        refund_key=new_refund_key(),
        amount=amount,
        reason=reason,
        operator=operator,
    )
    record_audit(
        operator, "refund_requested", order.order_id, reason=reason, amount=amount,
        refund_key=refund.refund_key,
    )  # fmt: skip
    return refund


def _ask_refund(worker: WorkerServices, operator: str, refund: Refund) -> Outcome:
    """Sends the refund (again, with the same refund_key) and keeps Midtrans' answer."""
    order_id, key = refund.order_id, refund.refund_key
    try:
        answer = worker.midtrans.refund(order_id, key, refund.amount, refund.reason)
    except AlreadyDone as error:
        answer = {"status_code": "406", "status_message": str(error)}
    except (ActionRefused, TransactionNotFound) as error:
        with transaction():
            record_answer(refund, RefundStatus.REFUSED, {"refused": str(error)})
        said = f"Midtrans refused the refund: {error}"
        return refused(operator, "refund_refused", order_id, said, said, refund_key=key)
    except ProviderError as error:
        return _unanswered(operator, "refund", order_id, error, refund_key=key)
    with transaction() as tx:
        record_answer(refund, RefundStatus.ACCEPTED, answer)
        record_audit(operator, "refund_accepted", order_id, refund_key=key, amount=refund.amount)
        tx.callbacks.append(lambda: worker.send(RECONCILE_ORDER, order_id))
    said = f"Refund of {format_idr(refund.amount)} for {order_id} (refund_key {key}): {MOVES_LATER}"
    return done(said, order_id=order_id, refund_key=key, amount=refund.amount)


def _unanswered(operator: str, action: str, order_id: str, error: ProviderError, **fields):
    """Midtrans did not answer: nothing is known to have happened; the same command again is
    safe (a refund sends the same refund_key)."""
    said = f"Midtrans did not answer ({error}); run the same command again: it is safe"
    retryable = isinstance(error, RetryableProviderError)
    with transaction():
        record_audit(operator, f"{action}_unanswered", order_id, error=str(error), **fields)
    return Outcome(REFUSED, said, {"order_id": order_id, "retryable": retryable, **fields})


def decide_challenge(
    worker: WorkerServices, operator: str, order_id: str, decision: str, reason: str
) -> Outcome:
    """Approves or denies (`decision`) a card payment Midtrans holds for review
    (fraud_status challenge); Midtrans refuses (412) anything else."""
    if decision not in CHALLENGE_DECISIONS:
        raise ValueError(f"decision is approve or deny, not {decision!r}")
    return _ask_action(worker, operator, order_id, decision, reason, f"challenge_{decision}")


def cancel_payment(worker: WorkerServices, operator: str, order_id: str, reason: str) -> Outcome:
    """Ends a payment still open at Midtrans: expire for a pending one, cancel for a card
    payment not settled (ENDING_CALL); a paid order is refunded instead."""
    order = Order.get_or_none(Order.order_id == order_id)
    problem = None if order else "no such order"
    if order and not is_awaiting_payment(order.status):
        problem = f"the order is {order.status}: only an order awaiting payment can be cancelled"
    if problem:
        return refused(operator, "cancel_refused", order_id, problem, f"Refused: {problem}")
    try:
        status = status_answer(worker.midtrans, order_id)
    except TransactionNotFound:
        problem = "Midtrans has no payment for this order yet; it expires by itself"
        return refused(operator, "cancel_refused", order_id, problem, f"Refused: {problem}")
    except ProviderError as error:
        return _unanswered(operator, "cancel", order_id, error)
    call = ENDING_CALL.get(str(status.get("transaction_status", "")).lower())
    if call is None:
        problem = f"Midtrans reports {status.get('transaction_status')}: nothing open to cancel"
        return refused(operator, "cancel_refused", order_id, problem, f"Refused: {problem}")
    return _ask_action(worker, operator, order_id, call, reason, "cancel")


def _ask_action(
    worker: WorkerServices, operator: str, order_id: str, call: str, reason: str, action: str
) -> Outcome:
    """One Midtrans action on the order's transaction, audited as `action`."""
    if Order.get_or_none(Order.order_id == order_id) is None:
        return refused(operator, f"{action}_refused", order_id, "no such order")
    try:
        worker.midtrans.act(order_id, call)
    except (ActionRefused, TransactionNotFound) as error:
        said = f"Midtrans refused to {call}: {error}"
        return refused(operator, f"{action}_refused", order_id, said, said)
    except ProviderError as error:
        return _unanswered(operator, action, order_id, error)
    with transaction() as tx:
        record_audit(operator, f"{action}_requested", order_id, reason=reason, midtrans_call=call)
        tx.callbacks.append(lambda: worker.send(RECONCILE_ORDER, order_id))
    return done(f"{order_id}: {call} {MOVES_LATER}", order_id=order_id, midtrans_call=call)
