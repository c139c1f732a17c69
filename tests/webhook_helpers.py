"""Helpers shared by the notification tests: signed bodies from the sandbox, draining the
worker's queues, and what the database says about an order's payment."""

import dramatiq

from models.audit import AuditEntry
from models.entitlements import Entitlement
from models.orders import Order
from models.outbox import OutboxMessage
from tests.factories import midtrans_transition

WEBHOOK = "/webhooks/midtrans"


def _enqueued_notifications(broker) -> list[dict]:
    stored = broker.client.hvals(f"{broker.namespace}:webhooks.msgs")
    return [dramatiq.Message.decode(raw).args[0] for raw in stored]


def _signed_notification(sandbox_api, order_id: str, **transition) -> dict:
    """Moves the sandbox transaction and returns its signed notification, unsent."""
    return midtrans_transition(sandbox_api, order_id, notify=False, **transition)["notification"]


def _send_raw(sandbox_api, body: dict) -> int:
    """The sandbox signs `body` over its own fields and POSTs it to the web; the web's status."""
    answer = sandbox_api.post("/_sandbox/midtrans/notify", json={"body": body, "sign": True})
    answer.raise_for_status()
    return answer.json()["delivery_status"]


def _pay(sandbox_api, order_id: str, **transition) -> None:
    """The customer pays (or not): Midtrans changes state and notifies the web (unless
    notify=False: the notification is lost)."""
    fields = {"transaction_status": "settlement", "payment_type": "bank_transfer", **transition}
    delivered = midtrans_transition(sandbox_api, order_id, **fields)["delivery_status"]
    assert delivered == (200 if fields.get("notify", True) else None)


def _drain(broker, *queues: str, timeout_ms: int = 20_000) -> None:
    """Waits until every message on the queues (retries included) has been processed."""
    for queue_name in queues or ("webhooks", "maintenance"):
        broker.join(queue_name, timeout=timeout_ms)


def _dead_letters(broker) -> int:
    return sum(
        broker.client.zcard(f"{broker.namespace}:{name}.XQ")
        for name in ("webhooks", "maintenance", "payments")
    )


def _paid_transitions(order_id: str) -> int:
    return (
        AuditEntry.select()
        .where(
            (AuditEntry.order_id == order_id)
            & (AuditEntry.action == "midtrans_transition")
            & (AuditEntry.new_status == "PAID")
        )
        .count()
    )


def _outbox(order_id: str, template_name: str) -> list[str]:
    rows = OutboxMessage.select().where(
        (OutboxMessage.order == order_id) & (OutboxMessage.template_name == template_name)
    )
    return sorted(row.channel for row in rows)


def _assert_paid_once(order_id: str) -> None:
    order = Order.get_by_id(order_id)
    assert order.status == "PAID" and order.paid_at is not None
    assert _paid_transitions(order_id) == 1
    (entitlement,) = Entitlement.select().where(Entitlement.order == order_id)
    assert entitlement.status == "ACTIVE" and len(entitlement.access_token) >= 32
    assert _outbox(order_id, "payment_success") == ["EMAIL", "WHATSAPP"]


def _assert_not_paid(order_id: str) -> None:
    order = Order.get_by_id(order_id)
    assert order.status != "PAID" and order.paid_at is None
    assert Entitlement.select().where(Entitlement.order == order_id).count() == 0
    assert _outbox(order_id, "payment_success") == []


def _status_checks(sandbox_api, order_id: str) -> int:
    calls = sandbox_api.get("/_sandbox/midtrans/requests").json()
    return sum(call["path"] == f"/v2/{order_id}/status" for call in calls)
