"""The one decision a stored payment notification gets (models/payment_decision.py), as a
table: pure rules, no database, no broker."""

from __future__ import annotations

import pytest

from models.events import EventSource, PaymentEvent
from models.midtrans_status import MidtransNotification
from models.orders import Order
from models.payment_decision import Verdict, decide_notification, with_fee_original

AMOUNT = "150000.00"


def status(transaction_status: str, **fields) -> MidtransNotification:
    return MidtransNotification("BFA-1", "200", AMOUNT, transaction_status, **fields)


def stored(claimed: str, source: str = EventSource.WEBHOOK, processed: bool = False):
    raw = {
        "order_id": "BFA-1",
        "status_code": "200",
        "gross_amount": AMOUNT,
        "transaction_status": claimed,
    }
    return PaymentEvent(
        id=1, order_id="BFA-1", transaction_status=claimed, source=source, raw=raw,
        processed=processed,
    )  # fmt: skip


def order(order_status: str) -> Order:
    return Order(order_id="BFA-1", status=order_status, final_amount=150_000)


WEBHOOK, RECONCILIATION = EventSource.WEBHOOK, EventSource.RECONCILIATION
APPLY, SKIP, UNKNOWN = Verdict.APPLY, Verdict.SKIP, Verdict.UNKNOWN_ORDER
AWAITING = "PENDING_PAYMENT"


# fmt: off
@pytest.mark.parametrize(
    ("order_status", "claimed", "source", "processed", "answer", "reapply", "verdict", "new_status", "disagrees"),  # noqa: E501
    [
        # A first settlement pays the order; the claim and the Status API agree.
        (AWAITING, "settlement", WEBHOOK, False, "settlement", False, APPLY, "PAID", False),
        # A settlement the Status API does not confirm: its answer is applied, and flagged.
        (AWAITING, "settlement", WEBHOOK, False, "expire", False, APPLY, "EXPIRED", True),
        # A `pending` processed after Midtrans settled is only late: no disagreement.
        (AWAITING, "pending", WEBHOOK, False, "settlement", False, APPLY, "PAID", False),
        # The Status API's own answer never disagrees with itself.
        (AWAITING, "settlement", RECONCILIATION, False, "settlement", False, APPLY, "PAID", False),
        # Processed already: nothing again.
        (AWAITING, "settlement", WEBHOOK, True, "settlement", False, SKIP, None, False),
        # Reconciliation re-applies an answer seen before only when it moves the order.
        ("PAID", "settlement", RECONCILIATION, True, "settlement", True, SKIP, None, False),
        ("EXPIRED", "settlement", RECONCILIATION, True, "settlement", True, APPLY, "PAID", False),
        # An unknown order is flagged once, never applied.
        (None, "settlement", WEBHOOK, False, "settlement", False, UNKNOWN, None, False),
        (None, "settlement", RECONCILIATION, True, "settlement", True, SKIP, None, False),
    ],
)
# fmt: on
def test_one_pure_decision_per_stored_notification(
    order_status, claimed, source, processed, answer, reapply, verdict, new_status, disagrees
):
    the_order = order(order_status) if order_status else None
    event = stored(claimed, source, processed)
    decided = decide_notification(
        the_order, event, status(answer), asked_status_api=True, reapply=reapply
    )
    assert decided.verdict == verdict
    assert (decided.decision.new_status if decided.decision else None) == new_status
    assert bool(decided.disagreement) == disagrees
    assert decided.finish_event == (verdict != Verdict.SKIP and not event.processed)


def test_a_cancel_voids_only_a_capture_midtrans_has_not_settled():
    paid, cancel = order("PAID"), status("cancel")
    voided = decide_notification(
        paid, stored("cancel"), cancel, asked_status_api=True, unsettled_capture=True
    )
    kept = decide_notification(paid, stored("cancel"), cancel, asked_status_api=True)
    assert voided.decision.new_status != "PAID"
    assert kept.decision.new_status == "PAID" and kept.decision.flag_reason


def test_a_paid_amount_that_is_not_the_orders_is_flagged_not_paid():
    wrong = MidtransNotification("BFA-1", "200", "1000.00", "settlement")
    decided = decide_notification(
        order(AWAITING), stored("settlement"), wrong, asked_status_api=True
    )
    assert decided.decision.new_status == AWAITING
    assert "amount mismatch" in decided.flag_reason


@pytest.mark.parametrize(
    ("verified_original", "notified_original", "notified_gross", "kept"),
    [
        (None, "140000.00", AMOUNT, "140000.00"),  # missing from the answer: the body's is taken
        ("139000.00", "140000.00", AMOUNT, "139000.00"),  # the answer's own wins
        (None, "140000.00", "99.00", None),  # another amount: the body's is not trusted
        (None, None, AMOUNT, None),
    ],
)
def test_the_pre_fee_price_comes_from_the_body_only_for_the_confirmed_amount(
    verified_original, notified_original, notified_gross, kept
):
    verified = status("settlement", original_amount_text=verified_original)
    notified = MidtransNotification(
        "BFA-1", "200", notified_gross, "settlement", original_amount_text=notified_original
    )
    assert with_fee_original(verified, notified).original_amount_text == kept
