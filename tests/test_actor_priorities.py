"""Payment work first: among the messages a worker process holds, payment links and payments run
before customer messages, and those before periodic jobs."""

from __future__ import annotations

from messaging.contract import ACTORS, DELIVERY_QUEUE, MAINTENANCE_QUEUE


def test_payments_never_wait_behind_customer_messages_or_periodic_jobs(system):
    actors = system["broker"].actors
    priority = {spec.name: actors[spec.name].priority for spec in ACTORS}
    payment_work = [priority["create_payment"], priority["process_notification"]]
    assert max(payment_work) < priority["deliver_notification"]
    for spec in ACTORS:
        if spec.queue == MAINTENANCE_QUEUE:
            assert priority[spec.name] > priority["deliver_notification"], spec.name
        if spec.queue == DELIVERY_QUEUE:
            assert priority[spec.name] > max(payment_work), spec.name
