"""Outside-service clients, built once per process from the settings."""

from __future__ import annotations

from functools import cache

from integrations.guard import ProviderGuard, provider_guard
from integrations.midtrans import MidtransClient, SnapPayment
from tasks.broker import NAMESPACE, broker, settings

MIDTRANS_BREAKER_FAIL_MAX = 5
MIDTRANS_BREAKER_RESET_SECONDS = 30


class GuardedMidtrans:
    """Midtrans behind its provider guard: an outage fails fast (ProviderUnavailable, retried
    later) instead of tying up every worker, and bursts stay under the outbound limit."""

    def __init__(self, client: MidtransClient, guard: ProviderGuard) -> None:
        self._client = client
        self._guard = guard

    def create_snap_payment(self, request_body: dict) -> SnapPayment:
        return self._guard.call(self._client.create_snap_payment, request_body)

    def transaction_status(self, order_id: str) -> dict:
        return self._guard.call(self._client.transaction_status, order_id)


@cache
def midtrans() -> GuardedMidtrans:
    """The process's Midtrans client (httpx clients are thread-safe and pooled)."""
    client = MidtransClient(
        settings.midtrans_server_key,
        settings.midtrans_snap_base_url,
        settings.midtrans_api_base_url,
    )
    guard = provider_guard(
        broker.client,
        "midtrans",
        fail_max=MIDTRANS_BREAKER_FAIL_MAX,
        reset_seconds=MIDTRANS_BREAKER_RESET_SECONDS,
        per_second=settings.midtrans_rate_per_second,
        namespace=NAMESPACE,
    )
    return GuardedMidtrans(client, guard)
