"""The one payment reminder: an order whose virtual account, QRIS or store code is still open
gets a single message a few hours before its payment expires (PAYMENT_REMINDER_HOURS_BEFORE).

Only a payment Midtrans reported as pending counts (the rule of unpaid-order messages: a contact
typed into the form that never started paying gets nothing), and only one the customer started
before the reminder's moment: a payment begun later just received its instructions. The outbox's
once-per-order index, the per-recipient cap and the unpaid-order budget apply as to any unpaid
message."""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import SQL, fn

from models.events import PaymentEvent
from models.midtrans_status import parse_notification
from models.orders import Order
from models.outbox import OutboxMessage, queue_message
from models.payments import instructions
from models.statuses import OrderStatus

REMINDER_TEMPLATE = "payment_reminder"
# Payments that stay open until the customer pays elsewhere: virtual accounts (Permata, Mandiri
# Bill's echannel included), QRIS and store codes; a card or e-wallet is paid at once or not.
OPEN_PAYMENT_TYPES = ("bank_transfer", "echannel", "permata", "qris", "cstore")


def _open_payment_started_before(moment):
    """A pending report of an open-payment method received before `moment` (a column
    expression), for use as a subquery beside Order."""
    return PaymentEvent.select(SQL("1")).where(
        (PaymentEvent.order_id == Order.order_id)
        & (PaymentEvent.transaction_status == "pending")
        & PaymentEvent.payment_type.in_(OPEN_PAYMENT_TYPES)
        & (PaymentEvent.received_at <= moment)
    )


def due_reminders(now: datetime, lead: timedelta, limit: int) -> list[str]:
    """Orders still awaiting an open payment that expires within `lead`, started earlier than
    `lead` before its expiry, and not reminded yet: their ids."""
    reminded = OutboxMessage.select(SQL("1")).where(
        (OutboxMessage.order == Order.order_id) & (OutboxMessage.template_name == REMINDER_TEMPLATE)
    )
    due = (
        Order.select(Order.order_id)
        .where(
            (Order.status == OrderStatus.PENDING_PAYMENT)
            & (Order.expires_at > now)
            & (Order.expires_at <= now + lead)
            & fn.EXISTS(_open_payment_started_before(Order.expires_at - lead))
            & ~fn.EXISTS(reminded)
        )
        .order_by(Order.expires_at)
        .limit(limit)
    )
    return [order.order_id for order in due]


def queue_reminder(order_id: str) -> list[int]:
    """The reminder's outbox rows for a still-pending order (locked: a payment that lands
    meanwhile wins), with the number or code of its latest open payment; call inside a
    transaction, wake the deliveries after commit."""
    order = Order.locked(order_id)
    if order is None or order.status != OrderStatus.PENDING_PAYMENT:
        return []
    latest = (
        PaymentEvent.select()
        .where(
            (PaymentEvent.order_id == order_id)
            & (PaymentEvent.transaction_status == "pending")
            & PaymentEvent.payment_type.in_(OPEN_PAYMENT_TYPES)
        )
        .order_by(PaymentEvent.received_at.desc())
        .first()
    )
    return queue_message(
        order, REMINDER_TEMPLATE, instructions(order, parse_notification(latest.raw))
    )
