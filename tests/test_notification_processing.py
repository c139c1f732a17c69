"""Midtrans notifications processed by a real worker: no forged, duplicated, reordered or
late notification may give access without payment, take it away wrongly, or pay twice."""

import threading

from models.audit import AuditEntry
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.orders import Order
from tests.factories import midtrans_transition
from tests.midtrans_vectors import GO_SETTLEMENT
from tests.webhook_helpers import (
    WEBHOOK,
    _assert_not_paid,
    _assert_paid_once,
    _dead_letters,
    _drain,
    _outbox,
    _pay,
    _send_raw,
    _signed_notification,
    _status_checks,
)


def test_twenty_concurrent_identical_notifications_pay_once(
    http, pending_order, sandbox_api, broker
):
    body = _signed_notification(
        sandbox_api, pending_order, transaction_status="settlement", payment_type="bank_transfer"
    )
    start = threading.Barrier(20)
    statuses = []

    def deliver():
        start.wait()
        statuses.append(http.post(WEBHOOK, json=body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * 20
    _drain(broker)
    _assert_paid_once(pending_order)
    assert PaymentEvent.select().count() == 1


def test_settlement_then_a_late_pending_stays_paid(pending_order, sandbox_api, broker):
    _pay(sandbox_api, pending_order)
    _drain(broker)
    settlement = midtrans_transition(
        sandbox_api, pending_order, transaction_status="settlement", notify=False
    )["notification"]
    late_pending = {**settlement, "transaction_status": "pending", "status_code": "201"}
    assert _send_raw(sandbox_api, late_pending) == 200
    _drain(broker)
    _assert_paid_once(pending_order)
    late = PaymentEvent.get(PaymentEvent.transaction_status == "pending")
    assert late.processed and late.outcome == "no_op_duplicate"


def test_a_late_pending_never_unpays_even_as_the_status_apis_answer(
    pending_order, sandbox_api, broker
):
    _pay(sandbox_api, pending_order)
    _drain(broker)
    _pay(sandbox_api, pending_order, transaction_status="pending")  # Midtrans itself says pending
    _drain(broker)
    _assert_paid_once(pending_order)
    stale = PaymentEvent.get(PaymentEvent.verified_status == "pending")
    assert stale.outcome == "ignored_stale"


def test_pending_then_settlement_twice_is_one_payment(pending_order, sandbox_api, broker):
    _pay(sandbox_api, pending_order, transaction_status="pending")
    _drain(broker)
    assert Order.get_by_id(pending_order).status == "PENDING_PAYMENT"
    settlement = _signed_notification(sandbox_api, pending_order, transaction_status="settlement")
    for _ in range(2):
        assert _send_raw(sandbox_api, settlement) == 200
        _drain(broker)
    _assert_paid_once(pending_order)
    assert PaymentEvent.select().count() == 2  # pending and settlement; the repeat is no event


def test_a_relabelled_cancel_is_decided_by_the_status_api(pending_order, sandbox_api, broker):
    cancel = _signed_notification(sandbox_api, pending_order, transaction_status="cancel")
    relabelled = {**cancel, "transaction_status": "settlement"}  # the signature still matches
    assert _send_raw(sandbox_api, relabelled) == 200
    _drain(broker)
    _assert_not_paid(pending_order)
    assert Order.get_by_id(pending_order).status == "FAILED"
    event = PaymentEvent.get(PaymentEvent.order_id == pending_order)
    assert (event.transaction_status, event.verified_status) == ("settlement", "cancel")


def test_a_replayed_body_cannot_hide_the_real_settlement_behind_its_key(
    pending_order, sandbox_api, broker
):
    pending = _signed_notification(
        sandbox_api, pending_order, transaction_status="pending", payment_type="bank_transfer"
    )
    forged = {**pending, "transaction_status": "settlement"}  # takes the real one's key
    assert _send_raw(sandbox_api, forged) == 200
    _drain(broker)
    assert Order.get_by_id(pending_order).status == "PENDING_PAYMENT"
    _pay(sandbox_api, pending_order)  # the real settlement: same key, so stored as a duplicate
    _drain(broker, "webhooks", "maintenance")
    assert PaymentEvent.select().where(PaymentEvent.transaction_status == "settlement").count() == 1
    _assert_paid_once(pending_order)


def test_an_amount_mismatch_is_flagged_never_paid_and_not_retried(
    pending_order, sandbox_api, broker
):
    _pay(sandbox_api, pending_order, gross_amount="1000.00")
    _drain(broker, timeout_ms=10_000)
    _assert_not_paid(pending_order)
    order = Order.get_by_id(pending_order)
    assert order.status == "PENDING_PAYMENT" and order.flagged
    event = PaymentEvent.get(PaymentEvent.order_id == pending_order)
    assert event.processed and event.outcome == "flagged_amount_mismatch"
    assert "amount mismatch" in event.flag_reason
    assert _status_checks(sandbox_api, pending_order) == 1  # decided once, never retried
    assert _dead_letters(broker) == 0


def test_an_unknown_order_is_stored_flagged_and_not_retried(clean, worker, sandbox_api, broker, db):
    body = {**GO_SETTLEMENT, "order_id": "BFA-20240101-never-existed"}
    assert _send_raw(sandbox_api, body) == 200
    _drain(broker, timeout_ms=10_000)
    event = PaymentEvent.get(PaymentEvent.order_id == body["order_id"])
    assert event.processed and event.outcome == "flagged_unknown_order"
    assert Order.select().count() == 0
    assert _status_checks(sandbox_api, body["order_id"]) == 1  # decided once, never retried
    assert _dead_letters(broker) == 0


def test_a_fee_imposition_original_amount_is_accepted(pending_order, sandbox_api, broker):
    _pay(sandbox_api, pending_order, gross_amount="101500.00", original_amount=99000)
    _drain(broker)
    _assert_paid_once(pending_order)
    assert not Order.get_by_id(pending_order).flagged


def _with_original_amount(body: dict, original: int) -> dict:
    return {
        **body,
        "metadata": {"extra_info": {"gross_amount_info": {"original_amount": original}}},
    }


def test_a_fee_imposed_payment_is_paid_when_only_the_notification_carries_the_original(
    pending_order, sandbox_api, broker
):
    # The Status API confirms 101.500 but shows no pre-fee price; the notification has it.
    settled = _signed_notification(
        sandbox_api, pending_order, transaction_status="settlement", gross_amount="101500.00"
    )
    assert "metadata" not in settled
    assert _send_raw(sandbox_api, _with_original_amount(settled, 99000)) == 200
    _drain(broker)
    _assert_paid_once(pending_order)
    assert not Order.get_by_id(pending_order).flagged


def test_a_notification_original_amount_is_not_trusted_for_another_amount(
    pending_order, sandbox_api, broker
):
    settled = _signed_notification(
        sandbox_api, pending_order, transaction_status="settlement", gross_amount="101500.00"
    )
    claimed = {**_with_original_amount(settled, 99000), "gross_amount": "99000.00"}
    assert _send_raw(sandbox_api, claimed) == 200  # signed over its own (false) amount
    _drain(broker)
    _assert_not_paid(pending_order)
    event = PaymentEvent.get(PaymentEvent.order_id == pending_order)
    assert event.outcome == "flagged_amount_mismatch"


def test_a_relabelled_refund_cannot_hide_the_real_refund_of_a_paid_order(
    pending_order, sandbox_api, broker
):
    from models.midtrans_status import idempotency_key, parse_notification

    settlement = _signed_notification(
        sandbox_api, pending_order, transaction_status="settlement", payment_type="bank_transfer"
    )
    assert _send_raw(sandbox_api, settlement) == 200
    _drain(broker)
    _assert_paid_once(pending_order)
    forged = {**settlement, "transaction_status": "refund"}  # signed fields untouched
    assert _send_raw(sandbox_api, forged) == 200
    _drain(broker, "webhooks", "maintenance")
    assert Order.get_by_id(pending_order).status == "PAID"  # the Status API says settlement
    flagged = PaymentEvent.get(PaymentEvent.transaction_status == "refund")
    assert "the notification said 'refund', the Status API says 'settlement'" in (
        flagged.flag_reason
    )
    assert AuditEntry.get(AuditEntry.action == "midtrans_notification_disagrees").flagged

    refund = _signed_notification(sandbox_api, pending_order, transaction_status="refund")
    assert idempotency_key(parse_notification(refund)) == flagged.idempotency_key  # the hole
    assert _send_raw(sandbox_api, refund) == 200  # stored as a duplicate of the forged one
    _drain(broker, "webhooks", "maintenance")
    assert Order.get_by_id(pending_order).status == "REFUNDED"
    assert Entitlement.get(Entitlement.order == pending_order).status == "REVOKED"
    assert _outbox(pending_order, "access_revoked") == ["EMAIL", "WHATSAPP"]


def test_a_late_pending_after_settlement_is_not_flagged_as_a_disagreement(
    pending_order, sandbox_api, broker
):
    pending = _signed_notification(
        sandbox_api, pending_order, transaction_status="pending", payment_type="bank_transfer"
    )
    _pay(sandbox_api, pending_order)
    _drain(broker)
    assert _send_raw(sandbox_api, pending) == 200  # arrives after the settlement
    _drain(broker)
    late = PaymentEvent.get(PaymentEvent.transaction_status == "pending")
    assert late.verified_status == "settlement" and late.flag_reason is None
    assert not AuditEntry.select().where(AuditEntry.flagged).exists()


def test_two_partial_refunds_of_different_amounts_are_both_recorded(
    pending_order, sandbox_api, broker
):
    _pay(sandbox_api, pending_order)
    _drain(broker)
    for amount in (20000, 30000):
        _pay(sandbox_api, pending_order, transaction_status="partial_refund", refund_amount=amount)
        _drain(broker)
    second = PaymentEvent.select().order_by(PaymentEvent.id.desc()).get().raw
    assert _send_raw(sandbox_api, second) == 200  # Midtrans sends the second one again
    _drain(broker)
    refunds = PaymentEvent.select().where(PaymentEvent.transaction_status == "partial_refund")
    assert [event.outcome for event in refunds.order_by(PaymentEvent.id)] == ["recorded"] * 2
    assert [item["refund_amount"] for item in second["refunds"]] == ["20000.00", "30000.00"]
    recorded = AuditEntry.select().where(AuditEntry.action == "midtrans_recorded")
    assert recorded.count() == 2
    _assert_paid_once(pending_order)


def test_a_pending_processed_after_midtrans_settled_pays_and_raises_no_alarm(
    pending_order, sandbox_api, broker
):
    pending = _signed_notification(
        sandbox_api, pending_order, transaction_status="pending", payment_type="bank_transfer"
    )
    _signed_notification(sandbox_api, pending_order, transaction_status="settlement")
    assert _send_raw(sandbox_api, pending) == 200  # worked off a backlog: Midtrans has settled
    _drain(broker)
    _assert_paid_once(pending_order)
    late = PaymentEvent.get(PaymentEvent.transaction_status == "pending")
    assert late.verified_status == "settlement" and late.flag_reason is None
    assert not AuditEntry.select().where(AuditEntry.flagged).exists()
    assert not Order.get_by_id(pending_order).flagged
