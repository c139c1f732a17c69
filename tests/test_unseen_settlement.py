"""A refund or partial refund reached through a settlement the system never saw (a backlog, an
outage, a lost webhook): the first notification processed finds the Status API already past it.

Real web, real worker, the sandbox's Status API, SMTP and WhatsApp inbox.
"""

import pytest

from models.audit import AuditEntry
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.orders import Order
from models.outbox import OutboxMessage
from tasks.reconciliation import expire_if_due
from tests.conftest import declared_actor, the_worker, wait_for
from tests.factories import midtrans_transition, open_payment
from tests.notification_helpers import mails, use_policy, whatsapp_messages

WEBHOOK = "/webhooks/midtrans"
REFUNDED_SUBJECT = "Pembayaran dikembalikan: pesanan Buat Film Pakai AI"
SUCCESS_SUBJECT = "Pembayaran diterima: akses kursus Buat Film Pakai AI"


def _unsent(sandbox_api, order_id: str, transaction_status: str) -> dict:
    fields = {"transaction_status": transaction_status, "payment_type": "bank_transfer"}
    return midtrans_transition(sandbox_api, order_id, notify=False, **fields)["notification"]


def _first_notification_after(sandbox_api, http, order_id: str, *truth: str) -> None:
    """Midtrans says pending (that notification waits in a backlog), then moves through `truth`
    without notifying; only then does the pending notification reach the web."""
    pending = _unsent(sandbox_api, order_id, "pending")
    for transaction_status in truth:
        _unsent(sandbox_api, order_id, transaction_status)
    assert http.post(WEBHOOK, json=pending).status_code == 200


def _delivered(sandbox_api, order_id: str) -> tuple[list[str], list[str]]:
    """(mail subjects, WhatsApp template names) once every outbox row of the order is sent."""
    rows = OutboxMessage.select().where(OutboxMessage.order == order_id)
    wait_for(lambda: all(r.status == "SENT" for r in rows.clone()), message="outbox sent")
    subjects = sorted(mail["subject"] for mail in mails(sandbox_api))
    templates = sorted(message["template"] for message in whatsapp_messages(sandbox_api))
    return subjects, templates


def _processed(order_id: str) -> PaymentEvent:
    """The notification's event, once the worker has decided it."""
    return wait_for(
        lambda: PaymentEvent.get_or_none(
            (PaymentEvent.order_id == order_id) & PaymentEvent.processed
        ),
        message="the notification processed",
    )


def _transition(order_id: str) -> AuditEntry:
    return AuditEntry.get(
        (AuditEntry.order_id == order_id) & (AuditEntry.action == "midtrans_transition")
    )


@pytest.mark.parametrize("reversal", ["refund", "chargeback"])
def test_a_refund_found_at_the_first_notification_ends_refunded_with_one_refund_message(
    db, worker, http, sandbox_api, monkeypatch, reversal
):
    use_policy()
    order_id = open_payment()["order_id"]
    _first_notification_after(sandbox_api, http, order_id, "settlement", reversal)
    assert _processed(order_id).verified_status == reversal
    order = Order.get_by_id(order_id)
    assert order.status == "REFUNDED" and order.paid_at is None and not order.flagged
    assert _transition(order_id).old_status == "PENDING_PAYMENT"
    assert Entitlement.select().where(Entitlement.order == order_id).count() == 0
    subjects, templates = _delivered(sandbox_api, order_id)
    assert subjects.count(REFUNDED_SUBJECT) == 1 and SUCCESS_SUBJECT not in subjects
    assert templates.count("payment_refunded") == 1 and "payment_success" not in templates
    reconcile_order = declared_actor("reconcile_order")

    reconcile_order(order_id)  # asked again later: the same answer changes nothing
    assert Order.get_by_id(order_id).status == "REFUNDED"
    assert OutboxMessage.select().where(OutboxMessage.order == order_id).count() == len(
        subjects + templates
    )


def test_a_partial_refund_found_at_the_first_notification_pays_and_keeps_access(
    db, worker, http, sandbox_api, monkeypatch
):
    use_policy()
    order_id = open_payment()["order_id"]
    _first_notification_after(sandbox_api, http, order_id, "settlement", "partial_refund")
    assert _processed(order_id).verified_status == "partial_refund"  # the partial refund recorded
    order = Order.get_by_id(order_id)
    assert order.status == "PAID" and order.paid_at is not None
    audit = _transition(order_id)
    assert (audit.old_status, audit.details["transaction_status"]) == (
        "PENDING_PAYMENT",
        "partial_refund",
    )
    (entitlement,) = Entitlement.select().where(Entitlement.order == order_id)
    assert entitlement.status == "ACTIVE"
    subjects, templates = _delivered(sandbox_api, order_id)
    assert subjects.count(SUCCESS_SUBJECT) == 1 and REFUNDED_SUBJECT not in subjects
    assert templates.count("payment_success") == 1 and "payment_refunded" not in templates
    assert http.get(f"/access/{entitlement.access_token}").status_code == 200


def test_a_refund_of_a_locally_expired_order_ends_refunded_and_flagged(
    db, worker, sandbox_api, monkeypatch
):
    from models.base import utcnow

    reconcile_order = declared_actor("reconcile_order")

    use_policy()
    order_id = open_payment()["order_id"]
    Order.update(expires_at=utcnow()).where(Order.order_id == order_id).execute()
    expire_if_due(
        the_worker().services, order_id
    )  # what reconciliation does when Midtrans has no transaction yet
    for transaction_status in ("settlement", "refund"):  # paid late, refunded, never notified
        _unsent(sandbox_api, order_id, transaction_status)
    reconcile_order(order_id)
    order = Order.get_by_id(order_id)
    assert order.status == "REFUNDED" and order.flagged
    assert Entitlement.select().where(Entitlement.order == order_id).count() == 0
    subjects, templates = _delivered(sandbox_api, order_id)
    assert subjects.count(REFUNDED_SUBJECT) == 1 and templates.count("payment_refunded") == 1


def test_a_deny_that_reverses_a_settlement_never_seen_ends_refunded(db, sandbox_api):
    """The Status API's deny carries the settlement time: a reversal, not a refused attempt."""
    process_notification = declared_actor("process_notification")

    order_id = open_payment()["order_id"]
    midtrans_transition(sandbox_api, order_id, transaction_status="settlement", notify=False)
    reversal = midtrans_transition(sandbox_api, order_id, transaction_status="deny", notify=False)[
        "notification"
    ]
    assert reversal["settlement_time"]
    process_notification(reversal)
    assert Order.get_by_id(order_id).status == "REFUNDED"
    assert Entitlement.select().where(Entitlement.order == order_id).count() == 0
    templates = {
        row.template_name for row in OutboxMessage.select().where(OutboxMessage.order == order_id)
    }
    assert templates == {"payment_refunded"}


def test_a_deny_of_an_attempt_never_settled_still_keeps_the_order_waiting(db, sandbox_api):
    process_notification = declared_actor("process_notification")

    order_id = open_payment()["order_id"]
    denied = midtrans_transition(sandbox_api, order_id, transaction_status="deny", notify=False)[
        "notification"
    ]
    assert "settlement_time" not in denied
    process_notification(denied)
    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"
