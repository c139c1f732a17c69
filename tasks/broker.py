"""The worker's Dramatiq broker and how actors are declared on it, by their contract names."""

from __future__ import annotations

import functools
from collections.abc import Callable

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, Retries
from loguru import logger

from integrations.errors import RetryableProviderError
from messaging.contract import (
    DEAD_LETTER_TTL_MS,
    DELIVERY_QUEUE,
    MAINTENANCE_QUEUE,
    NAMESPACE,
    PAYMENTS_QUEUE,
    QUEUES,
    WEBHOOKS_QUEUE,
    ActorSpec,
)
from tasks.middleware import (
    DatabaseConnections,
    DeadLetterReasons,
    LogContext,
    RefuseToBoot,
    WorkerHeartbeat,
)


def build_broker(client: redis.Redis) -> RedisBroker:
    """The broker every worker process runs, with the project's middleware and queues."""
    broker = RedisBroker(
        client=client,
        namespace=NAMESPACE,
        # A SIGKILLed worker's messages come back within ~20 s instead of minutes to hours.
        heartbeat_timeout=20_000,
        # 20% of broker calls, out of a million (the default is 1_000). Maintenance only
        # recovers the queue it runs on, and an idle worker polls each queue about once a
        # second: at 5% one worker took over a minute to bring a killed message back about
        # 1 time in 15.
        maintenance_chance=200_000,
        dead_message_ttl=DEAD_LETTER_TTL_MS,
    )
    broker.add_middleware(DeadLetterReasons(), before=Retries)
    broker.add_middleware(DatabaseConnections())
    broker.add_middleware(LogContext())
    broker.add_middleware(WorkerHeartbeat())
    broker.add_middleware(CurrentMessage())
    for queue_name in QUEUES:
        broker.declare_queue(queue_name)
    return broker


def unconfigured_broker(reason: str) -> StubBroker:
    """Holds the actors until start_worker(settings) adopts them; a Dramatiq worker that boots
    on it stops at once with `reason`."""
    broker = StubBroker()
    broker.add_middleware(RefuseToBoot(reason))
    return broker


def adopt_actors(previous: dramatiq.Broker, broker: dramatiq.Broker) -> None:
    """Moves every actor declared on `previous` to `broker` (start_worker after a first boot)."""
    for actor in list(previous.actors.values()):
        actor.broker = broker
        broker.declare_actor(actor)


# Among the messages a worker process holds, the lowest number runs first: a payment link or a
# payment is never kept waiting behind customer messages, nor those behind periodic jobs.
PRIORITY_BY_QUEUE = {
    PAYMENTS_QUEUE: 0,
    WEBHOOKS_QUEUE: 0,
    DELIVERY_QUEUE: 10,
    MAINTENANCE_QUEUE: 20,
}


def worker_actor(spec: ActorSpec, **options) -> Callable[[Callable], dramatiq.Actor]:
    """Declares a function as the actor `spec` names, on its queue, with Dramatiq options."""
    options.setdefault("priority", PRIORITY_BY_QUEUE[spec.queue])

    def declare(fn: Callable) -> dramatiq.Actor:
        return dramatiq.actor(
            quiet_retries(fn), actor_name=spec.name, queue_name=spec.queue, **options
        )

    return declare


def quiet_retries(fn: Callable) -> Callable:
    """In a worker, an expected provider failure (a timeout, a 5xx, an open breaker) is one
    WARNING line and a retry on the actor's backoff, not an ERROR with a traceback and the whole
    message; tracebacks stay for the unexpected. Called inline, the error raises as itself."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RetryableProviderError as error:
            if CurrentMessage.get_current_message() is None:
                raise
            logger.warning("{} will retry: {}", fn.__name__, error)
            raise dramatiq.Retry(str(error)) from error

    return run
