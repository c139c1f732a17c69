"""GET /health: the full report, for the operator only (it names flagged orders, queue depths
and worker hosts, and runs heavier queries than a probe should)."""

from __future__ import annotations

import falcon
import redis

from config.settings import Settings
from web.admin.auth import AdminAuth, require_admin
from web.health import health_report


@falcon.before(require_admin)
class HealthResource:
    """The full report, for the operator (bearer token or console session); 503 only when
    PostgreSQL or Redis is down."""

    def __init__(self, settings: Settings, redis_client: redis.Redis, auth: AdminAuth):
        self.auth = auth
        self._redis = redis_client
        self._silence_minutes = settings.webhook_silence_alarm_minutes

    def on_get(self, req, resp):
        report = health_report(self._redis, self._silence_minutes)
        resp.status = falcon.HTTP_503 if report["status"] == "unavailable" else falcon.HTTP_200
        resp.media = report
