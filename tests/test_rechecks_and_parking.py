"""Paid orders are asked about again on a decaying schedule, so a lost refund is still seen; work
the sweeper cannot finish is parked for an operator after a few sweeps instead of retried for
ever; a dead letter's recorded error expires with the letter."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from models.alarms import current_alarms
from models.audit import AuditEntry
from models.base import utcnow
from models.entitlements import Entitlement
from models.orders import Order
from tasks.middleware import DeadLetterReasons
from tests.conftest import declared_actor, inline_actors, the_worker, wait_for
from tests.factories import insert_order, midtrans_transition, open_payment, paid_order
from tests.test_sweeper import queued, stuck_in_created, unprocessed_settlement


@pytest.fixture
def maintenance(db, system):
    return inline_actors()


def asked(queue: str = "maintenance") -> list[str]:
    return sorted(m.args[0] for m in queued(queue) if m.actor_name == "reconcile_order")


def paid(order_id: str, paid_ago: timedelta, checked_ago: timedelta | None) -> str:
    now = utcnow()
    insert_order(order_id, status="PAID", created_at=now - paid_ago - timedelta(minutes=30))
    checked = now - checked_ago if checked_ago is not None else None
    Order.update(paid_at=now - paid_ago, last_checked_at=checked).where(
        Order.order_id == order_id
    ).execute()
    return order_id


H, D = timedelta(hours=1), timedelta(days=1)
# Each row: paid how long ago, last asked how long ago (None: never), due now?
PAID_CASES = [
    ("BFA-PAID-FRESH", H / 2, None, False),  # before the first point (1 h)
    ("BFA-PAID-1H", 2 * H, None, True),
    ("BFA-PAID-1H-ASKED-BEFORE", 2 * H, 3 * H, True),  # asked while pending, not since paid
    ("BFA-PAID-1H-DONE", 2 * H, H / 2, False),
    ("BFA-PAID-1D", 2 * D, 2 * D - 2 * H, True),  # asked at the 1 h point, not the 1 day one
    ("BFA-PAID-1D-DONE", 3 * D, H, False),
    ("BFA-PAID-7D", 8 * D, 6 * D, True),
    ("BFA-PAID-30D", 31 * D, 20 * D, True),
    ("BFA-PAID-30D-LATE", 33 * D, 25 * D, True),  # the job was down: still asked
    ("BFA-PAID-LONG-AGO", 40 * D, None, False),  # a week past the last point: never again
]


def test_paid_orders_are_asked_about_at_each_point_of_the_schedule_once(maintenance):
    for order_id, paid_ago, checked_ago, _ in PAID_CASES:
        paid(order_id, paid_ago, checked_ago)
    maintenance.reconcile()
    due = sorted(order_id for order_id, *_, is_due in PAID_CASES if is_due)
    assert asked() == due
    maintenance.reconcile()  # within the same point: nobody is asked twice
    assert asked() == due


def test_a_refund_whose_notification_was_lost_is_seen_by_the_recheck(
    maintenance, worker, web, sandbox_api, system
):
    order_id = open_payment()["order_id"]
    midtrans_transition(sandbox_api, order_id, transaction_status="settlement")
    wait_for(lambda: Order.get_by_id(order_id).status == "PAID", message="paid")
    midtrans_transition(sandbox_api, order_id, transaction_status="refund", notify=False)
    Order.update(paid_at=utcnow() - 2 * H).where(Order.order_id == order_id).execute()
    maintenance.reconcile()
    wait_for(lambda: Order.get_by_id(order_id).status == "REFUNDED", message="refunded")
    assert Entitlement.get(Entitlement.order == order_id).status == "REVOKED"


def status_api_fails_once(sandbox_api) -> None:
    sandbox_api.post(
        "/_sandbox/midtrans/faults", json={"status_api": {"fail_next": 1, "status": 503}}
    ).raise_for_status()


def thirty_days_after_payment(sandbox_api) -> str:
    """A card payment at its 30-day re-check point; the order id."""
    order_id = paid_order(sandbox_api, payment_type="credit_card")["order_id"]
    Order.update(paid_at=utcnow() - 30 * D - H, last_checked_at=utcnow() - 20 * D).where(
        Order.order_id == order_id
    ).execute()
    return order_id


def test_a_chargeback_is_still_seen_when_the_30_day_recheck_failed_at_first(
    maintenance, sandbox_api, system
):
    from integrations.errors import RetryableProviderError

    reconcile_order = declared_actor("reconcile_order")

    order_id = thirty_days_after_payment(sandbox_api)
    midtrans_transition(sandbox_api, order_id, transaction_status="chargeback", notify=False)
    maintenance.reconcile()
    assert asked() == [order_id]
    status_api_fails_once(sandbox_api)
    with pytest.raises(RetryableProviderError):
        reconcile_order(order_id)  # the worker's retries ran out the same way
    expire_claims(system)
    maintenance.reconcile()
    assert asked() == [order_id, order_id]  # asked again, not marked done
    reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "REFUNDED"
    assert Entitlement.get(Entitlement.order == order_id).status == "REVOKED"


def test_a_recheck_midtrans_answered_is_done_until_the_next_point(maintenance, sandbox_api, system):
    reconcile_order = declared_actor("reconcile_order")

    order_id = thirty_days_after_payment(sandbox_api)
    maintenance.reconcile()
    reconcile_order(order_id)
    expire_claims(system)
    maintenance.reconcile()
    assert asked() == [order_id]
    assert Order.get_by_id(order_id).status == "PAID"


@pytest.fixture
def park_after_two(system):
    """A worker whose sweeper parks an item at its second sweep."""
    current = the_worker().services
    settings = dataclasses.replace(current.settings, sweep_park_after=2)
    the_worker().services = dataclasses.replace(current, settings=settings)


def expire_claims(system) -> None:
    """As if the 5-minute re-wake claims had run out."""
    client = system["broker"].client
    for key in client.scan_iter(match="dramatiq:sweep:*"):
        client.delete(key)


def sweep_again(maintenance, system) -> None:
    """A sweep after the 5-minute re-wake claims expired."""
    expire_claims(system)
    maintenance.sweep()


def test_stuck_work_is_parked_after_the_sweep_limit_alarmed_and_put_back_by_the_operator(
    maintenance, system, sandbox_api, park_after_two, capsys, admin_cli
):
    order_id = stuck_in_created("BFA-PARK-1")
    _, event_id = unprocessed_settlement(sandbox_api)
    maintenance.sweep()
    assert [m.args[0]["order_id"] for m in queued("payments")] == [order_id]
    sweep_again(maintenance, system)  # the second sweep reaches the limit
    assert len(queued("payments")) == 1 and len(queued("webhooks")) == 1  # nothing new
    parked = AuditEntry.select().where(AuditEntry.action == "work_parked")
    assert {(e.order_id, e.details["kind"]) for e in parked} >= {(order_id, "order")}
    assert all(entry.flagged for entry in parked)
    [alarm] = [a for a in current_alarms(180) if a.name == "parked_work"]
    assert alarm.count == 2 and order_id in alarm.order_ids
    sweep_again(maintenance, system)
    assert len(queued("payments")) == 1  # parked work is not retried silently

    assert admin_cli(["dead-letters", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"order {order_id}" in listing and f"notification {event_id}" in listing
    assert admin_cli(["dead-letters", "requeue", "--parked"]) == 0
    assert "Unparked 1 order and 1 notification" in capsys.readouterr().out
    assert not [a for a in current_alarms(180) if a.name == "parked_work"]
    sweep_again(maintenance, system)
    assert len(queued("payments")) == 2 and len(queued("webhooks")) == 2


def test_a_dead_letters_recorded_error_expires_with_the_letter(system):
    import dramatiq
    from dramatiq.broker import MessageProxy

    message = MessageProxy(dramatiq.Message("webhooks", "process_notification", ({},), {}, {}))
    message.fail()
    DeadLetterReasons().after_process_message(
        system["broker"], message, exception=TimeoutError("boom")
    )
    ttl_ms = system["broker"].client.pttl(f"dramatiq:dead-letter-error:{message.message_id}")
    assert 29 * 86_400_000 < ttl_ms <= 30 * 86_400_000
