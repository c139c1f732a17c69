"""Reconciliation with the Status API: a lost or early notification costs minutes, not money,
and no order expires locally before Midtrans confirms it was never paid."""

from datetime import timedelta

import pytest

from integrations.errors import RetryableProviderError
from models.audit import AuditEntry
from models.base import utcnow
from models.events import PaymentEvent, store_event
from models.midtrans_status import parse_notification
from models.orders import Order, PaymentAttempt
from tests.conftest import inline_actors
from tests.factories import open_payment
from tests.webhook_helpers import (
    _assert_not_paid,
    _assert_paid_once,
    _drain,
    _outbox,
    _pay,
    _send_raw,
    _signed_notification,
    _status_checks,
)


@pytest.fixture
def maintenance(system):
    """The reconciliation actors, run inline."""
    return inline_actors()


def test_settlement_after_local_expiry_pays_and_flags(
    pending_order, sandbox_api, broker, maintenance
):
    Order.update(expires_at=utcnow() - timedelta(minutes=1)).where(
        Order.order_id == pending_order
    ).execute()
    maintenance.reconcile_order(pending_order)
    assert Order.get_by_id(pending_order).status == "EXPIRED"
    _pay(sandbox_api, pending_order)
    _drain(broker)
    _assert_paid_once(pending_order)
    assert Order.get_by_id(pending_order).flagged
    late = AuditEntry.get(
        (AuditEntry.order_id == pending_order) & (AuditEntry.new_status == "PAID")
    )
    assert late.old_status == "EXPIRED" and late.flagged
    assert "late settlement" in late.details["reason"]


def test_reconciliation_applies_a_status_whose_notification_was_seen_too_early(
    pending_order, sandbox_api, broker, maintenance
):
    early = _signed_notification(sandbox_api, pending_order, transaction_status="pending")
    assert _send_raw(sandbox_api, {**early, "transaction_status": "settlement"}) == 200
    _drain(broker)
    _pay(sandbox_api, pending_order, notify=False)  # the real settlement's webhook is lost
    maintenance.reconcile_order(pending_order)
    _assert_paid_once(pending_order)


@pytest.mark.parametrize(
    "answer, recorded",
    [
        ({"transaction_status": "deny"}, "DENIED attempts"),
        ({"transaction_status": "settlement", "gross_amount": "1000.00"}, "mismatch flags"),
    ],
)
def test_reconciling_the_same_answer_again_records_it_once(
    pending_order, sandbox_api, maintenance, answer, recorded
):
    _pay(sandbox_api, pending_order, notify=False, **answer)
    for _ in range(3):  # reconciliation asks every few minutes
        maintenance.reconcile_order(pending_order)
    denied = PaymentAttempt.select().where(
        (PaymentAttempt.order == pending_order) & (PaymentAttempt.kind == "DENIED")
    )
    audited = AuditEntry.select().where(
        (AuditEntry.order_id == pending_order) & AuditEntry.action.startswith("midtrans_")
    )
    assert (denied.count(), audited.count()) == (
        (1, 1) if answer["transaction_status"] == "deny" else (0, 1)
    ), recorded
    _assert_not_paid(pending_order)


def test_a_lost_notification_is_caught_by_reconciliation(
    pending_order, sandbox_api, broker, system
):
    _pay(sandbox_api, pending_order, notify=False)
    _drain(broker)
    assert Order.get_by_id(pending_order).status == "PENDING_PAYMENT"
    inline_actors().reconcile()
    _drain(broker, "maintenance", "webhooks")
    _assert_paid_once(pending_order)
    event = PaymentEvent.get(PaymentEvent.order_id == pending_order)
    assert event.source == "reconciliation"


def _expire_locally(order_id: str) -> None:
    Order.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        Order.order_id == order_id
    ).execute()


def test_an_order_expires_only_once_the_status_api_knows_no_payment(db, sandbox_api, maintenance):
    order_id = open_payment()["order_id"]
    maintenance.reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"  # not yet past its expiry
    _expire_locally(order_id)
    maintenance.reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "EXPIRED"
    assert _status_checks(sandbox_api, order_id) == 2
    assert _outbox(order_id, "order_expired") == []  # nobody started paying: nobody is told


def test_an_expired_order_that_was_paid_at_midtrans_becomes_paid(db, sandbox_api, maintenance):
    order_id = open_payment()["order_id"]
    _pay(sandbox_api, order_id, notify=False)
    _expire_locally(order_id)
    maintenance.reconcile_order(order_id)
    _assert_paid_once(order_id)
    assert _outbox(order_id, "order_expired") == []


def test_no_expiry_while_the_status_api_cannot_be_asked(db, sandbox_api, maintenance):
    order_id = open_payment()["order_id"]
    _expire_locally(order_id)
    sandbox_api.post("/_sandbox/midtrans/faults", json={"status_api": {"down": True}})
    with pytest.raises(RetryableProviderError):
        maintenance.reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"


def test_an_order_whose_only_attempt_was_denied_expires_once_its_window_closed(
    db, sandbox_api, maintenance
):
    order_id = open_payment()["order_id"]
    _pay(sandbox_api, order_id, transaction_status="deny", notify=False)
    maintenance.reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"  # the customer may retry
    _expire_locally(order_id)
    maintenance.reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "EXPIRED"
    assert _outbox(order_id, "order_expired") == ["EMAIL", "WHATSAPP"]


def _transaction_id(sandbox_api, order_id: str) -> str:
    return sandbox_api.get(f"/_sandbox/midtrans/transactions/{order_id}").json()["transaction_id"]


def _asked_by_transaction_id(sandbox_api, order_id: str) -> int:
    return _status_checks(sandbox_api, _transaction_id(sandbox_api, order_id))


def test_a_dana_payment_whose_settlement_notification_was_lost_is_found_paid(
    pending_order, sandbox_api, broker, maintenance
):
    _pay(sandbox_api, pending_order, transaction_status="pending", payment_type="dana")
    _drain(broker)  # verified by its transaction id: the order id finds nothing for DANA
    assert Order.get_by_id(pending_order).status == "PENDING_PAYMENT"
    _pay(sandbox_api, pending_order, payment_type="dana", notify=False)
    maintenance.reconcile_order(pending_order)
    _assert_paid_once(pending_order)
    assert _asked_by_transaction_id(sandbox_api, pending_order) == 2


def test_reconciliation_never_expires_a_dana_payment_midtrans_still_waits_for(
    pending_order, sandbox_api, broker, maintenance
):
    _pay(sandbox_api, pending_order, transaction_status="pending", payment_type="dana")
    _drain(broker)
    _expire_locally(pending_order)
    maintenance.reconcile_order(pending_order)
    assert Order.get_by_id(pending_order).status == "PENDING_PAYMENT"
    assert _outbox(pending_order, "order_expired") == []
    _pay(sandbox_api, pending_order, payment_type="dana", notify=False)
    maintenance.reconcile_order(pending_order)
    _assert_paid_once(pending_order)


def _stored_unverified(order_id: str, transaction_id: str) -> None:
    """A signed notification naming this attempt, stored while the Status API cannot find it."""
    body = {
        "order_id": order_id,
        "transaction_id": transaction_id,
        "transaction_status": "pending",
        "status_code": "201",
        "gross_amount": "99000.00",
        "payment_type": "dana",
    }
    store_event(parse_notification(body), body, "webhook")


def test_an_order_whose_reported_attempt_cannot_be_found_is_not_expired(
    db, sandbox_api, maintenance
):
    order_id = open_payment()["order_id"]
    _stored_unverified(order_id, "a0a0a0a0-dana-attempt")
    _expire_locally(order_id)
    maintenance.reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"
    assert _status_checks(sandbox_api, "a0a0a0a0-dana-attempt") == 1


def test_another_orders_transaction_id_cannot_pay_or_expire_an_order(db, sandbox_api, maintenance):
    paid_elsewhere = open_payment()["order_id"]
    _pay(sandbox_api, paid_elsewhere, payment_type="dana", notify=False)
    order_id = open_payment()["order_id"]
    _stored_unverified(order_id, _transaction_id(sandbox_api, paid_elsewhere))
    _expire_locally(order_id)
    maintenance.reconcile_order(order_id)
    _assert_not_paid(order_id)
    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"
