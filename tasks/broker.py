"""The one Dramatiq broker. Imported by tasks/__init__.py before any actor is declared."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries
from redis.backoff import NoBackoff
from redis.retry import Retry

from models.db import init_database
from runtime.logs import configure_logging
from runtime.settings import load_settings
from tasks.middleware import DatabaseConnections, DeadLetterReasons, LogContext, WorkerHeartbeat

QUEUES = ("payments", "webhooks", "notifications", "maintenance")
NAMESPACE = "dramatiq"

settings = load_settings()
configure_logging(settings.log_level, settings.log_format)
if not settings.database_url or not settings.redis_url:
    raise SystemExit("DATABASE_URL and REDIS_URL must be set for workers (./run.sh sets them)")
init_database(settings.database_url)


def redis_client(url: str, timeout: float = 5.0, retries: int = 1) -> redis.Redis:
    """Bounded waits: a Redis outage must turn into an error quickly, never a hung thread."""
    pool = redis.ConnectionPool.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=min(timeout, 2.0),
        retry=Retry(NoBackoff(), retries),
    )
    return redis.Redis(connection_pool=pool)


broker = RedisBroker(
    client=redis_client(settings.redis_url),
    namespace=NAMESPACE,
    # A SIGKILLed worker's messages come back within ~20 s instead of minutes to hours.
    heartbeat_timeout=20_000,
    # 20% of broker calls, out of a million (the default is 1_000). Maintenance only recovers the
    # queue it runs on, and an idle worker polls each queue about once a second: at 5% one worker
    # took over a minute to bring a killed message back about 1 time in 15.
    maintenance_chance=200_000,
    dead_message_ttl=30 * 86_400_000,  # 30 days to notice and requeue (Dramatiq: 7)
)
broker.add_middleware(DeadLetterReasons(), before=Retries)
broker.add_middleware(DatabaseConnections())
broker.add_middleware(LogContext())
broker.add_middleware(WorkerHeartbeat())
dramatiq.set_broker(broker)
for queue_name in QUEUES:
    broker.declare_queue(queue_name)
