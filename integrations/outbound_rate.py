"""An outbound rate limit per provider, shared by every worker process (GCRA state in Redis),
so a burst of deliveries never exceeds what SMTP or WhatsApp accepts per second."""

from __future__ import annotations

import redis
from pyrate_limiter import (
    Duration,
    Limiter,
    Rate,
    RedisStateStore,
    SingleBucketFactory,
    StateBucket,
)

from integrations.errors import ProviderUnavailable


class OutboundRateLimit:
    """`per_second` calls per second, evenly spaced (burst 1), so no one-second window ever
    holds more than the provider allows; a caller waits for a slot, at most `max_wait_seconds`."""

    def __init__(
        self,
        redis_client: redis.Redis,
        provider: str,
        per_second: int,
        max_wait_seconds: float = 10.0,
        namespace: str = "dramatiq",
    ) -> None:
        self.provider = provider
        self._max_wait_seconds = max_wait_seconds
        store = RedisStateStore(redis_client, key=f"{namespace}:outbound-rate:{provider}")
        bucket = StateBucket([Rate(per_second, Duration.SECOND, burst=1)], store=store)
        self._limiter = Limiter(SingleBucketFactory(bucket, schedule_leak=False))

    def acquire(self) -> None:
        """Blocks until a slot is free (fine inside a worker thread); raises ProviderUnavailable
        when none frees up in time, so the delivery waits without spending an attempt."""
        if not self._limiter.try_acquire(
            self.provider, blocking=True, timeout=self._max_wait_seconds
        ):
            raise ProviderUnavailable(
                f"{self.provider} outbound rate limit: no slot within {self._max_wait_seconds}s"
            )
