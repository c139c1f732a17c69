"""The sweeper and the scheduler: work a crash or an outage left behind is finished later, once.

Real PostgreSQL, Redis, sandbox and an in-process Dramatiq worker; the queues are read straight
from Redis where a test is about what was enqueued rather than what happened next.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from dramatiq import Message

from models.base import utcnow
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.midtrans_status import parse_notification
from models.orders import Order
from models.outbox import OutboxMessage
from tasks.maintenance import BATCH
from tasks.scheduler import run_due_jobs
from tests.conftest import inline_actors, the_worker, wait_for
from tests.factories import insert_order, open_payment, unsent_settlement
from tests.notification_helpers import mails, whatsapp_messages


@pytest.fixture
def maintenance(db):
    """The periodic jobs, run inline."""
    return inline_actors()


def queued(queue_name: str) -> list[Message]:
    """The messages waiting on a queue, read from the broker's Redis keys."""
    broker = the_worker().broker
    queue_key = f"{broker.namespace}:{queue_name}"
    message_ids = broker.client.lrange(queue_key, 0, -1)
    return [Message.decode(broker.client.hget(f"{queue_key}.msgs", i)) for i in message_ids]


def stuck_in_created(order_id: str, minutes_ago: float = 2) -> str:
    """An order whose payment message was lost: CREATED, no link, still inside its window."""
    created_at = utcnow() - timedelta(minutes=minutes_ago)
    insert_order(order_id, status="CREATED", created_at=created_at)
    Order.update(expires_at=created_at + timedelta(hours=1)).where(
        Order.order_id == order_id
    ).execute()
    return order_id


def unprocessed_settlement(sandbox_api, minutes_ago: float = 2) -> tuple[str, int]:
    """A paid order whose stored notification no worker finished (a crash after the insert)."""
    from models.events import store_event

    order_id = open_payment()["order_id"]
    raw = unsent_settlement(sandbox_api, order_id)
    event_id = store_event(parse_notification(raw), raw, "webhook")[0].id
    PaymentEvent.update(received_at=utcnow() - timedelta(minutes=minutes_ago)).where(
        PaymentEvent.id == event_id
    ).execute()
    return order_id, event_id


def test_an_order_stuck_in_created_gets_its_payment_link_from_the_sweeper(
    maintenance, worker, sandbox_api
):
    order_id = stuck_in_created("BFA-SWEEP-STUCK-1")
    maintenance.sweep()
    wait_for(lambda: Order.get_by_id(order_id).redirect_url, message="the payment link")
    order = Order.get_by_id(order_id)
    assert order.status == "PENDING_PAYMENT"
    assert OutboxMessage.select().where(OutboxMessage.order == order_id).count() == 0


def test_a_stored_notification_left_unprocessed_is_applied_by_the_sweeper(
    maintenance, worker, sandbox_api
):
    order_id, event_id = unprocessed_settlement(sandbox_api)
    maintenance.sweep()
    wait_for(lambda: PaymentEvent.get_by_id(event_id).processed, message="the event processed")
    assert PaymentEvent.get_by_id(event_id).outcome == "transition"
    assert Order.get_by_id(order_id).status == "PAID"
    assert Entitlement.select().where(Entitlement.order == order_id).count() == 1


def test_a_paid_order_without_access_gets_it_and_its_success_messages(
    maintenance, worker, sandbox_api
):
    order_id = insert_order("BFA-SWEEP-PAID-1", status="PAID")
    maintenance.sweep()
    (entitlement,) = Entitlement.select().where(Entitlement.order == order_id)
    assert entitlement.status == "ACTIVE"
    rows = OutboxMessage.select().where(OutboxMessage.order == order_id)
    assert sorted((row.channel, row.template_name) for row in rows) == [
        ("EMAIL", "payment_success"),
        ("WHATSAPP", "payment_success"),
    ]
    [mail] = wait_for(lambda: mails(sandbox_api), message="the success email")
    [message] = wait_for(lambda: whatsapp_messages(sandbox_api), message="the success WhatsApp")
    assert entitlement.access_token in mail["text"]
    assert entitlement.access_token in str(message)
    maintenance.sweep()
    assert Entitlement.select().where(Entitlement.order == order_id).count() == 1


def test_the_access_repair_scans_recent_payments_and_leaves_older_ones_to_the_alarm(maintenance):
    """The repair reads only orders paid within its window (through the paid_at index), so a
    sweep does not grow with the shop; a paid order older than that raises the alarm."""
    from models.alarms import paid_without_access

    now = utcnow()
    insert_order("BFA-OLD-PAID", status="PAID", created_at=now - timedelta(days=3))
    maintenance.sweep()
    assert Entitlement.select().count() == 0
    assert paid_without_access(now).order_ids == ["BFA-OLD-PAID"]


def test_young_work_and_closed_windows_are_left_alone(maintenance, sandbox_api):
    stuck_in_created("BFA-SWEEP-YOUNG-1", minutes_ago=0.5)  # its payment message may be queued
    expired = stuck_in_created("BFA-SWEEP-LATE-1", minutes_ago=90)  # its window closed at 60
    unprocessed_settlement(sandbox_api, minutes_ago=0.5)  # a worker may be on it right now
    stuck = stuck_in_created("BFA-SWEEP-DUE-1")  # proves the sweep ran: this one is re-sent
    payments_before, webhooks_before = len(queued("payments")), len(queued("webhooks"))
    maintenance.sweep()
    new_payments = queued("payments")[payments_before:]
    assert [message.args[0]["order_id"] for message in new_payments] == [stuck]
    assert len(queued("webhooks")) == webhooks_before
    assert Order.get_by_id(expired).status == "CREATED"


def test_two_sweeps_in_a_row_enqueue_each_stuck_item_once(maintenance, sandbox_api):
    stuck_order = stuck_in_created("BFA-SWEEP-TWICE-1")
    _, stale_event = unprocessed_settlement(sandbox_api)
    payments_before = len(queued("payments"))
    maintenance.sweep()
    maintenance.sweep()
    new_payments = queued("payments")[payments_before:]
    assert [message.args[0]["order_id"] for message in new_payments] == [stuck_order]
    assert [(message.actor_name, message.args) for message in queued("webhooks")] == [
        ("process_stored_event", (stale_event,))
    ]


def test_two_schedulers_ticking_together_send_each_job_once(system, clean):
    from messaging.contract import PERIODIC_JOBS
    from messaging.redis import Enqueuer, redis_client

    schedulers = [Enqueuer(redis_client(system["settings"].redis_url)) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(run_due_jobs, schedulers)
    assert not set(first) & set(second)
    job_names = [job.name for job, _ in PERIODIC_JOBS]
    assert sorted(first + second) == sorted(job_names)
    assert run_due_jobs(schedulers[0]) == []  # the next tick inside the period sends nothing
    enqueued = Counter(message.actor_name for message in queued("maintenance"))
    assert enqueued == Counter(job_names)


# Each row: the order's age, when it was last asked about (None: never), and whether it is due.
RECONCILE_CASES = [
    ("BFA-REC-YOUNG-DUE", timedelta(minutes=10), timedelta(minutes=3), True),
    ("BFA-REC-YOUNG-WAIT", timedelta(minutes=10), timedelta(minutes=1), False),
    ("BFA-REC-NEVER", timedelta(minutes=10), None, True),
    ("BFA-REC-DAY-DUE", timedelta(hours=5), timedelta(minutes=16), True),
    ("BFA-REC-DAY-WAIT", timedelta(hours=5), timedelta(minutes=10), False),
    ("BFA-REC-OLD-DUE", timedelta(days=3), timedelta(hours=2, minutes=5), True),
    ("BFA-REC-OLD-WAIT", timedelta(days=3), timedelta(minutes=90), False),
]


def test_reconcile_asks_only_about_orders_due_a_check(maintenance):
    now = utcnow()
    for order_id, age, checked_ago, _ in RECONCILE_CASES:
        insert_order(order_id, status="PENDING_PAYMENT", created_at=now - age)
        last_checked_at = now - checked_ago if checked_ago else None
        Order.update(last_checked_at=last_checked_at).where(Order.order_id == order_id).execute()
    insert_order("BFA-REC-PAID", status="PAID", created_at=now - timedelta(days=3))
    Order.update(last_checked_at=now - timedelta(hours=1)).where(  # its re-checks are done
        Order.order_id == "BFA-REC-PAID"
    ).execute()
    maintenance.reconcile()
    due = sorted(order_id for order_id, *_, is_due in RECONCILE_CASES if is_due)
    asked = [m.args[0] for m in queued("maintenance") if m.actor_name == "reconcile_order"]
    assert sorted(asked) == due
    rechecked = Order.select().where(Order.last_checked_at >= now)
    assert sorted(order.order_id for order in rechecked) == due


def test_a_crowd_of_old_orders_cannot_push_a_young_due_order_out_of_the_batch(maintenance):
    from models.db import database

    # Far more than a batch of orders older than a day, checked an hour ago: none is due yet.
    database.execute_sql(
        "INSERT INTO orders (order_id, order_token_hash, package_id, customer_name,"
        " customer_email, customer_phone, base_amount, final_amount, status, created_at,"
        " last_checked_at) SELECT 'BFA-OLD-' || n, 'x', 'ai-movie-course', 'Old',"
        " 'old@example.com', '+6281234567890', 99000, 99000, 'PENDING_PAYMENT',"
        " now() - interval '3 days', now() - interval '1 hour' FROM generate_series(1, %s) n",
        (10 * BATCH,),
    )
    now = utcnow()
    insert_order("BFA-YOUNG-DUE", created_at=now - timedelta(minutes=10))
    Order.update(last_checked_at=now - timedelta(minutes=5)).where(
        Order.order_id == "BFA-YOUNG-DUE"
    ).execute()
    maintenance.reconcile()
    asked = [m.args[0] for m in queued("maintenance") if m.actor_name == "reconcile_order"]
    assert asked == ["BFA-YOUNG-DUE"]
