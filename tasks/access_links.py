"""The "lost link" request, done by a worker so the web never reads customers' orders for it
nor writes PostgreSQL: look up the contact's paid orders and queue their links to that contact."""

from __future__ import annotations

from loguru import logger

from config.logs import mask_email, mask_phone
from messaging.contract import SEND_ACCESS_LINK
from models.access_links import queue_access_links
from models.db import transaction
from tasks.broker import worker_actor
from tasks.services import WorkerServices


@worker_actor(SEND_ACCESS_LINK, max_retries=5, min_backoff=1_000, max_backoff=60_000)
def send_access_link(services: WorkerServices, request: dict) -> None:
    """`request` is {channel, contact} (a dict, so the log context never takes the contact for
    an order id). A second run adds one more message, under the daily cap per recipient."""
    channel, contact = request["channel"], request["contact"]
    with transaction() as tx:
        new_ids = queue_access_links(channel, contact)
        tx.callbacks.append(lambda: services.wake_deliveries(new_ids))
    masked = mask_email(contact) if "@" in contact else mask_phone(contact)
    logger.info("Access link request for {}: {} message(s) queued", masked, len(new_ids))
