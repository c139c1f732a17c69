"""/health, /health/live, /health/ready: 200 when the dependencies answer, 503 when not."""

from __future__ import annotations

import falcon
import peewee
import redis

from models.db import connection, database


def check_database() -> dict:
    try:
        with connection():
            database.execute_sql("SELECT 1")
    except peewee.DatabaseError as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def check_redis(redis_client: redis.Redis) -> dict:
    try:
        redis_client.ping()
        persistence = redis_client.config_get("appendonly").get("appendonly")
    except redis.RedisError as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "aof": persistence in ("yes", b"yes")}


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
