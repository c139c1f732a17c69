"""The Redis client every process builds, and the enqueuer that sends messages by actor name."""

from __future__ import annotations

from typing import Protocol

import redis
from dramatiq.brokers.redis import RedisBroker
from redis.backoff import NoBackoff
from redis.retry import Retry

from messaging.contract import DELIVER_MESSAGE, NAMESPACE, ActorSpec


def redis_client(url: str, timeout: float = 5.0, retries: int = 1) -> redis.Redis:
    """Bounded waits: a Redis outage must turn into an error quickly, never a hung thread.

    The one place every process opens Redis (broker, enqueuer, rate limits, breakers, alerts):
    `rediss://` speaks TLS, verifying the server's certificate against the system's CAs, or
    the URL's `ssl_ca_certs=/path.pem`; other `ssl_*` URL parameters pass through as well."""
    pool = redis.ConnectionPool.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=min(timeout, 2.0),
        retry=Retry(NoBackoff(), retries),
    )
    return redis.Redis(connection_pool=pool)


class Enqueuer:
    """Sends Dramatiq messages by actor name through one Redis client, with no worker code and
    no middleware: what the web, the scheduler and the admin CLI need to hand work over."""

    def __init__(self, redis_client: redis.Redis) -> None:
        self.redis = redis_client
        self.broker = RedisBroker(client=redis_client, namespace=NAMESPACE, middleware=[])

    def send(self, spec: ActorSpec, *args, delay_ms: int | None = None) -> None:
        self.broker.enqueue(spec.message(*args), delay=delay_ms)


class Sender(Protocol):
    """What sends work by actor name: the Enqueuer (web, scheduler, admin command line) or the
    worker's services; `broker` is the one holding the dead-letter queues."""

    broker: RedisBroker

    def send(self, spec: ActorSpec, *args, delay_ms: int | None = None) -> None: ...


def wake_deliveries(sender: Sender, outbox_ids: list[int]) -> None:
    """Wakes the delivery actor for new or requeued rows (after commit; the sweeper is the net
    when a wake-up is lost)."""
    for outbox_id in outbox_ids:
        sender.send(DELIVER_MESSAGE, outbox_id)
