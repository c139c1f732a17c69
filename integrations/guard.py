"""Every call to an outside provider waits for an outbound slot, then goes through the
provider's circuit breaker: one place for that order, whichever provider it is, and so the one
place each call is timed and counted (integrations/call_metrics.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import redis

from integrations.breaker import ProviderBreaker
from integrations.call_metrics import BREAKER_OPEN, RATE_LIMITED, TimedCall, observe
from integrations.errors import ProviderUnavailable
from integrations.outbound_rate import OutboundRateLimit

T = TypeVar("T")


@dataclass(frozen=True)
class ProviderGuard:
    breaker: ProviderBreaker
    rate_limit: OutboundRateLimit
    provider: str
    call_name: str  # the `call` label of the provider's calls: snap_create, send, ...

    def call(self, function: Callable[..., T], *args) -> T:
        """Raises ProviderUnavailable when no slot frees up in time or the circuit is open."""
        waited = time.perf_counter()
        try:
            self.rate_limit.acquire()
        except ProviderUnavailable:
            observe(self.provider, self.call_name, RATE_LIMITED, time.perf_counter() - waited)
            raise
        timed = TimedCall(self.provider, self.call_name, function)
        try:
            return self.breaker.call(timed, *args)
        except ProviderUnavailable:
            if not timed.ran:
                observe(self.provider, self.call_name, BREAKER_OPEN, 0.0)
            raise


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
    call_name: str = "send",
) -> ProviderGuard:
    """The breaker and rate limit for `provider`, both shared with other processes via Redis.

    `circuit` names a breaker of its own for one of the provider's services; the rate limit
    stays the provider's, one bucket in Redis for every guard that names it."""
    breaker = ProviderBreaker(redis_client, circuit or provider, fail_max, reset_seconds, namespace)
    rate_limit = OutboundRateLimit(redis_client, provider, per_second, rate_wait_seconds, namespace)
    return ProviderGuard(breaker, rate_limit, provider, call_name)
