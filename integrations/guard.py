"""Every call to an outside provider waits for an outbound slot, then goes through the
provider's circuit breaker: one place for that order, whichever provider it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis

from integrations.breaker import ProviderBreaker
from integrations.outbound_rate import OutboundRateLimit

T = TypeVar("T")


@dataclass(frozen=True)
class ProviderGuard:
    breaker: ProviderBreaker
    rate_limit: OutboundRateLimit

    def call(self, function: Callable[..., T], *args) -> T:
        """Raises ProviderUnavailable when no slot frees up in time or the circuit is open."""
        self.rate_limit.acquire()
        return self.breaker.call(function, *args)


def provider_guard(
    redis_client: redis.Redis,
    provider: str,
    *,
    fail_max: int,
    reset_seconds: float,
    per_second: int,
    namespace: str,
    rate_wait_seconds: float = 10.0,
    circuit: str | None = None,
) -> ProviderGuard:
    """The breaker and rate limit for `provider`, both shared with other processes via Redis.

    `circuit` names a breaker of its own for one of the provider's services; the rate limit
    stays the provider's, one bucket in Redis for every guard that names it."""
    breaker = ProviderBreaker(redis_client, circuit or provider, fail_max, reset_seconds, namespace)
    rate_limit = OutboundRateLimit(redis_client, provider, per_second, rate_wait_seconds, namespace)
    return ProviderGuard(breaker, rate_limit)
