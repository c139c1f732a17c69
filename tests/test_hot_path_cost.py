"""What one paid order costs the worker, counted: every SQL statement the actors send from the
checkout message to both success messages delivered. A count, not a timing, so it holds on a
busy machine; a change that adds a round trip to the hot path shows up here by kind."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from harness.benchmarks.counting import install_counters, statements
from models.db import database
from models.outbox import OutboxMessage
from tests.conftest import declared_actor
from tests.factories import midtrans_transition, open_payment

# create_payment: the order (2 transactions) and its Snap link; process_notification: the event
# stored, the Status API asked, PAID with access and both messages in one transaction;
# deliver_notification, twice: the claim and SENT.
STATEMENTS_PER_PAID_ORDER = Counter(
    {
        "BEGIN": 3,
        "COMMIT": 3,
        "SELECT packages": 1,
        "INSERT orders": 1,
        "SELECT orders": 2,
        "SELECT": 3,  # each transaction's statement and lock timeouts (SET LOCAL, PgBouncer-safe)
        "INSERT payment_attempts": 2,  # the payment link, and what the worker verified
        "UPDATE orders": 2,
        "INSERT system_audit_log": 3,
        "INSERT payment_events": 1,
        "SELECT payment_events": 1,
        "INSERT entitlements": 1,
        "INSERT receipt_counters": 1,  # the receipt number, in the transaction that pays
        "INSERT notification_outbox": 1,
        "UPDATE payment_events": 1,
        "UPDATE notification_outbox": 4,
    }
)


@pytest.fixture
def counted():
    """The statements this test's thread sends while the test runs."""
    this_thread = threading.get_ident()
    uninstall = install_counters(database, lambda: threading.get_ident() == this_thread)
    statements.clear()
    yield statements
    uninstall()


def test_a_paid_order_costs_a_fixed_number_of_statements(db, sandbox_api, counted):
    deliver_notification = declared_actor("deliver_notification")
    process_notification = declared_actor("process_notification")

    order_id = open_payment()["order_id"]
    settled = midtrans_transition(
        sandbox_api, order_id, transaction_status="settlement", notify=False
    )
    process_notification(settled["notification"])
    outbox_ids = [row.id for row in OutboxMessage.select().where(OutboxMessage.order == order_id)]
    for outbox_id in outbox_ids:
        deliver_notification(outbox_id)
    counted["SELECT notification_outbox"] -= 1  # this test's own read of the ids
    assert +counted == STATEMENTS_PER_PAID_ORDER
    sent = OutboxMessage.select().where(
        (OutboxMessage.order == order_id) & (OutboxMessage.status == "SENT")
    )
    assert sent.count() == 2
