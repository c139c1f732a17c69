"""Delivery receipts: a provider's id for a message it accepted, kept in Redis from that moment.

Between the provider accepting a message and the SENT write in PostgreSQL a worker can be
killed, or PostgreSQL can restart; the row then stays in SENDING and the sweeper makes it due
again. Redis (appendfsync always) is a second, independent place that knows the message went
out, so the retry records it as sent instead of sending it twice.
"""

from __future__ import annotations

import redis
from loguru import logger

from messaging.contract import DELIVERY_RECEIPT_TTL_SECONDS, delivery_receipt_key


def keep_receipt(client: redis.Redis, outbox_id: int, provider_message_id: str) -> None:
    """Best effort: with Redis down too, the row's SENT write is the only record left."""
    try:
        client.set(
            delivery_receipt_key(outbox_id), provider_message_id, ex=DELIVERY_RECEIPT_TTL_SECONDS
        )
    except redis.RedisError as error:
        logger.warning("Could not keep the receipt of outbox row {}: {}", outbox_id, error)


def find_receipt(client: redis.Redis, outbox_id: int) -> str | None:
    """The provider's id if an earlier attempt at this row was accepted, else None."""
    value = client.get(delivery_receipt_key(outbox_id))
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
