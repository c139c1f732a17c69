"""Delivering outbox rows by email and WhatsApp (being built in issue 4)."""

import dramatiq
from loguru import logger


@dramatiq.actor(queue_name="notifications", max_retries=0)
def deliver_notification(outbox_id: int) -> None:
    logger.info("Delivery of outbox row {} is not built yet", outbox_id)


def requeue_due_deliveries() -> None:
    """Re-enqueues due or stuck outbox rows (being built in issue 4)."""
