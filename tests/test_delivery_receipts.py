"""A message the provider accepted is never sent twice, even when the worker loses PostgreSQL
or dies before the SENT write: real PostgreSQL, Redis and the sandbox's SMTP server."""

from __future__ import annotations

import psycopg2

from messaging.contract import delivery_receipt_key
from messaging.receipts import keep_receipt
from models.base import utcnow
from models.db import database
from models.delivery import claim_delivery
from tasks.delivery import deliver_claimed, requeue_due_deliveries
from tests.conftest import the_worker, wait_for
from tests.notification_helpers import mails, queued_order, row, status_of, use_policy
from tests.test_delivery import crash_after_claiming


class ConnectionLostAfterSending:
    """The real channels, plus the fault under test: the database connection this thread
    holds is terminated by the server (as a restart does) right after the provider accepts."""

    def __init__(self, channels, database_url: str) -> None:
        self.channels = channels
        self.database_url = database_url

    def deliver(self, outbox_row) -> str:
        provider_message_id = self.channels.deliver(outbox_row)
        own_pid = database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg2.connect(self.database_url) as admin:
            admin.cursor().execute("SELECT pg_terminate_backend(%s)", (own_pid,))
        admin.close()
        return provider_message_id


class WorkerWith:
    """The worker's services with other channels (deliver_claimed reads only these fields)."""

    def __init__(self, channels) -> None:
        self.channels = channels
        self.policy = the_worker().services.policy
        self.redis = the_worker().services.redis


def test_a_connection_lost_after_the_provider_accepted_is_recorded_not_resent(
    db, system, sandbox_api
):

    use_policy()
    email_id = queued_order()["EMAIL"]
    claimed = claim_delivery(email_id, utcnow())
    faulty = ConnectionLostAfterSending(
        the_worker().services.channels, system["settings"].database_url
    )
    deliver_claimed(claimed, WorkerWith(faulty))
    sent = row(email_id)
    assert sent.status == "SENT" and sent.attempt_count == 1
    assert len(mails(sandbox_api)) == 1


def test_a_worker_killed_after_the_provider_accepted_does_not_send_again(db, worker, sandbox_api):

    use_policy()
    email_id = queued_order()["EMAIL"]
    claimed = crash_after_claiming(email_id)
    # What the worker did before it was killed: the provider accepted, the receipt was kept.
    provider_message_id = the_worker().services.channels.deliver(claimed)
    keep_receipt(the_worker().services.redis, email_id, provider_message_id)

    assert requeue_due_deliveries(the_worker().services) == 1
    wait_for(lambda: status_of(email_id) == "SENT", message="recorded from the receipt")
    recorded = row(email_id)
    assert recorded.provider_message_id == provider_message_id
    assert recorded.error_history[0]["kind"] == "interrupted"
    assert len(mails(sandbox_api)) == 1


def test_receipts_expire_so_a_redis_that_never_evicts_does_not_fill_up(db, system):
    keep_receipt(the_worker().services.redis, 424242, "provider-id")
    assert 0 < the_worker().services.redis.ttl(delivery_receipt_key(424242)) <= 30 * 86_400
