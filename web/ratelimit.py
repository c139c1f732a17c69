"""Per-client rate limits shared by every web process: pyrate-limiter's GCRA state in Redis."""

from __future__ import annotations

import ipaddress
from math import ceil

from pyrate_limiter import Duration, Rate, RateItem, RedisStateStore, StateBucket

IPV6_CLIENT_PREFIX = 64


def client_key(address: str | None) -> str:
    """Who a per-client limit counts: an IPv4 address, or the /64 an IPv6 address is in. One
    IPv6 customer holds a whole /64 (privacy extensions change the address by themselves), so
    counting single addresses would let anyone step around every limit."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network((ip, IPV6_CLIENT_PREFIX), strict=False))


class ClientRateLimit:
    """`limit` requests per `period_ms` per client key: one small Redis hash per key, with a TTL."""

    def __init__(self, redis_client, name: str, limit: int, period_ms: int = Duration.MINUTE):
        self._redis = redis_client
        self._name = name
        self._rates = [Rate(limit, period_ms)]

    def retry_after(self, client_key: str) -> int | None:
        """None when the request may pass, else the seconds until it would."""
        store = RedisStateStore(self._redis, key=f"ratelimit:{self._name}:{client_key}")
        bucket = StateBucket(self._rates, store=store)
        item = RateItem(client_key, bucket.now(), 1)
        if bucket.put(item):
            return None
        return max(1, ceil(bucket.waiting(item) / 1000))
