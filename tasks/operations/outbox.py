"""Operations on customer messages (outbox rows): requeue a dead or failed row, resend a
message as new rows pointing at the originals."""

from __future__ import annotations

from functools import partial

from messaging.redis import Sender, wake_deliveries
from models.outbox import OutboxMessage
from models.outbox_admin import NothingToResend, requeue_outbox_message, resend_notification
from tasks.operations import Outcome, done, refused


def requeue_outbox_row(sender: Sender, operator: str, outbox_id: int) -> Outcome:
    """A DLQ or FAILED row gets a fresh round of attempts; any other row is refused."""
    if requeue_outbox_message(outbox_id, operator, partial(wake_deliveries, sender)):
        return done(f"Requeued outbox row {outbox_id}", outbox_id=outbox_id)
    row = OutboxMessage.get_or_none(OutboxMessage.id == outbox_id)
    reason = f"row is {row.status}" if row else "no such row"
    message = f"Outbox row {outbox_id} is not in DLQ or FAILED ({reason})"
    order_id = row.order_id if row else None
    return refused(
        operator, "outbox_requeue_refused", order_id, reason, message, outbox_id=outbox_id
    )


def resend_message(
    sender: Sender, operator: str, order_id: str, template_name: str, channels: list[str]
) -> Outcome:
    """The message again, to the order's current contacts, as new audited rows."""
    wake = partial(wake_deliveries, sender)
    try:
        new_ids = resend_notification(order_id, template_name, operator, tuple(channels), wake)
    except NothingToResend as refusal:
        return refused(
            operator,
            "outbox_resend_refused",
            order_id,
            str(refusal),
            f"Nothing to resend: {refusal}",
            template=template_name,
        )
    queued = ", ".join(map(str, new_ids))
    return done(
        f"Queued resend of {template_name} for {order_id}: outbox rows {queued}",
        outbox_ids=new_ids,
    )
