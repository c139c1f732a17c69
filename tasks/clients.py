"""Outside-service clients, built once per process from the settings."""

from __future__ import annotations

from functools import cache

from integrations.midtrans import MidtransClient
from tasks.broker import settings


@cache
def midtrans() -> MidtransClient:
    """The process's Midtrans client (httpx clients are thread-safe and pooled)."""
    return MidtransClient(
        settings.midtrans_server_key,
        settings.midtrans_snap_base_url,
        settings.midtrans_api_base_url,
    )
