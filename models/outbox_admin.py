"""What an operator may do with outbox rows: look, requeue a dead or failed row, resend a
message as a new audited row. Nothing here touches an order's payment status."""

from __future__ import annotations

from collections.abc import Callable

from peewee import fn

from models.audit import record_audit
from models.base import utcnow
from models.db import transaction
from models.order_rows import outbox_row, page_count
from models.orders import Order
from models.outbox import OutboxMessage
from models.statuses import CHANNELS, OUTBOX_STATUSES, REQUEUEABLE, Channel, OutboxStatus

PAGE_SIZE = 50


class NothingToResend(LookupError):
    """The order is unknown or was never sent this template: there is no message to repeat."""


def outbox_query(status: str | None = None, order_id: str | None = None):
    """Rows newest first, optionally of one status and/or one order."""
    query = OutboxMessage.select().order_by(OutboxMessage.id.desc())
    if status:
        query = query.where(OutboxMessage.status == status)
    if order_id:
        query = query.where(OutboxMessage.order == order_id)
    return query


def list_outbox(
    status: str | None = None, order_id: str | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """The command line's list: at most `limit` rows."""
    return list(outbox_query(status, order_id).limit(limit))


def outbox_counts() -> dict[str, int]:
    counted = dict(
        OutboxMessage.select(OutboxMessage.status, fn.COUNT(1))
        .group_by(OutboxMessage.status)
        .tuples()
    )
    return {status: counted.get(status, 0) for status in OUTBOX_STATUSES}


def outbox_page(status: str | None, page: int) -> dict:
    """The console's list: one page of rows with the total and the counts per status."""
    query = outbox_query(status)
    total = query.count()
    return {
        "messages": [outbox_row(row) for row in query.paginate(page, PAGE_SIZE)],
        "total": total,
        "page": page,
        "pages": page_count(total, PAGE_SIZE),
        "status": status or "",
        "statuses": list(OUTBOX_STATUSES),
        "counts": outbox_counts(),
    }


def dead_rows(limit: int = 500) -> list[OutboxMessage]:
    """Rows that will not be delivered without an operator: DLQ and FAILED."""
    return list(
        OutboxMessage.select()
        .where(OutboxMessage.status.in_(REQUEUEABLE))
        .order_by(OutboxMessage.updated_at.desc())
        .limit(limit)
    )


def requeue_row(outbox_id: int, actor: str) -> bool:
    """DLQ or FAILED -> PENDING with a fresh round of attempts; the error history stays. The
    operator vouches for the row, so a message held by the hourly budget is sent this time.

    Call inside a transaction; enqueue the delivery after commit. False if not requeueable.
    """
    now = utcnow()
    updated = list(
        OutboxMessage.update(
            status=OutboxStatus.PENDING,
            attempt_count=0,
            next_retry_at=None,
            claimed_at=None,
            released_by_operator=True,
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
    recipients = {Channel.EMAIL: order.customer_email, Channel.WHATSAPP: order.customer_phone}
    originals = _latest_rows(order_id, template_name, channels)
    if not originals:
        raise NothingToResend(f"order {order_id} was never sent {template_name}")
    if not all(original.payload for original in originals):
        raise NothingToResend(
            f"the {template_name} body of order {order_id} was deleted "
            "(RETENTION_MESSAGE_BODY_DAYS or a forget request): nothing to resend"
        )
    new_ids = [_resend_one(original, recipients[original.channel]) for original in originals]
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
        released_by_operator=True,  # asked for by an operator: not held by the hourly budget
    ).execute()


Wake = Callable[[list[int]], None]  # sends the delivery actor a message per outbox row id


def requeue_outbox_message(outbox_id: int, actor: str, wake: Wake) -> bool:
    """A DLQ or FAILED row gets a fresh round of attempts (audited), woken after commit;
    False if the row is not requeueable."""
    with transaction() as tx:
        requeued = requeue_row(outbox_id, actor)
        if requeued:
            tx.callbacks.append(lambda: wake([outbox_id]))
    return requeued


def resend_notification(
    order_id: str, template_name: str, actor: str, channels: tuple[str, ...], wake: Wake
) -> list[int]:
    """An operator's explicit resend: new audited rows pointing at the originals, delivered
    like any other. Raises NothingToResend."""
    with transaction() as tx:
        new_ids = resend_rows(order_id, template_name, actor, channels)
        tx.callbacks.append(lambda: wake(new_ids))
    return new_ids
