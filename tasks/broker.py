"""The worker's Dramatiq broker and how actors are declared on it, by their contract names."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage, Retries
from loguru import logger

from config.settings import Settings
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
    WorkerHeartbeat,
)


def build_broker(client: redis.Redis, settings: Settings) -> RedisBroker:
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
    broker.add_middleware(WorkerHeartbeat(settings))
    broker.add_middleware(CurrentMessage())
    for queue_name in QUEUES:
        broker.declare_queue(queue_name)
    return broker


# Among the messages a worker process holds, the lowest number runs first: a payment link or a
# payment is never kept waiting behind customer messages, nor those behind periodic jobs.
PRIORITY_BY_QUEUE = {
    PAYMENTS_QUEUE: 0,
    WEBHOOKS_QUEUE: 0,
    DELIVERY_QUEUE: 10,
    MAINTENANCE_QUEUE: 20,
}


@dataclass(frozen=True)
class ActorDeclaration:
    """A function to run as the actor `spec` names, with its Dramatiq options. The function's
    first parameter is the worker's services; the message's arguments follow."""

    spec: ActorSpec
    fn: Callable
    options: dict


# Every actor the worker modules declare, by name; build_worker declares them on its broker.
DECLARED: dict[str, ActorDeclaration] = {}


def worker_actor(spec: ActorSpec, **options) -> Callable[[Callable], Callable]:
    """Registers a module-level function as the actor `spec` names (on its queue, with Dramatiq
    options); the function stays plain: `fn(services, *message_args)`. No broker is needed."""
    options.setdefault("priority", PRIORITY_BY_QUEUE[spec.queue])

    def register(fn: Callable) -> Callable:
        DECLARED[spec.name] = ActorDeclaration(spec, fn, options)
        return fn

    return register


def declare_actor(
    broker: dramatiq.Broker, declaration: ActorDeclaration, services_now: Callable
) -> dramatiq.Actor:
    """The Dramatiq actor for `declaration` on `broker`; each run receives the services that
    `services_now()` returns then (a test may swap them)."""

    @functools.wraps(declaration.fn)
    def run(*args, **kwargs):
        return declaration.fn(services_now(), *args, **kwargs)

    return dramatiq.actor(
        quiet_retries(run),
        actor_name=declaration.spec.name,
        queue_name=declaration.spec.queue,
        broker=broker,
        **declaration.options,
    )


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
