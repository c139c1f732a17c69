"""What an operator may do with outbox rows: look, requeue a dead or failed row, resend a
message as a new audited row. Nothing here touches an order's payment status."""

from __future__ import annotations

from models.audit import record_audit
from models.base import utcnow
from models.orders import Order
from models.outbox import CHANNELS, OutboxMessage
from runtime.logs import mask_email, mask_phone

STATUSES = ("PENDING", "SENDING", "SENT", "RETRYING", "FAILED", "DLQ")
REQUEUEABLE = ("DLQ", "FAILED")


class NothingToResend(LookupError):
    """The order is unknown or was never sent this template: there is no message to repeat."""


def masked_recipient(row: OutboxMessage) -> str:
    """The recipient as logs and operator screens may show it."""
    return mask_email(row.recipient) if row.channel == "EMAIL" else mask_phone(row.recipient)


def list_outbox(
    status: str | None = None, order_id: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """Newest first, optionally one status and/or one order."""
    query = OutboxMessage.select().order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    if order_id:
        query = query.where(OutboxMessage.order == order_id)
    return list(query)


def dead_rows(limit: int = 500) -> list[OutboxMessage]:
    """Rows that will not be delivered without an operator: DLQ and FAILED."""
    return list(
        OutboxMessage.select()
        .where(OutboxMessage.status.in_(REQUEUEABLE))
        .order_by(OutboxMessage.updated_at.desc())
        .limit(limit)
    )


def requeue_row(outbox_id: int, actor: str) -> bool:
    """DLQ or FAILED -> PENDING with a fresh round of attempts; the error history stays.

    Call inside a transaction; enqueue the delivery after commit. False if not requeueable.
    """
    now = utcnow()
    updated = list(
        OutboxMessage.update(
            status="PENDING",
            attempt_count=0,
            next_retry_at=None,
            claimed_at=None,
            updated_at=now,
        )
        .where((OutboxMessage.id == outbox_id) & OutboxMessage.status.in_(REQUEUEABLE))
        .returning(OutboxMessage.order, OutboxMessage.status)
        .execute()
    )
    if not updated:
        return False
    record_audit(actor, "outbox_requeued", updated[0].order_id, outbox_id=outbox_id)
    return True


def resend_rows(
    order_id: str, template_name: str, actor: str, channels: tuple[str, ...] = CHANNELS
) -> list[int]:
    """New rows (resend_of the latest row per channel) to the order's current contacts.

    Call inside a transaction; enqueue the deliveries after commit. Raises NothingToResend.
    """
    order = Order.get_or_none(Order.order_id == order_id)
    if order is None:
        raise NothingToResend(f"no order {order_id}")
    recipients = {"EMAIL": order.customer_email, "WHATSAPP": order.customer_phone}
    new_ids = [
        _resend_one(original, recipients[original.channel])
        for original in _latest_rows(order_id, template_name, channels)
    ]
    if not new_ids:
        raise NothingToResend(f"order {order_id} was never sent {template_name}")
    record_audit(actor, "outbox_resend", order_id, template_name=template_name, outbox_ids=new_ids)
    return new_ids


def _latest_rows(
    order_id: str, template_name: str, channels: tuple[str, ...]
) -> list[OutboxMessage]:
    rows = (
        OutboxMessage.select()
        .where(
            (OutboxMessage.order == order_id)
            & (OutboxMessage.template_name == template_name)
            & OutboxMessage.channel.in_(channels)
        )
        .order_by(OutboxMessage.id.desc())
    )
    latest: dict[str, OutboxMessage] = {}
    for row in rows:
        latest.setdefault(row.channel, row)
    return [latest[channel] for channel in sorted(latest)]


def _resend_one(original: OutboxMessage, recipient: str) -> int:
    return OutboxMessage.insert(
        order=original.order_id,
        channel=original.channel,
        template_name=original.template_name,
        recipient=recipient,
        payload=original.payload,
        resend_of=original.id,
    ).execute()
