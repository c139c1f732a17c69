"""What the web asks of the workers. Sending is the web's only write; Redis down -> 503."""

from __future__ import annotations

import redis
from dramatiq.brokers.redis import RedisBroker

PENDING_CHECKOUT_TTL_SECONDS = 3600


class BrokerUnavailable(Exception):
    """Redis did not take the message; the caller answers 503 so the sender retries."""


class TaskQueue:
    """Enqueues checkout and notification messages onto the Dramatiq broker."""

    def __init__(self, redis_client: redis.Redis) -> None:
        from tasks.broker import NAMESPACE

        self._redis = redis_client
        # Enqueue through the client this app was given, not the process-wide broker's, so an
        # outage of this Redis is what answers 503.
        self._broker = RedisBroker(client=redis_client, namespace=NAMESPACE, middleware=[])

    def submit_checkout(self, order_request: dict) -> None:
        """Remembers the order as 'processing' for the status page, then enqueues it."""
        from tasks.payments import create_payment

        key = pending_checkout_key(order_request["order_id"])
        with _broker_errors():
            self._redis.set(key, order_request["order_token_hash"], ex=PENDING_CHECKOUT_TTL_SECONDS)
            self._broker.enqueue(create_payment.message(order_request))

    def submit_notification(self, raw_notification: dict) -> None:
        from tasks.webhooks import process_notification

        with _broker_errors():
            self._broker.enqueue(process_notification.message(raw_notification))

    def pending_checkout_token_hash(self, order_id: str) -> str | None:
        with _broker_errors():
            value = self._redis.get(pending_checkout_key(order_id))
        return value.decode() if isinstance(value, bytes) else value


def pending_checkout_key(order_id: str) -> str:
    return f"checkout:pending:{order_id}"


class _broker_errors:  # noqa: N801 - used as a context manager, reads like one
    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, redis.RedisError):
            raise BrokerUnavailable(str(error)) from error
        return False
