"""The transactional outbox: every customer message is a row written with its cause."""

from datetime import timedelta

from loguru import logger
from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)
from playhouse.postgres_ext import BinaryJSONField, DateTimeTZField

from config.logs import mask_email, mask_phone
from models.base import BaseModel, utcnow
from models.events import had_payment_attempt
from models.messages import UNPAID_TEMPLATES
from models.orders import Order
from models.statuses import CHANNELS, Channel, OutboxStatus


class OutboxMessage(BaseModel):
    order = ForeignKeyField(Order, column_name="order_id", backref="outbox")
    channel = CharField()
    template_name = CharField()
    recipient = CharField()
    payload = BinaryJSONField(default=dict)
    status = CharField(default=OutboxStatus.PENDING)
    attempt_count = IntegerField(default=0)
    next_retry_at = DateTimeTZField(null=True)
    last_error = TextField(null=True)
    error_history = BinaryJSONField(default=list)
    claimed_at = DateTimeTZField(null=True)
    sent_at = DateTimeTZField(null=True)
    provider_message_id = CharField(null=True)
    resend_of = BigIntegerField(null=True)
    released_by_operator = BooleanField(default=False)  # requeued/resent: past the hourly budget
    delivery_status = CharField(null=True)  # WhatsApp: sent, delivered, read or failed (Meta's)
    delivery_status_at = DateTimeTZField(null=True)
    created_at = DateTimeTZField(default=utcnow)
    updated_at = DateTimeTZField(default=utcnow)

    class Meta:
        table_name = "notification_outbox"


def masked_recipient(row: OutboxMessage) -> str:
    """The recipient as logs and operator screens may show it."""
    if row.channel == Channel.EMAIL:
        return mask_email(row.recipient)
    return mask_phone(row.recipient)


# Messages that anyone who knows an address can cause (a checkout that was never paid, a "lost
# link" request): at most this many a day to one recipient, so the shop cannot be used to flood
# anyone. Messages about money that moved (payment success, refund, access revoked) are never
# capped.
CAPPED_TEMPLATES = ("payment_instructions", "payment_reminder", "order_expired", "access_link")
CAPPED_PER_RECIPIENT_PER_DAY = 5
# Messages about an order nobody has paid for (UNPAID_TEMPLATES, which also greet without the
# name). They go only to a checkout whose payment Midtrans has reported (a stranger's contact
# typed into the form never started one), and within a shop-wide hourly budget
# (models/delivery.py).


def over_daily_cap(recipient: str, template_name: str) -> bool:
    """True when `recipient` already got the day's share of capped messages."""
    if template_name not in CAPPED_TEMPLATES:
        return False
    sent_today = OutboxMessage.select().where(
        (OutboxMessage.recipient == recipient)
        & OutboxMessage.template_name.in_(CAPPED_TEMPLATES)
        & (OutboxMessage.created_at > utcnow() - timedelta(days=1))
    )
    return sent_today.count() >= CAPPED_PER_RECIPIENT_PER_DAY


def queue_again(order_id: str, channel: str, template_name: str, recipient: str, payload: dict):
    """One more row for a message an order may get more than once (a "lost link" request, an
    owner's access correction); its id, or None when a concurrent one took the slot. The first
    is the order's row for this template; later ones point at the latest (the once-per-order
    unique index allows only one row without `resend_of`)."""
    latest = (
        OutboxMessage.select(OutboxMessage.id)
        .where(
            (OutboxMessage.order == order_id)
            & (OutboxMessage.channel == channel)
            & (OutboxMessage.template_name == template_name)
        )
        .order_by(OutboxMessage.id.desc())
        .first()
    )
    inserted = (
        OutboxMessage.insert(
            order=order_id,
            channel=channel,
            template_name=template_name,
            recipient=recipient,
            payload=payload,
            resend_of=latest.id if latest else None,
        )
        .on_conflict_ignore()
        .returning(OutboxMessage.id)
        .execute()
    )
    return next((row.id for row in inserted), None)


def queue_message(order: Order, template_name: str, payload: dict) -> list[int]:
    """Inserts one row per channel unless already queued (or the recipient is over the daily
    cap, or the message is about an unpaid order Midtrans never saw a payment attempt for), all
    in one statement; returns the ids of new rows.

    Call inside the transaction that causes the message; enqueue delivery after commit.
    """
    if template_name in UNPAID_TEMPLATES and not had_payment_attempt(order.order_id):
        logger.info("{} not queued: no payment attempt was ever reported", template_name)
        return []
    recipients = {Channel.EMAIL: order.customer_email, Channel.WHATSAPP: order.customer_phone}
    rows = []
    for channel in CHANNELS:
        if over_daily_cap(recipients[channel], template_name):
            logger.warning("{} {} not queued: recipient over the daily cap", channel, template_name)
            continue
        rows.append(
            {
                "order": order.order_id,
                "channel": channel,
                "template_name": template_name,
                "recipient": recipients[channel],
                "payload": payload,
            }
        )
    if not rows:
        return []
    inserted = (
        OutboxMessage.insert_many(rows).on_conflict_ignore().returning(OutboxMessage.id).execute()
    )
    return [row.id for row in inserted]
