"""Two pieces of work on one order at the same moment: the order row's lock and the stored
event's re-check decide, whichever worker gets there first.

Each interleaving is forced, not hoped for. A second PostgreSQL connection holds the audit log
(LOCK TABLE ... IN SHARE MODE), so the first worker stops at its audit entry inside its
transaction, with its status change written but not committed and its row locks held. The
second worker then runs until PostgreSQL makes it wait too; only then is the audit log let go.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

import psycopg2
import pytest

from models.audit import AuditEntry
from models.base import utcnow
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.midtrans_status import parse_notification
from models.orders import Order
from models.outbox import OutboxMessage
from tasks.reconciliation import expire_if_due
from tests.conftest import declared_actor, the_worker, wait_for
from tests.factories import midtrans_transition, open_payment, unsent_settlement


class HeldAuditLog:
    """Holds the audit log from a second connection between `hold()` and `release()`; every
    worker that reaches its audit entry meanwhile waits there, in the middle of its
    transaction."""

    def __init__(self, database_url: str) -> None:
        self._holder = psycopg2.connect(database_url)
        self._probe = psycopg2.connect(database_url)
        self._probe.autocommit = True

    def hold(self) -> None:
        with self._holder.cursor() as cursor:
            cursor.execute("LOCK TABLE system_audit_log IN SHARE MODE")

    def waiting(self) -> int:
        """How many other sessions of this database are waiting for a lock right now."""
        with self._probe.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0]

    def wait_until_waiting(self, count: int, message: str) -> None:
        wait_for(lambda: self.waiting() >= count, timeout=8, message=message)

    def release(self) -> None:
        self._holder.rollback()

    def close(self) -> None:
        self._holder.close()
        self._probe.close()


@pytest.fixture
def audit_log(service_urls, db):
    held = HeldAuditLog(service_urls["database_url"])
    yield held
    held.release()
    held.close()


@pytest.fixture
def workers():
    """Two worker threads, each with its own pooled connection per piece of work."""
    with ThreadPoolExecutor(max_workers=2) as pool:

        def run(work: Callable, *args) -> Future:
            return pool.submit(_as_a_worker, work, *args)

        yield run


def _as_a_worker(work: Callable, *args) -> None:
    from models.db import connection

    with connection():
        work(*args)


def notified(body: dict) -> Callable[[], None]:
    """The webhook actor's work for one notification (verified with the Status API)."""
    process_notification = declared_actor("process_notification")

    return lambda: process_notification(body)


def expiry_check(order_id: str) -> Callable[[], None]:
    """Reconciliation's local expiry, once the Status API said it knows no transaction."""

    return lambda: expire_if_due(the_worker().services, order_id)


def an_order_whose_window_has_passed() -> str:
    order_id = open_payment()["order_id"]
    Order.update(expires_at=utcnow() - timedelta(minutes=1)).where(
        Order.order_id == order_id
    ).execute()
    return order_id


def race(audit_log: HeldAuditLog, workers, first: Callable, second: Callable) -> None:
    """`first` stops inside its transaction; `second` runs until it has to wait; then both
    finish. Errors in either worker fail the test."""
    audit_log.hold()
    first_done = workers(first)
    audit_log.wait_until_waiting(1, "the first worker inside its transaction")
    second_done = workers(second)
    wait_for(
        lambda: second_done.done() or audit_log.waiting() >= 2,
        timeout=8,
        message="the second worker waiting or finished",
    )
    audit_log.release()
    first_done.result(timeout=20)
    second_done.result(timeout=20)


def audited_transitions(order_id: str) -> list[tuple[str, str]]:
    rows = (
        AuditEntry.select()
        .where((AuditEntry.order_id == order_id) & (AuditEntry.action == "midtrans_transition"))
        .order_by(AuditEntry.id)
    )
    return [(row.old_status, row.new_status) for row in rows]


def templates_queued(order_id: str) -> list[str]:
    rows = OutboxMessage.select().where(OutboxMessage.order == order_id)
    return sorted(row.template_name for row in rows)


def entitlement_status(order_id: str) -> str | None:
    entitlement = Entitlement.get_or_none(Entitlement.order == order_id)
    return entitlement.status if entitlement else None


def test_a_payment_in_progress_wins_over_the_local_expiry(db, sandbox_api, audit_log, workers):
    order_id = an_order_whose_window_has_passed()
    settlement = unsent_settlement(sandbox_api, order_id)

    race(audit_log, workers, notified(settlement), expiry_check(order_id))

    order = Order.get_by_id(order_id)
    assert order.status == "PAID" and not order.flagged
    assert entitlement_status(order_id) == "ACTIVE"
    assert "order_expired" not in templates_queued(order_id)
    assert audited_transitions(order_id) == [("PENDING_PAYMENT", "PAID")]


def test_a_settlement_after_an_expiry_in_progress_is_a_flagged_late_payment(
    db, sandbox_api, audit_log, workers
):
    order_id = an_order_whose_window_has_passed()
    settlement = unsent_settlement(sandbox_api, order_id)

    race(audit_log, workers, expiry_check(order_id), notified(settlement))

    order = Order.get_by_id(order_id)
    assert order.status == "PAID" and order.flagged
    assert entitlement_status(order_id) == "ACTIVE"
    assert audited_transitions(order_id) == [
        ("PENDING_PAYMENT", "EXPIRED"),
        ("EXPIRED", "PAID"),
    ]
    event = PaymentEvent.get(PaymentEvent.order_id == order_id)
    assert "late settlement" in event.flag_reason


def test_a_refund_racing_the_settlement_it_refunds_takes_the_access_away(
    db, sandbox_api, audit_log, workers
):
    order_id = open_payment()["order_id"]
    settlement = unsent_settlement(sandbox_api, order_id)

    def refund() -> None:
        body = midtrans_transition(
            sandbox_api, order_id, transaction_status="refund", notify=False
        )["notification"]
        notified(body)()

    race(audit_log, workers, notified(settlement), refund)

    assert Order.get_by_id(order_id).status == "REFUNDED"
    assert entitlement_status(order_id) == "REVOKED"
    assert templates_queued(order_id).count("access_revoked") == 2
    assert audited_transitions(order_id) == [
        ("PENDING_PAYMENT", "PAID"),
        ("PAID", "REFUNDED"),
    ]


def test_two_notifications_of_one_payment_with_different_keys_pay_once(
    db, sandbox_api, audit_log, workers
):
    order_id = open_payment()["order_id"]
    card = {"payment_type": "credit_card", "fraud_status": "accept", "notify": False}
    capture = midtrans_transition(sandbox_api, order_id, transaction_status="capture", **card)
    settlement = midtrans_transition(sandbox_api, order_id, transaction_status="settlement", **card)

    race(
        audit_log,
        workers,
        notified(capture["notification"]),
        notified(settlement["notification"]),
    )

    assert audited_transitions(order_id) == [("PENDING_PAYMENT", "PAID")]
    outcomes = {
        event.transaction_status: event.outcome
        for event in PaymentEvent.select().where(PaymentEvent.order_id == order_id)
    }
    assert outcomes == {"capture": "transition", "settlement": "no_op_duplicate"}
    assert entitlement_status(order_id) == "ACTIVE"
    assert templates_queued(order_id).count("payment_success") == 2


def test_one_stored_notification_held_by_two_workers_is_applied_once(
    db, sandbox_api, audit_log, workers
):
    """The second worker asked the Status API later and holds a newer answer; the event is
    already applied, so that answer waits for its own notification instead of being credited
    to this one."""
    from models.events import store_event

    process_notification = declared_actor("process_notification")
    process_stored_event = declared_actor("process_stored_event")

    order_id = open_payment()["order_id"]
    card = {"payment_type": "credit_card", "notify": False}
    denied = midtrans_transition(sandbox_api, order_id, transaction_status="deny", **card)
    event_id = store_event(
        parse_notification(denied["notification"]), denied["notification"], "webhook"
    )[0].id
    paid = {}

    def customer_pays_then_second_worker_runs() -> None:
        paid.update(
            midtrans_transition(
                sandbox_api,
                order_id,
                transaction_status="settlement",
                fraud_status="accept",
                **card,
            )
        )
        process_stored_event(event_id)

    race(
        audit_log,
        workers,
        lambda: process_stored_event(event_id),
        customer_pays_then_second_worker_runs,
    )

    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"
    assert PaymentEvent.get_by_id(event_id).outcome == "recorded"
    assert AuditEntry.select().where(AuditEntry.event_id == event_id).count() == 1
    process_notification(paid["notification"])
    (paid_entry,) = AuditEntry.select().where(
        (AuditEntry.order_id == order_id) & (AuditEntry.new_status == "PAID")
    )
    settlement_event = PaymentEvent.get(
        (PaymentEvent.order_id == order_id) & (PaymentEvent.transaction_status == "settlement")
    )
    assert paid_entry.event_id == settlement_event.id
