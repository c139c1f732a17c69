"""Raw Midtrans notifications as received, each stored once by its idempotency key, and
marked processed with what they did."""

from enum import StrEnum

from peewee import BooleanField, CharField, IntegerField, TextField
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField

from models.base import BaseModel, utcnow
from models.midtrans_status import MidtransNotification, idempotency_key
from models.orders import PaymentAttempt

# More attempts than this on one order is not a customer paying: the newest are asked.
MAX_TRANSACTION_IDS_ASKED = 3


class EventSource(StrEnum):
    """Where a stored payment notification came from (the values stored in `source`)."""

    WEBHOOK = "webhook"  # Midtrans' HTTP notification, its status unsigned
    RECONCILIATION = "reconciliation"  # the Status API's answer, asked by us


class PaymentEvent(BaseModel):
    idempotency_key = CharField(unique=True)
    order_id = CharField()
    transaction_id = CharField(null=True)
    transaction_status = CharField()
    fraud_status = CharField(null=True)
    status_code = CharField(null=True)
    gross_amount = CharField(null=True)
    payment_type = CharField(null=True)
    source = CharField(default=EventSource.WEBHOOK)
    raw = BinaryJSONField()
    verified_status = CharField(null=True)
    processed = BooleanField(default=False)
    processed_at = DateTimeTZField(null=True)
    outcome = CharField(null=True)
    flag_reason = TextField(null=True)
    received_at = DateTimeTZField(default=utcnow)
    sweep_count = IntegerField(default=0)
    parked_at = DateTimeTZField(null=True)

    class Meta:
        table_name = "payment_events"


def reports_for(order_id):
    """Midtrans' reports about an order (a signed notification or a Status API answer), for use
    as a subquery; `order_id` is a value or a column such as `Order.order_id`."""
    return PaymentEvent.select(PaymentEvent.id).where(PaymentEvent.order_id == order_id)


def had_payment_attempt(order_id: str) -> bool:
    """True once Midtrans has reported a transaction for the order: someone opened its payment
    page and picked a method (or paid). A checkout alone never makes Midtrans report anything;
    the Status API knows no transaction for it, so nothing is stored."""
    return reports_for(order_id).exists()


def store_event(
    notification: MidtransNotification, raw: dict, source: str
) -> tuple["PaymentEvent", bool]:
    """Inserts the raw notification once; returns (the stored row, whether it was new): the
    caller needs no second read of what it just wrote."""
    key = idempotency_key(notification)
    inserted = list(
        PaymentEvent.insert(
            idempotency_key=key,
            order_id=notification.order_id,
            transaction_id=notification.transaction_id,
            transaction_status=notification.transaction_status,
            fraud_status=notification.fraud_status,
            status_code=notification.status_code,
            gross_amount=notification.gross_amount_text,
            payment_type=notification.payment_type,
            source=source,
            raw=raw,
        )
        .on_conflict_ignore()
        .returning(PaymentEvent)
        .execute()
    )
    if inserted:
        return inserted[0], True
    return PaymentEvent.get(PaymentEvent.idempotency_key == key), False


def paid_by_unsettled_capture(order_id: str) -> bool:
    """The order's payment was a card capture and no settlement of it has been seen: Midtrans
    may still void it (a `cancel` before settlement)."""
    seen = {
        event.verified_status
        for event in PaymentEvent.select(PaymentEvent.verified_status).where(
            (PaymentEvent.order_id == order_id) & PaymentEvent.processed
        )
    }
    return "capture" in seen and "settlement" not in seen


def locked_event(event_id: int) -> PaymentEvent:
    """The event row under SELECT ... FOR UPDATE; only meaningful inside a transaction."""
    return PaymentEvent.select().where(PaymentEvent.id == event_id).for_update().get()


def finish_event(
    event: PaymentEvent, outcome: str, verified: MidtransNotification, flag_reason: str | None
) -> None:
    """Marks the event processed with what the verified status did to its order."""
    PaymentEvent.update(
        processed=True,
        processed_at=utcnow(),
        outcome=outcome,
        verified_status=verified.transaction_status,
        flag_reason=flag_reason,
    ).where(PaymentEvent.id == event.id).execute()


def known_transaction_ids(order_id: str) -> list[str]:
    """Midtrans' ids of the order's payment attempts, newest first (at most
    MAX_TRANSACTION_IDS_ASKED), from its notifications and the Status API answers recorded."""
    events = PaymentEvent.select(PaymentEvent.transaction_id, PaymentEvent.received_at).where(
        (PaymentEvent.order_id == order_id) & PaymentEvent.transaction_id.is_null(False)
    )
    attempts = PaymentAttempt.select(
        PaymentAttempt.transaction_id, PaymentAttempt.created_at
    ).where((PaymentAttempt.order == order_id) & PaymentAttempt.transaction_id.is_null(False))
    seen = [(event.received_at, event.transaction_id) for event in events]
    seen += [(attempt.created_at, attempt.transaction_id) for attempt in attempts]
    newest_first = dict.fromkeys(transaction_id for _, transaction_id in sorted(seen, reverse=True))
    return list(newest_first)[:MAX_TRANSACTION_IDS_ASKED]
