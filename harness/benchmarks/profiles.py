"""How big a run is: the full benchmark, a quick one and the CI smoke (invariants only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    intake_seconds: int  # per wrk run; 0 skips the intake phase
    capacity_orders: int
    capacity_in_flight: int
    latency_rate: float  # orders/s offered, open loop
    latency_seconds: int
    burst_checkouts: int
    keepalive_clients: int  # idle keep-alive connections held while checkouts run
    keepalive_checkouts: int
    drain_timeout: int  # seconds every message may take after a phase's last payment


FULL = Profile(
    name="full",
    intake_seconds=10,
    capacity_orders=400,
    capacity_in_flight=50,
    latency_rate=20,
    latency_seconds=60,
    burst_checkouts=100,
    keepalive_clients=300,
    keepalive_checkouts=100,
    drain_timeout=60,
)
QUICK = Profile(
    name="quick",
    intake_seconds=4,
    capacity_orders=150,
    capacity_in_flight=50,
    latency_rate=20,
    latency_seconds=15,
    burst_checkouts=100,
    keepalive_clients=300,
    keepalive_checkouts=40,
    drain_timeout=60,
)
SMOKE = Profile(
    name="smoke",
    intake_seconds=0,
    capacity_orders=12,
    capacity_in_flight=4,
    latency_rate=4,
    latency_seconds=2,
    burst_checkouts=8,
    keepalive_clients=0,
    keepalive_checkouts=0,
    drain_timeout=30,
)
PROFILES = {profile.name: profile for profile in (FULL, QUICK, SMOKE)}
