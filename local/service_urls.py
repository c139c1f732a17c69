"""Where PostgreSQL and Redis are: the configured URLs, or embedded servers under var/."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from config.settings import Settings


@dataclass
class ServiceUrls:
    database_url: str
    redis_url: str
    stoppers: list[Callable[[], None]] = field(default_factory=list)

    def stop_embedded(self) -> None:
        """Stops the embedded servers this process started (Redis first: it holds no DB state)."""
        for stop in self.stoppers:
            stop()
        self.stoppers.clear()


def resolve_service_urls(settings: Settings) -> ServiceUrls:
    """Configured URLs win; otherwise embedded servers are started or re-attached."""
    database_url, redis_url, stoppers = settings.database_url, settings.redis_url, []
    if not redis_url:
        # Imported here: the embedded servers' packages load only when one must run.
        from local.embedded import start_redis

        embedded_redis = start_redis(settings.var_dir / "redis")
        redis_url = embedded_redis.url
        stoppers.append(embedded_redis.stop)
    if not database_url:
        # Imported here: the embedded servers' packages load only when one must run.
        from local.embedded import start_postgres

        postgres = start_postgres(settings.var_dir / "postgres")
        database_url = postgres.url
        stoppers.append(postgres.stop)
    return ServiceUrls(database_url, redis_url, stoppers)
