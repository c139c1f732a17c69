"""A circuit breaker per provider: pybreaker with its state in Redis, shared by every process.

pybreaker's `CircuitBreaker.call` holds a lock for the whole call, so one breaker object would
serialise every thread of a worker. Each thread therefore gets its own breaker object; all of
them read and write the same Redis keys, so they open and close together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import pybreaker
import redis

from integrations.errors import (
    PermanentProviderError,
    ProviderUnavailable,
    RecipientDeferred,
    TransactionNotFound,
)

T = TypeVar("T")


class ProviderBreaker:
    """Opens after `fail_max` consecutive failures; lets a trial call through after
    `reset_seconds`. Permanent errors, a recipient's refusal or deferral and "no such
    transaction" prove the provider answers, so they do not count."""

    def __init__(
        self,
        redis_client: redis.Redis,
        provider: str,
        fail_max: int,
        reset_seconds: float,
        namespace: str = "dramatiq",
    ) -> None:
        self.provider = provider
        self.reset_seconds = reset_seconds
        self._redis = redis_client  # must not use decode_responses (pybreaker decodes itself)
        self._fail_max = fail_max
        self._storage_namespace = storage_namespace(namespace, provider)
        self._local = threading.local()

    def call(self, function: Callable[..., T], *args, **kwargs) -> T:
        """Runs `function` through the breaker; an open circuit raises ProviderUnavailable.

        The call that trips the breaker, and a failed trial call, also raise it: the provider is
        down, which is not the message's fault.
        """
        try:
            return self._breaker().call(function, *args, **kwargs)
        except pybreaker.CircuitBreakerError as error:
            cause = error.__context__
            detail = f": {cause}" if cause is not None else ""
            raise ProviderUnavailable(f"{self.provider} circuit open{detail}") from error

    @property
    def state(self) -> str:
        """'closed', 'open' or 'half-open', as every process sees it."""
        return self._breaker().current_state

    def _breaker(self) -> pybreaker.CircuitBreaker:
        breaker = getattr(self._local, "breaker", None)
        if breaker is None:
            storage = pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, self._redis, namespace=self._storage_namespace
            )
            breaker = pybreaker.CircuitBreaker(
                fail_max=self._fail_max,
                reset_timeout=self.reset_seconds,
                exclude=[PermanentProviderError, RecipientDeferred, TransactionNotFound],
                state_storage=storage,
                name=self.provider,
            )
            self._local.breaker = breaker
        return breaker


def storage_namespace(namespace: str, provider: str) -> str:
    """Where a provider's breaker keeps its shared state in Redis."""
    return f"{namespace}:breaker:{provider}"


def circuit_state(redis_client: redis.Redis, provider: str, namespace: str) -> str | None:
    """'closed', 'open' or 'half-open' as every process sees it, read without building a
    breaker; None before the provider was first called."""
    base = pybreaker.CircuitRedisStorage.BASE_NAMESPACE
    value = redis_client.get(f"{storage_namespace(namespace, provider)}:{base}:state")
    return value.decode() if isinstance(value, bytes) else value
