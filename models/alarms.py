"""Alarms the operator can act on, computed from the database by one function that /health,
the admin console and the periodic alarm actor all call, so they never disagree."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from peewee import fn

from models.base import utcnow
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.orders import Order
from models.outbox import OutboxMessage

ACCESS_GRACE = timedelta(minutes=5)
EXAMPLE_LIMIT = 10


@dataclass(frozen=True)
class Alarm:
    """One condition that needs a person; `order_ids` holds a few examples, never personal data."""

    name: str
    message: str
    count: int
    order_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def paid_without_access(now: datetime) -> Alarm | None:
    """PAID for more than ACCESS_GRACE but no ACTIVE entitlement: the customer paid for nothing."""
    active = Entitlement.select(Entitlement.order).where(Entitlement.status == "ACTIVE")
    query = Order.select(Order.order_id).where(
        (Order.status == "PAID")
        & (Order.paid_at < now - ACCESS_GRACE)
        & Order.order_id.not_in(active)
    )
    count = query.count()
    if not count:
        return None
    examples = [order.order_id for order in query.order_by(Order.paid_at).limit(EXAMPLE_LIMIT)]
    return Alarm(
        "paid_without_access",
        f"{count} paid order(s) without active course access for over 5 minutes",
        count,
        examples,
    )


def outbox_dead_letters() -> Alarm | None:
    """Messages that exhausted their retries wait for an operator's requeue."""
    query = OutboxMessage.select(OutboxMessage.order).where(OutboxMessage.status == "DLQ")
    count = query.count()
    if not count:
        return None
    examples = sorted({row.order_id for row in query.limit(EXAMPLE_LIMIT)})
    return Alarm(
        "outbox_dead_letters",
        f"{count} notification(s) in DLQ: requeue them once the cause is fixed",
        count,
        examples,
    )


def last_webhook_at() -> datetime | None:
    """When Midtrans last reached us (reconciliation results do not count)."""
    return (
        PaymentEvent.select(fn.MAX(PaymentEvent.received_at))
        .where(PaymentEvent.source == "webhook")
        .scalar()
    )


def webhook_silence(now: datetime, silence: timedelta) -> Alarm | None:
    """Orders have awaited payment longer than `silence` and no webhook came in that time:
    the notification URL, TLS or a proxy in front of it is probably broken."""
    last_received = last_webhook_at()
    if last_received is not None and now - last_received < silence:
        return None
    waiting = Order.select(Order.order_id).where(
        (Order.status == "PENDING_PAYMENT") & (Order.created_at < now - silence)
    )
    count = waiting.count()
    if not count:
        return None
    since = last_received.isoformat() if last_received else "never"
    examples = [order.order_id for order in waiting.order_by(Order.created_at).limit(EXAMPLE_LIMIT)]
    return Alarm(
        "webhook_silence",
        f"no Midtrans webhook for over {int(silence.total_seconds() // 60)} minutes "
        f"(last: {since}) while {count} order(s) await payment",
        count,
        examples,
    )


def current_alarms(webhook_silence_minutes: int, now: datetime | None = None) -> list[Alarm]:
    """Every alarm that holds right now; needs an open database connection."""
    now = now or utcnow()
    found = (
        paid_without_access(now),
        outbox_dead_letters(),
        webhook_silence(now, timedelta(minutes=webhook_silence_minutes)),
    )
    return [alarm for alarm in found if alarm is not None]
