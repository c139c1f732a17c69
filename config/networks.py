"""Addresses and CIDRs from a setting (TRUSTED_PROXY), parsed once at start-up."""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str) -> tuple[Network, ...]:
    """`10.0.0.5, 10.1.0.0/16, ::1` -> networks; raises ValueError naming a bad entry."""
    networks = []
    for entry in (part.strip() for part in raw.split(",")):
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"not an address or CIDR: {entry!r}") from None
    return tuple(networks)
