"""The dead-man's switch: HEARTBEAT_URL (a healthchecks.io check, an Uptime Kuma push monitor)
is pinged every minute while the shop is healthy, and `<url>/fail` while the scheduler can see
something down. A dead machine, or a dead scheduler, stops the pings: the outside service then
tells the owner, which no alarm sent from this machine could."""

from __future__ import annotations

import redis
from loguru import logger

from integrations.errors import ProviderError
from integrations.http import Client, Timeout, send
from messaging.broker_state import worker_heartbeats

TIMEOUT = Timeout(connect=5.0, read=5.0)


class Heartbeat:
    """Checks what the scheduler can see of the shop, then pings the outside service."""

    def __init__(self, heartbeat_url: str, public_base_url: str) -> None:
        self._pinged = Client(heartbeat_url, timeout=TIMEOUT)
        self._web = Client(public_base_url, timeout=TIMEOUT)

    def beat(self, redis_client: redis.Redis) -> list[str]:
        """Pings `<url>` when nothing is wrong, `<url>/fail` otherwise; returns what is wrong."""
        problems = self.problems(redis_client)
        path = "/fail" if problems else ""
        if problems:
            logger.warning("Heartbeat: fail ({})", "; ".join(problems))
        try:
            send(self._pinged, "GET", path)
        except ProviderError as error:
            logger.error("Heartbeat ping failed: {}", error)
        return problems

    def problems(self, redis_client: redis.Redis) -> list[str]:
        """The web ready (its /health/ready: PostgreSQL and Redis answer it), a worker alive and
        Redis answering the scheduler."""
        found = []
        try:
            if not worker_heartbeats(redis_client):
                found.append("no worker alive")
        except redis.RedisError as error:
            found.append(f"Redis does not answer ({type(error).__name__})")
        try:
            ready = send(self._web, "GET", "/health/ready")
            if ready.status_code != 200:
                found.append(f"web not ready (HTTP {ready.status_code})")
        except ProviderError as error:
            found.append(f"web does not answer ({error})")
        return found

    def close(self) -> None:
        self._pinged.close()
        self._web.close()
