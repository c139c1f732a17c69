"""Midtrans as the workers call it: the client behind its provider guard."""

from __future__ import annotations

import redis

from config.settings import MidtransSettings
from integrations.guard import ProviderGuard, provider_guard
from integrations.midtrans import MidtransClient, SnapPayment
from messaging.contract import NAMESPACE

MIDTRANS_BREAKER_FAIL_MAX = 5
MIDTRANS_BREAKER_RESET_SECONDS = 30


# Snap (app.midtrans.com) and the Status API (api.midtrans.com) are separate services with
# separate circuits: a Snap outage must not stop payments being verified, nor the reverse.
SNAP_CIRCUIT = "midtrans_snap"
STATUS_API_CIRCUIT = "midtrans_status"


class GuardedMidtrans:
    """Midtrans behind its provider guards: an outage fails fast (ProviderUnavailable, retried
    later) instead of tying up every worker, and bursts stay under the one outbound limit."""

    def __init__(self, client: MidtransClient, snap: ProviderGuard, status: ProviderGuard) -> None:
        self._client = client
        self._snap = snap
        self._status = status

    def create_snap_payment(self, request_body: dict) -> SnapPayment:
        return self._snap.call(self._client.create_snap_payment, request_body)

    def transaction_status(self, order_id: str) -> dict:
        return self._status.call(self._client.transaction_status, order_id)


def guarded_midtrans(midtrans: MidtransSettings, redis_client: redis.Redis) -> GuardedMidtrans:
    """The worker's Midtrans client (its connection pools are thread-safe)."""
    client = MidtransClient(midtrans)

    def guard(circuit: str) -> ProviderGuard:
        return provider_guard(
            redis_client,
            "midtrans",
            fail_max=MIDTRANS_BREAKER_FAIL_MAX,
            reset_seconds=MIDTRANS_BREAKER_RESET_SECONDS,
            per_second=midtrans.rate_per_second,
            namespace=NAMESPACE,
            circuit=circuit,
        )

    return GuardedMidtrans(client, guard(SNAP_CIRCUIT), guard(STATUS_API_CIRCUIT))
