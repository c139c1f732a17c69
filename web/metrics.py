"""/metrics in Prometheus text: web requests (a Falcon middleware) and business gauges read
from PostgreSQL and Redis at scrape time, so they are never stale and cost nothing between scrapes.

Several web processes: set PROMETHEUS_MULTIPROC_DIR (its own directory, emptied at start) before
start-up; request metrics are then summed over the processes by MultiProcessCollector.
"""

from __future__ import annotations

import time

import falcon
import peewee
import redis
from peewee import fn
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from integrations.alarm_targets import active_alarm_names
from integrations.breaker import circuit_state
from messaging.broker_state import queue_depths, scheduler_heartbeat, worker_heartbeats
from messaging.contract import CIRCUITS, NAMESPACE
from models.base import utcnow
from models.db import connection
from models.events import PaymentEvent
from models.orders import Order
from models.outbox import OutboxMessage
from models.statuses import ORDER_STATUSES, OUTBOX_STATUSES

UNROUTED = "(unrouted)"
# pybreaker's states as one number, so a graph and an alert can compare them.
BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
# Any token is a method to waitress and Falcon; one label per invented method would let anyone
# grow every process's metrics (and their files under PROMETHEUS_MULTIPROC_DIR) without bound.
KNOWN_METHODS = frozenset(falcon.constants.HTTP_METHODS)
OTHER_METHOD = "OTHER"

REQUESTS = Counter(
    "bfa_http_requests_total", "Web requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "bfa_http_request_duration_seconds",
    "Time to answer a web request.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class RequestMetrics:
    """Counts and times every request by its route template (never the raw path) and its method
    (an unknown one as OTHER): bounded labels."""

    def process_request(self, req, resp):
        req.context.metrics_started = time.perf_counter()

    def process_response(self, req, resp, resource, req_succeeded):
        started = req.context.get("metrics_started")
        if started is None:
            return
        route = req.uri_template or UNROUTED
        method = req.method if req.method in KNOWN_METHODS else OTHER_METHOD
        REQUESTS.labels(method, route, str(resp.status_code)).inc()
        LATENCY.labels(method, route).observe(time.perf_counter() - started)


def observability_middleware() -> list:
    """The middleware to pass to falcon.App(middleware=[...]) at construction."""
    return [RequestMetrics()]


def _gauge(name: str, documentation: str, labels: list[str], samples: dict) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in samples.items():
        family.add_metric(list(label_values), value)
    return family


def _counts_by_status(column, statuses: tuple[str, ...]) -> dict:
    counted = dict(column.model.select(column, fn.COUNT(1)).group_by(column).tuples())
    return {(status,): counted.get(status, 0) for status in statuses}


def _oldest_unprocessed_event_age() -> float:
    oldest = (
        PaymentEvent.select(fn.MIN(PaymentEvent.received_at))
        .where(~PaymentEvent.processed)
        .scalar()
    )
    return (utcnow() - oldest).total_seconds() if oldest else 0.0


def _paid_orders_and_revenue() -> tuple[int, int]:
    """Orders ever paid (paid_at stays when one is later refunded) and their rupiah: counts that
    only grow, read from the one record of payments."""
    count, revenue = (
        Order.select(fn.COUNT(1), fn.COALESCE(fn.SUM(Order.final_amount), 0))
        .where(Order.paid_at.is_null(False))
        .tuples()
        .get()
    )
    return count, int(revenue)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def database_metrics() -> list[GaugeMetricFamily | CounterMetricFamily]:
    with connection():
        paid_orders, revenue = _paid_orders_and_revenue()
        return [
            _counter("bfa_orders_paid", "Orders paid, ever (from the database).", paid_orders),
            _counter(
                "bfa_revenue_rupiah",
                "Rupiah of the orders paid, ever (from the database; refunds not deducted).",
                revenue,
            ),
            _gauge(
                "bfa_orders",
                "Orders by status.",
                ["status"],
                _counts_by_status(Order.status, ORDER_STATUSES),
            ),
            _gauge(
                "bfa_outbox_messages",
                "Notification outbox rows by status.",
                ["status"],
                _counts_by_status(OutboxMessage.status, OUTBOX_STATUSES),
            ),
            _gauge(
                "bfa_oldest_unprocessed_payment_event_age_seconds",
                "Age of the oldest stored Midtrans notification not yet processed (0: none).",
                [],
                {(): _oldest_unprocessed_event_age()},
            ),
        ]


def redis_metrics(redis_client: redis.Redis) -> list[GaugeMetricFamily]:
    depths = queue_depths(redis_client)
    scheduler = scheduler_heartbeat(redis_client)
    return [
        _gauge(
            "bfa_queue_messages",
            "Dramatiq messages waiting, by queue and state.",
            ["queue", "state"],
            {
                (queue, state): depth[state]
                for queue, depth in depths.items()
                for state in ("ready", "delayed")
            },
        ),
        _gauge(
            "bfa_dead_letters",
            "Dramatiq dead-lettered messages by queue.",
            ["queue"],
            {(queue,): depth["dead"] for queue, depth in depths.items()},
        ),
        _gauge(
            "bfa_workers_alive",
            "Worker processes with a live heartbeat.",
            [],
            {(): len(worker_heartbeats(redis_client))},
        ),
        _gauge(
            "bfa_scheduler_alive",
            "1 when the scheduler's heartbeat is live.",
            [],
            {(): int(scheduler["alive"])},
        ),
        _gauge(
            "bfa_breaker_state",
            "A provider circuit's state as every process sees it: 0 closed, 1 half-open, 2 open.",
            ["circuit"],
            {(circuit,): _breaker_state(redis_client, circuit) for circuit in CIRCUITS},
        ),
        _gauge(
            "bfa_alarm_active",
            "1 for each alarm holding at the last alarm check (absent when none holds).",
            ["name"],
            {(name,): 1 for name in sorted(active_alarm_names(redis_client))},
        ),
    ]


def _breaker_state(redis_client: redis.Redis, circuit: str) -> int:
    """A circuit never used yet counts as closed."""
    return BREAKER_STATES.get(circuit_state(redis_client, circuit, NAMESPACE) or "closed", 0)


class BusinessCollector:
    """Gauges computed at scrape time; a dependency that is down shows as `bfa_dependency_up 0`
    instead of failing the whole scrape."""

    def __init__(self, redis_client: redis.Redis):
        self._redis = redis_client

    def collect(self):
        up = {}
        try:
            yield from database_metrics()
            up["database"] = 1
        except peewee.DatabaseError:
            up["database"] = 0
        try:
            yield from redis_metrics(self._redis)
            up["redis"] = 1
        except redis.RedisError:
            up["redis"] = 0
        yield _gauge(
            "bfa_dependency_up",
            "1 when the dependency answered this scrape.",
            ["dependency"],
            {(name,): value for name, value in up.items()},
        )


class _ProcessMetrics:
    """This process's own metrics (the default registry) inside a per-scrape registry."""

    def collect(self):
        yield from REGISTRY.collect()


def _in_multiprocess_mode() -> bool:
    # prometheus_client picks its value store once, at import, from PROMETHEUS_MULTIPROC_DIR:
    # ask it how our metrics are really stored rather than reading the environment again.
    return values.ValueClass is not values.MutexValue


def scrape_registry(redis_client: redis.Redis) -> CollectorRegistry:
    registry = CollectorRegistry()
    if _in_multiprocess_mode():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    registry.register(BusinessCollector(redis_client))
    return registry


class MetricsResource:
    def __init__(self, redis_client: redis.Redis):
        self._redis = redis_client

    def on_get(self, req, resp):
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(scrape_registry(self._redis))


def add_observability(app: falcon.App, redis_client: redis.Redis) -> None:
    """Mounts /metrics (the middleware comes from observability_middleware(), given to
    falcon.App at construction)."""
    app.add_route("/metrics", MetricsResource(redis_client))
