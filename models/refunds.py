"""Refunds the owner asks Midtrans for: the row written before the call (so a retry reuses
its refund_key), and the one table of which methods Midtrans refunds, how far back, whether in
part, and at what hours.

Sources (read 2026-12-07): Midtrans' Refund Transaction
(https://docs.midtrans.com/reference/refund-transaction: "supported only for credit_card,
gopay, shopeepay, dana, ovo, QRIS, kredivo and akulaku", the per-method refund windows) and
Direct Refund Transaction (https://docs.midtrans.com/reference/direct-refund-transaction:
ShopeePay refuses refunds from 23:55 to 06:00 WIB). Virtual accounts and Indomaret/Alfamart
are not refundable through the API: the owner transfers the money back by hand.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from peewee import CharField, ForeignKeyField, IntegerField, TextField
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField

from models.base import SHOP_TIMEZONE, BaseModel, utcnow
from models.events import PaymentEvent
from models.orders import Order
from models.pricing import format_idr
from models.statuses import RefundStatus


class Refund(BaseModel):
    order = ForeignKeyField(Order, column_name="order_id", backref="refunds")
    refund_key = CharField(unique=True)
    amount = IntegerField()
    reason = TextField()
    operator = CharField()
    status = CharField(default=RefundStatus.REQUESTED)
    answer = BinaryJSONField(null=True)
    created_at = DateTimeTZField(default=utcnow)
    updated_at = DateTimeTZField(default=utcnow)

    class Meta:
        table_name = "refunds"


@dataclass(frozen=True)
class RefundRule:
    """What Midtrans allows for one payment method."""

    window: timedelta
    partial: bool = True
    hours: tuple[time, time] | None = None  # WIB; outside them the provider refuses


_WIB_DAYTIME = (time(6, 0), time(23, 50))  # ShopeePay refuses 23:55-06:00 WIB; 5 min spare

# payment_type (as Midtrans names it) -> its rule. QRIS: 7 days when paid from another app than
# the acquirer's ("QRIS OFF-US"), the shorter window, kept since the payer's app is not certain.
REFUND_RULES = {
    "credit_card": RefundRule(timedelta(days=180)),
    "gopay": RefundRule(timedelta(days=45)),
    "qris": RefundRule(timedelta(days=7)),
    "shopeepay": RefundRule(timedelta(days=365), partial=False, hours=_WIB_DAYTIME),
    "dana": RefundRule(timedelta(days=45)),
    "ovo": RefundRule(timedelta(days=7), partial=False),
    "kredivo": RefundRule(timedelta(days=14)),
    "akulaku": RefundRule(timedelta(days=14)),
}

# Paid into a bank account or at a store counter: Midtrans cannot send the money back.
MANUAL_REFUND_METHODS = frozenset({"bank_transfer", "echannel", "permata", "cstore"})
MANUAL_REFUND_STEPS = (
    "Midtrans cannot refund a {method} payment: refund it by hand. 1) Ask the customer for "
    "their bank account (bank, number, name). 2) Transfer {amount} from the shop's account. "
    '3) Then end the access: ./run.sh admin access revoke {order_id} --reason "refunded by '
    'bank transfer ..."'
)


class RefundNotAllowed(Exception):
    """What Midtrans would refuse (or cannot do): said before anything is asked of it."""


def refund_refusal(
    order: Order, payment_type: str | None, amount: int, refunded: int, now: datetime
) -> str | None:
    """Why this refund cannot be asked of Midtrans (None when it can): the method, the window
    since payment, a partial amount where only full refunds exist, the hours, the amount."""
    method = payment_type or "unknown"
    if method in MANUAL_REFUND_METHODS:
        return MANUAL_REFUND_STEPS.format(
            method=method, amount=format_idr(amount), order_id=order.order_id
        )
    rule = REFUND_RULES.get(method)
    if rule is None:
        return f"Midtrans refunds no {method} payment"
    if order.paid_at is not None and now - order.paid_at > rule.window:
        return f"a {method} payment can be refunded for {rule.window.days} days after payment"
    remaining = order.final_amount - refunded
    if not 0 < amount <= remaining:
        return f"the amount must be between Rp 1 and {format_idr(remaining)} (still refundable)"
    if not rule.partial and amount != order.final_amount:
        return f"a {method} payment can only be refunded in full ({format_idr(order.final_amount)})"
    if rule.hours and not rule.hours[0] <= now.astimezone(SHOP_TIMEZONE).time() <= rule.hours[1]:
        return f"{method} refunds only between 06:00 and 23:50 WIB"
    return None


def paid_with(order_id: str) -> str | None:
    """The payment method Midtrans reported for the order's payment (its verified report)."""
    paid = (
        PaymentEvent.select(PaymentEvent.payment_type)
        .where(
            (PaymentEvent.order_id == order_id)
            & PaymentEvent.verified_status.in_(("settlement", "capture"))
        )
        .order_by(PaymentEvent.id.desc())
        .first()
    )
    return paid.payment_type if paid else None


def new_refund_key() -> str:
    """Unique per refund, Midtrans' allowed characters, short enough to be the Idempotency-Key
    too (at most 46 characters)."""
    return f"rf-{uuid.uuid4().hex}"


def open_refund(order_id: str) -> Refund | None:
    """The order's refund still in flight (asked, not yet confirmed nor refused): a repeated
    request reuses it instead of starting a second one."""
    in_flight = (RefundStatus.REQUESTED, RefundStatus.ACCEPTED)
    query = Refund.select().where((Refund.order == order_id) & Refund.status.in_(in_flight))
    return query.order_by(Refund.id).first()


# Midtrans keeps a refund_key for 7 days: the same request again within them is a repeat.
REPEAT_WINDOW = timedelta(days=7)


def normalised_reason(reason: str) -> str:
    """A reason as compared for repeats: case and spacing do not make another request."""
    return " ".join(reason.split()).casefold()


def repeated_refund(order_id: str, amount: int, reason: str, now: datetime) -> Refund | None:
    """The refund Midtrans took or confirmed for this order with the same amount and reason
    within REPEAT_WINDOW: a second such request is the same command again (a retry, a double
    click), not a second refund. A refused one may be asked again."""
    taken = (RefundStatus.ACCEPTED, RefundStatus.CONFIRMED)
    query = Refund.select().where(
        (Refund.order == order_id)
        & Refund.status.in_(taken)
        & (Refund.amount == amount)
        & (Refund.created_at > now - REPEAT_WINDOW)
    )
    wanted = normalised_reason(reason)
    return next((row for row in query if normalised_reason(row.reason) == wanted), None)


def refunded_amount(order_id: str) -> int:
    """What Midtrans took or confirmed so far: the ceiling for the next partial refund."""
    taken = (RefundStatus.ACCEPTED, RefundStatus.CONFIRMED)
    rows = Refund.select(Refund.amount).where((Refund.order == order_id) & Refund.status.in_(taken))
    return sum(row.amount for row in rows)


def record_answer(refund: Refund, status: str, answer: dict) -> bool:
    """Midtrans' answer to the call; only a REQUESTED row moves (a payment notification may have
    confirmed it already, while the answer travelled). Whether it moved."""
    moved = (
        Refund.update(status=status, answer=answer, updated_at=utcnow())
        .where((Refund.id == refund.id) & (Refund.status == RefundStatus.REQUESTED))
        .execute()
    )
    return bool(moved)


def confirm_refunds(order_id: str, confirmed_keys: tuple[str, ...]) -> int:
    """Midtrans listed these refund keys with bank_confirmed_at: those refunds are done."""
    if not confirmed_keys:
        return 0
    return (
        Refund.update(status=RefundStatus.CONFIRMED, updated_at=utcnow())
        .where(
            (Refund.order == order_id)
            & Refund.refund_key.in_(list(confirmed_keys))
            & (Refund.status != RefundStatus.CONFIRMED)
        )
        .execute()
    )


def names_unconfirmed_refund(order_id: str, confirmed_keys: tuple[str, ...]) -> bool:
    """Whether a body names as bank-confirmed a refund of ours not yet CONFIRMED here."""
    if not confirmed_keys:
        return False
    query = Refund.select().where(
        (Refund.order == order_id)
        & Refund.refund_key.in_(list(confirmed_keys))
        & (Refund.status != RefundStatus.CONFIRMED)
    )
    return query.exists()
