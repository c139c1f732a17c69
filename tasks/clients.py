"""Outside-service clients, built once per process from the settings."""

from __future__ import annotations

from functools import cache

from integrations.breaker import ProviderBreaker
from integrations.midtrans import MidtransClient, SnapPayment
from integrations.outbound_rate import OutboundRateLimit
from tasks.broker import NAMESPACE, broker, settings

MIDTRANS_BREAKER_FAIL_MAX = 5
MIDTRANS_BREAKER_RESET_SECONDS = 30


class GuardedMidtrans:
    """Midtrans behind a circuit breaker shared through Redis and an outbound rate limit: an
    outage fails fast (ProviderUnavailable, retried later) instead of tying up every worker."""

    def __init__(
        self, client: MidtransClient, breaker: ProviderBreaker, rate_limit: OutboundRateLimit
    ) -> None:
        self._client = client
        self._breaker = breaker
        self._rate_limit = rate_limit

    def create_snap_payment(self, request_body: dict) -> SnapPayment:
        self._rate_limit.acquire()
        return self._breaker.call(self._client.create_snap_payment, request_body)

    def transaction_status(self, order_id: str) -> dict:
        self._rate_limit.acquire()
        return self._breaker.call(self._client.transaction_status, order_id)


@cache
def midtrans() -> GuardedMidtrans:
    """The process's Midtrans client (httpx clients are thread-safe and pooled)."""
    client = MidtransClient(
        settings.midtrans_server_key,
        settings.midtrans_snap_base_url,
        settings.midtrans_api_base_url,
    )
    breaker = ProviderBreaker(
        broker.client,
        "midtrans",
        MIDTRANS_BREAKER_FAIL_MAX,
        MIDTRANS_BREAKER_RESET_SECONDS,
        NAMESPACE,
    )
    rate_limit = OutboundRateLimit(
        broker.client, "midtrans", settings.midtrans_rate_per_second, namespace=NAMESPACE
    )
    return GuardedMidtrans(client, breaker, rate_limit)
