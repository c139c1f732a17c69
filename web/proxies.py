"""Who the customer is behind nginx or a load balancer: the address rate limits and the login
lockout count by. TRUSTED_PROXY names every proxy (addresses or CIDRs); X-Forwarded-For is read
from the right, skipping trusted hops (nginx's `real_ip_recursive`), so a chain such as load
balancer -> nginx -> web finds the customer, and headers from anyone else are dropped."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from config.networks import Network

FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_BY",
    "HTTP_FORWARDED",
)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted(address: str, networks: Iterable[Network]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in networks)


def client_address(peer: str, forwarded_for: str, networks: tuple[Network, ...]) -> str:
    """The rightmost X-Forwarded-For hop that is not a trusted proxy; the peer itself when it is
    not trusted. An unreadable hop ends the walk at the proxy that forwarded it."""
    if not is_trusted(peer, networks):
        return peer
    address = peer
    for hop in reversed([hop.strip() for hop in forwarded_for.split(",") if hop.strip()]):
        if not is_trusted(hop, networks):
            return hop if _ip(hop) is not None else address
        address = hop
    return address


def behind_proxies(app: Callable, networks: tuple[Network, ...]) -> Callable:
    """WSGI middleware: REMOTE_ADDR and the scheme from trusted proxies, no forwarded headers."""

    def translate(environ: dict, start_response: Callable):
        peer = environ.get("REMOTE_ADDR", "")
        if networks and is_trusted(peer, networks):
            environ["REMOTE_ADDR"] = client_address(
                peer, environ.get("HTTP_X_FORWARDED_FOR", ""), networks
            )
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        for header in FORWARDED_HEADERS:
            environ.pop(header, None)
        return app(environ, start_response)

    return translate
