"""The order state machine: what a Midtrans transaction_status, or what Snap answered when the
payment link was asked for, does to an order.

Pure rules, no I/O. The caller locks the order row, calls `decide` (or `decide_local`), then
persists the new status and carries out the effects in the same transaction, through the one
status writer (models/payments.py).
"""

from dataclasses import dataclass
from enum import StrEnum

from models.statuses import AWAITING_PAYMENT, OrderStatus


class Effect(StrEnum):
    GRANT_ACCESS = "GRANT_ACCESS"  # ACTIVE entitlement + payment-success notifications
    REVOKE_ACCESS = "REVOKE_ACCESS"  # entitlement REVOKED + "access revoked" notification
    NOTIFY_EXPIRED = "NOTIFY_EXPIRED"  # "order expired, order again" notification
    NOTIFY_REFUNDED = "NOTIFY_REFUNDED"  # "payment refunded" notification (access never given)
    NOTIFY_INSTRUCTIONS = "NOTIFY_INSTRUCTIONS"  # how to pay, once Midtrans knows the method
    RECORD_ATTEMPT = "RECORD_ATTEMPT"  # a denied attempt before payment: record it, keep waiting
    FLAG = "FLAG"  # an operator must look; the reason is in Decision.flag_reason


class Outcome(StrEnum):
    TRANSITION = "transition"
    DUPLICATE = "no_op_duplicate"
    STALE = "ignored_stale"
    RECORDED = "recorded"
    UNKNOWN_STATUS = "flagged_unknown_status"


class _Event(StrEnum):
    """What a (transaction_status, fraud_status) pair means for an order."""

    AWAITING = "awaiting"
    PENDING = "pending"  # the customer picked a payment method; Midtrans waits for the money
    PAYMENT = "payment"
    DENIAL = "denial"
    CANCELLATION = "cancellation"
    VOID = "void"  # a `cancel` of a card capture Midtrans has not settled: no money arrives
    EXPIRY = "expiry"
    REVERSAL = "reversal"
    PARTIAL_REVERSAL = "partial_reversal"


@dataclass(frozen=True)
class Decision:
    """What one Midtrans status means for one order; new_status == previous_status when unmoved."""

    previous_status: str
    new_status: str
    outcome: str
    effects: frozenset[Effect] = frozenset()
    flag_reason: str | None = None

    @property
    def changed(self) -> bool:
        return self.new_status != self.previous_status


@dataclass(frozen=True)
class _Rule:
    outcome: Outcome
    new_status: OrderStatus | None = None  # None keeps the current status
    effects: frozenset[Effect] = frozenset()
    flag_reason: str | None = None


def _rule(
    outcome: Outcome, new_status: OrderStatus | None, effects: tuple[Effect, ...], flag: str | None
) -> _Rule:
    """A flag reason always brings the FLAG effect with it."""
    flagged = (Effect.FLAG,) if flag else ()
    return _Rule(outcome, new_status, frozenset(effects + flagged), flag)


def _to(status: OrderStatus, *effects: Effect, flag: str | None = None) -> _Rule:
    return _rule(Outcome.TRANSITION, status, effects, flag)


def _keep(outcome: Outcome, *effects: Effect, flag: str | None = None) -> _Rule:
    return _rule(outcome, None, effects, flag)


# Card and settlement statuses depend on the fraud verdict; every other status ignores it
# (Midtrans sends fraud_status "accept" on plain pending bank transfers too).
_FRAUD_SENSITIVE_EVENTS = {
    ("capture", "accept"): _Event.PAYMENT,
    ("capture", "challenge"): _Event.AWAITING,
    ("capture", "deny"): _Event.DENIAL,
    ("settlement", None): _Event.PAYMENT,
    ("settlement", "accept"): _Event.PAYMENT,
    ("settlement", "challenge"): _Event.AWAITING,
    ("settlement", "deny"): _Event.DENIAL,
}
_FRAUD_BLIND_EVENTS = {
    "pending": _Event.PENDING,
    "authorize": _Event.AWAITING,
    "deny": _Event.DENIAL,
    "cancel": _Event.CANCELLATION,
    "failure": _Event.CANCELLATION,
    "expire": _Event.EXPIRY,
    "refund": _Event.REVERSAL,
    "chargeback": _Event.REVERSAL,
    "partial_refund": _Event.PARTIAL_REVERSAL,
    "partial_chargeback": _Event.PARTIAL_REVERSAL,
}

_LATE_PAYMENT = "late settlement after expired/failed: money was taken"
_PAYMENT_AFTER_REFUND = "settlement after refund: money received for a refunded order"
_CANCEL_AFTER_PAYMENT = "cancel/failure after payment: check whether the money was returned"
_REFUND_UNRECORDED = "refund for a failed/expired order: a payment was never recorded"
_PARTIAL_REFUND_UNRECORDED = "partial refund for a failed/expired order: a late payment was taken"
_PARTIAL_AFTER_REFUND = "partial refund for an already refunded order"
_REVERSAL = "deny after payment: the payment was reversed and access revoked"
_VOID = "cancel of an unsettled card capture: the payment was voided and access revoked"

_CREATED, _PENDING, _PAID = OrderStatus.CREATED, OrderStatus.PENDING_PAYMENT, OrderStatus.PAID
_FAILED, _EXPIRED, _REFUNDED = OrderStatus.FAILED, OrderStatus.EXPIRED, OrderStatus.REFUNDED

# Every (event, current status) cell, so a reader checks the whole machine in one screen.
_RULES: dict[_Event, dict[OrderStatus, _Rule]] = {
    # Payment instructions go out once Midtrans reports the method (a VA number, a store code):
    # a checkout alone sends nothing, so the form cannot be used to send messages to strangers.
    _Event.PENDING: {
        _CREATED: _to(_PENDING, Effect.NOTIFY_INSTRUCTIONS),
        _PENDING: _keep(Outcome.DUPLICATE, Effect.NOTIFY_INSTRUCTIONS),
        _PAID: _keep(Outcome.STALE),
        _FAILED: _keep(Outcome.STALE),
        _EXPIRED: _keep(Outcome.STALE),
        _REFUNDED: _keep(Outcome.STALE),
    },
    _Event.AWAITING: {
        _CREATED: _to(_PENDING),
        _PENDING: _keep(Outcome.DUPLICATE),
        _PAID: _keep(Outcome.STALE),
        _FAILED: _keep(Outcome.STALE),
        _EXPIRED: _keep(Outcome.STALE),
        _REFUNDED: _keep(Outcome.STALE),
    },
    _Event.PAYMENT: {
        _CREATED: _to(_PAID, Effect.GRANT_ACCESS),
        _PENDING: _to(_PAID, Effect.GRANT_ACCESS),
        _PAID: _keep(Outcome.DUPLICATE),
        _FAILED: _to(_PAID, Effect.GRANT_ACCESS, flag=_LATE_PAYMENT),
        _EXPIRED: _to(_PAID, Effect.GRANT_ACCESS, flag=_LATE_PAYMENT),
        _REFUNDED: _keep(Outcome.STALE, flag=_PAYMENT_AFTER_REFUND),
    },
    _Event.DENIAL: {
        _CREATED: _to(_PENDING, Effect.RECORD_ATTEMPT),
        _PENDING: _keep(Outcome.RECORDED, Effect.RECORD_ATTEMPT),
        _PAID: _to(_REFUNDED, Effect.REVOKE_ACCESS, flag=_REVERSAL),
        _FAILED: _keep(Outcome.STALE),
        _EXPIRED: _keep(Outcome.STALE),
        _REFUNDED: _keep(Outcome.STALE),
    },
    _Event.CANCELLATION: {
        _CREATED: _to(_FAILED),
        _PENDING: _to(_FAILED),
        _PAID: _keep(Outcome.STALE, flag=_CANCEL_AFTER_PAYMENT),
        _FAILED: _keep(Outcome.DUPLICATE),
        _EXPIRED: _keep(Outcome.STALE),
        _REFUNDED: _keep(Outcome.STALE),
    },
    # The capture was the payment; voided before settlement, no money ever arrives, so the
    # order ends as a failed one. Any other paid order ignores a late cancel (above).
    _Event.VOID: {
        _CREATED: _to(_FAILED),
        _PENDING: _to(_FAILED),
        _PAID: _to(_FAILED, Effect.REVOKE_ACCESS, flag=_VOID),
        _FAILED: _keep(Outcome.DUPLICATE),
        _EXPIRED: _keep(Outcome.STALE),
        _REFUNDED: _keep(Outcome.STALE),
    },
    _Event.EXPIRY: {
        _CREATED: _to(_EXPIRED, Effect.NOTIFY_EXPIRED),
        _PENDING: _to(_EXPIRED, Effect.NOTIFY_EXPIRED),
        _PAID: _keep(Outcome.STALE),
        _FAILED: _keep(Outcome.STALE),
        _EXPIRED: _keep(Outcome.DUPLICATE),
        _REFUNDED: _keep(Outcome.STALE),
    },
    # A refund or partial refund proves a settlement, even one never seen (a backlog, a lost
    # webhook): money taken and fully returned ends REFUNDED without access; partly returned, PAID.
    _Event.REVERSAL: {
        _CREATED: _to(_REFUNDED, Effect.NOTIFY_REFUNDED),
        _PENDING: _to(_REFUNDED, Effect.NOTIFY_REFUNDED),
        _PAID: _to(_REFUNDED, Effect.REVOKE_ACCESS),
        _FAILED: _to(_REFUNDED, Effect.NOTIFY_REFUNDED, flag=_REFUND_UNRECORDED),
        _EXPIRED: _to(_REFUNDED, Effect.NOTIFY_REFUNDED, flag=_REFUND_UNRECORDED),
        _REFUNDED: _keep(Outcome.DUPLICATE),
    },
    _Event.PARTIAL_REVERSAL: {
        _CREATED: _to(_PAID, Effect.GRANT_ACCESS),
        _PENDING: _to(_PAID, Effect.GRANT_ACCESS),
        _PAID: _keep(Outcome.RECORDED),
        _FAILED: _to(_PAID, Effect.GRANT_ACCESS, flag=_PARTIAL_REFUND_UNRECORDED),
        _EXPIRED: _to(_PAID, Effect.GRANT_ACCESS, flag=_PARTIAL_REFUND_UNRECORDED),
        _REFUNDED: _keep(Outcome.RECORDED, flag=_PARTIAL_AFTER_REFUND),
    },
}


def _normalise(value: str | None) -> str | None:
    """Midtrans' casing varies between APIs; an empty fraud_status means none was given."""
    return (value or "").strip().lower() or None


def _classify(transaction_status: str, fraud_status: str | None) -> _Event | None:
    status, fraud = _normalise(transaction_status), _normalise(fraud_status)
    if status in ("capture", "settlement"):
        return _FRAUD_SENSITIVE_EVENTS.get((status, fraud))
    return _FRAUD_BLIND_EVENTS.get(status)


def _unknown_reason(transaction_status: str, fraud_status: str | None) -> str:
    return f"unknown transaction_status {transaction_status!r} (fraud {fraud_status!r})"


def decide(
    current: str,
    transaction_status: str,
    fraud_status: str | None,
    settled: bool = False,
    unsettled_capture: bool = False,
) -> Decision:
    """The order's next status and the effects to carry out; never moves a paid order backwards
    but for a refund, a chargeback, a reversal or a void.

    `settled`: the status carries a settlement time, so a `deny` is the reversal of a payment
    (Permata VA, Mandiri bill, Indomaret) even when the order never saw that payment: money was
    taken and returned, as with a refund. `unsettled_capture`: the order was paid by a card
    capture that Midtrans has not settled, so a `cancel` voids that payment. Raises ValueError
    when `current` is not an order status.
    """
    current_status = OrderStatus(current)
    event = _classify(transaction_status, fraud_status)
    reversed_payment = _normalise(transaction_status) == "deny" and settled
    if reversed_payment and current_status != _PAID:
        event = _Event.REVERSAL
    if _normalise(transaction_status) == "cancel" and unsettled_capture and not settled:
        event = _Event.VOID
    if event is None:
        rule = _keep(Outcome.UNKNOWN_STATUS, flag=_unknown_reason(transaction_status, fraud_status))
    else:
        rule = _RULES[event][current_status]
    new_status = rule.new_status or current_status
    return Decision(current_status, new_status, rule.outcome, rule.effects, rule.flag_reason)


class LocalEvent(StrEnum):
    """What Snap answered when the worker asked for the order's payment link."""

    LINK_CREATED = "snap_created"  # a payment link: the customer can pay
    TRANSACTION_EXISTS = "snap_duplicate_adopted"  # the id is taken: Midtrans has it
    SNAP_REFUSED = "snap_refused"  # a 4xx: no payment can ever be made on this order


# Snap is asked only while an order is CREATED; in any other status the answer is stale.
_LOCAL_RULES: dict[LocalEvent, _Rule] = {
    LocalEvent.LINK_CREATED: _to(_PENDING),
    LocalEvent.TRANSACTION_EXISTS: _to(_PENDING),
    LocalEvent.SNAP_REFUSED: _to(_FAILED),
}


def decide_local(current: str, event: LocalEvent) -> Decision:
    """The order's next status after Snap's answer; only a CREATED order moves."""
    current_status = OrderStatus(current)
    rule = _LOCAL_RULES[event] if current_status == _CREATED else _keep(Outcome.STALE)
    new_status = rule.new_status or current_status
    return Decision(current_status, new_status, rule.outcome, rule.effects, rule.flag_reason)


def is_awaiting_payment(status: str) -> bool:
    """True for orders the reconciler should ask the Status API about."""
    return status in AWAITING_PAYMENT
