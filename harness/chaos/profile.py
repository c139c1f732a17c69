"""How big and how hostile a run is: the CI-sized `small` and the issue-sized `full`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    orders: int
    notifications: int  # first sends; re-sends after a 5xx or no answer come on top
    worker_kills: int
    redis_restarts: int
    postgres_restarts: int
    seed: int
    mix: str  # safe: clear of the holes already reported; hostile: goes looking for them
    arrival_seconds: float  # checkouts are spread over this long
    step_gap: tuple[float, float]  # seconds between two steps of a truth timeline
    variant_spread: float  # duplicates, forgeries, ... arrive within this long of their step
    window_seconds: float  # how long each provider fault window stays open
    outage_seconds: float  # how long Redis or PostgreSQL stays down in a restart
    settle_seconds: float  # the longest wait for the system to settle once the world is calm
    stable_seconds: float  # settled (with mismatches) when nothing changed this long
    redelivery_limit_seconds: float = 60.0

    @property
    def span(self) -> float:
        """The stretch of time the faults are spread over: while orders arrive and play."""
        return self.arrival_seconds + 4 * self.step_gap[1]

    def fault_counts(self) -> dict[str, int]:
        return {
            "worker_kill": self.worker_kills,
            "redis_restart": self.redis_restarts,
            "postgres_restart": self.postgres_restarts,
        }

    def with_overrides(self, **values) -> Profile:
        return dataclasses.replace(
            self, **{name: value for name, value in values.items() if value is not None}
        )

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


SMALL = Profile(
    name="small",
    orders=50,
    notifications=300,
    worker_kills=1,
    redis_restarts=1,
    postgres_restarts=1,
    seed=9,
    mix="safe",
    arrival_seconds=20,
    step_gap=(0.5, 2.5),
    variant_spread=6,
    window_seconds=6,
    outage_seconds=2,
    settle_seconds=180,
    stable_seconds=150,
)

FULL = Profile(
    name="full",
    orders=1000,
    notifications=10_000,
    worker_kills=20,
    redis_restarts=3,
    postgres_restarts=3,
    seed=9,
    mix="hostile",
    arrival_seconds=480,
    step_gap=(1, 10),
    variant_spread=30,
    window_seconds=60,
    outage_seconds=5,
    settle_seconds=600,
    stable_seconds=150,
)

PROFILES = {"small": SMALL, "full": FULL}
