"""/health, /health/live, /health/ready.

/health/live: the process answers. /health/ready: PostgreSQL and Redis answer (for a load
balancer). /health: the operator's report: dependencies, queue depths, dead letters, worker and
scheduler heartbeats and alarms; 503 when a dependency is down, "degraded" when something needs a
person while the web still works.
"""

from __future__ import annotations

import falcon
import peewee
import redis

from messaging.broker_state import queue_depths, scheduler_heartbeat, worker_heartbeats
from models.alarms import current_alarms
from models.db import connection, database
from models.outbox import OutboxMessage
from models.statuses import OutboxStatus


def check_database() -> dict:
    try:
        with connection():
            database.execute_sql("SELECT 1")
    except peewee.DatabaseError as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def check_redis(redis_client: redis.Redis) -> dict:
    """Redis answers; `aof` is None where CONFIG is disabled (some managed Redis services)."""
    try:
        redis_client.ping()
        persistence = redis_client.config_get("appendonly").get("appendonly")
    except redis.ResponseError:
        return {"ok": True, "aof": None}
    except redis.RedisError as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "aof": persistence in ("yes", b"yes")}


def _broker_report(redis_client: redis.Redis) -> dict:
    queues = queue_depths(redis_client)
    workers = worker_heartbeats(redis_client)
    return {
        "queues": queues,
        "dramatiq_dead_letters": {queue: depth["dead"] for queue, depth in queues.items()},
        "workers": {"alive": len(workers), "heartbeats": workers},
        "scheduler": scheduler_heartbeat(redis_client),
    }


def _database_report(webhook_silence_minutes: int, with_pesan: bool) -> dict:
    with connection():
        outbox_dead = OutboxMessage.select().where(OutboxMessage.status == OutboxStatus.DLQ).count()
        alarms = current_alarms(webhook_silence_minutes)
    listed = [
        alarm.as_dict() | ({"pesan": alarm.pesan or alarm.message} if with_pesan else {})
        for alarm in alarms
    ]
    return {"outbox_dead_letters": outbox_dead, "alarms": listed}


def _overall_status(report: dict) -> str:
    """unavailable: a dependency is down; degraded: the web works but someone should look."""
    if not all(check["ok"] for check in report["checks"].values()):
        return "unavailable"
    idle = report["workers"]["alive"] == 0 or not report["scheduler"]["alive"]
    dead = any(report["dramatiq_dead_letters"].values()) or report["outbox_dead_letters"]
    return "degraded" if idle or dead or report["alarms"] else "ok"


def _unknown_broker_report() -> dict:
    return {
        "queues": None,
        "dramatiq_dead_letters": {},
        "workers": {"alive": 0, "heartbeats": []},
        "scheduler": {"alive": False, "age_seconds": None},
    }


def health_report(
    redis_client: redis.Redis, webhook_silence_minutes: int, with_pesan: bool = False
) -> dict:
    """Everything /health and the admin health page show; parts that cannot be read are empty.
    `with_pesan` adds each alarm's Indonesian text for the console page only, so the JSON that
    monitoring reads stays as it is."""
    checks = {"database": check_database(), "redis": check_redis(redis_client)}
    report: dict = {"checks": checks, "outbox_dead_letters": 0, "alarms": []}
    report |= _broker_report(redis_client) if checks["redis"]["ok"] else _unknown_broker_report()
    if checks["database"]["ok"]:
        report |= _database_report(webhook_silence_minutes, with_pesan)
    report["status"] = _overall_status(report)
    return report


class LiveResource:
    """The process answers: for a process manager's liveness probe."""

    def on_get(self, req, resp):
        resp.media = {"status": "ok"}


class ReadyResource:
    """Database and Redis answer: for a load balancer's readiness probe."""

    def __init__(self, redis_client: redis.Redis):
        self._redis = redis_client

    def on_get(self, req, resp):
        checks = {"database": check_database(), "redis": check_redis(self._redis)}
        healthy = all(check["ok"] for check in checks.values())
        resp.status = falcon.HTTP_200 if healthy else falcon.HTTP_503
        resp.media = {"status": "ok" if healthy else "unavailable", "checks": checks}
