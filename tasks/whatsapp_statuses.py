"""Meta's WhatsApp status callbacks: what happened to a message after the Cloud API accepted it,
stored on its outbox row (models.delivery.record_whatsapp_status)."""

from __future__ import annotations

from loguru import logger

from messaging.contract import PROCESS_WHATSAPP_STATUSES
from models.base import utcnow
from models.db import transaction
from models.delivery import record_whatsapp_status
from models.whatsapp_status import statuses_in
from tasks.broker import worker_actor
from tasks.services import WorkerServices


@worker_actor(PROCESS_WHATSAPP_STATUSES, max_retries=10, min_backoff=5_000, max_backoff=600_000)
def process_whatsapp_statuses(services: WorkerServices, callback: dict) -> None:
    """Idempotent: a repeated or older status changes nothing (a row never moves backwards)."""
    for status in statuses_in(callback):
        with transaction():
            outcome = record_whatsapp_status(status, utcnow())
        log = logger.warning if outcome in ("sent", "undelivered") else logger.info
        log(
            "WhatsApp status {} for message {} (row {}): {}{}",
            status.status,
            status.message_id[:40],
            status.outbox_id,
            outcome,
            f" - {status.error}" if status.error else "",
        )
