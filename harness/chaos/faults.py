"""The fault injector: kill -9 of workers, Redis and PostgreSQL restarts, and windows in which the
Status API answers 5xx or hangs, SMTP is down and WhatsApp answers 429, spread over the traffic.

Faults run one after another on one thread (a restart is finished before the next fault); a
provider window opens and closes on the same timeline, so it overlaps whatever else is going on.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from harness.chaos.redelivery import Kill, RedeliveryWatch
from harness.chaos.system import RESTART_DELAY_SECONDS, System

STATUS_API_HANG_MS = 16_000  # past the client's 15 s read timeout
# window -> (control path, plan while open, plan that closes it)
WINDOWS = {
    "status_api_5xx": (
        "/_sandbox/midtrans/faults",
        {"status_api": {"fail_fraction": 1.0, "status": 503}},
        {"status_api": {}},
    ),
    "status_api_timeouts": (
        "/_sandbox/midtrans/faults",
        {"status_api": {"delay_ms": STATUS_API_HANG_MS}},
        {"status_api": {}},
    ),
    "smtp_down": ("/_sandbox/mail/faults", {"down": True}, {}),
    "whatsapp_429": ("/_sandbox/whatsapp/faults", {"fail_fraction": 0.5, "status": 429}, {}),
}
PROVIDERS = ("/_sandbox/mail/faults", "/_sandbox/whatsapp/faults")
SHELTER_SECONDS = 1.5  # deliveries already at a provider finish within this
# Where each window opens, as a share of the span; the two Status API windows never overlap.
WINDOW_STARTS = {
    "status_api_5xx": 0.10,
    "smtp_down": 0.25,
    "status_api_timeouts": 0.50,
    "whatsapp_429": 0.60,
}


@dataclass(frozen=True)
class Fault:
    at: float  # seconds after the injector starts
    kind: str  # worker_kill, redis_restart, postgres_restart, <window>:open, <window>:close


def fault_timeline(
    counts: dict[str, int], window_seconds: float, span: float, rng: random.Random
) -> list[Fault]:
    """Point faults in random order, one per equal slot of the span; the windows at fixed shares."""
    points = [kind for kind, count in counts.items() for _ in range(count)]
    rng.shuffle(points)
    slot = span / max(1, len(points))
    faults = [Fault((n + rng.uniform(0.3, 0.7)) * slot, kind) for n, kind in enumerate(points)]
    for window, share in WINDOW_STARTS.items():
        opens = share * span
        faults += [Fault(opens, f"{window}:open"), Fault(opens + window_seconds, f"{window}:close")]
    return sorted(faults, key=lambda fault: fault.at)


class FaultInjector(threading.Thread):
    """Carries out the timeline; `done` once it ran and every kill's redelivery was measured."""

    def __init__(
        self,
        system: System,
        faults: list[Fault],
        outage_seconds: float,
        redelivery_limit_seconds: float,
        rng: random.Random,
        shelter_deliveries: bool = False,
    ) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self.system = system
        self.faults = faults
        self.outage_seconds = outage_seconds
        self.redelivery_limit_seconds = redelivery_limit_seconds
        self.rng = rng
        self.shelter_deliveries = shelter_deliveries
        self.kills: list[Kill] = []
        self.log: list[dict] = []
        self._watches: list[RedeliveryWatch] = []
        self._halt = threading.Event()
        self._sandbox = httpx.Client(base_url=system.sandbox_url, timeout=30)

    def run(self) -> None:
        started = time.monotonic()
        for fault in self.faults:
            if self._halt.wait(max(0.0, started + fault.at - time.monotonic())):
                break
            self._carry_out(fault, time.monotonic() - started)
        for watch in self._watches:
            watch.join()

    def done(self) -> bool:
        return not self.is_alive()

    def stop(self) -> None:
        """Close every window still open (a run cut short must not leave the sandbox broken)."""
        self._halt.set()
        for path, _, closed in WINDOWS.values():
            try:
                self._sandbox.post(path, json=closed)
            except httpx.HTTPError:
                continue

    def _carry_out(self, fault: Fault, at: float) -> None:
        began = time.monotonic()
        entry = {"kind": fault.kind, "planned_at": round(fault.at, 1), "at": round(at, 1)}
        try:
            self._act(fault.kind)
        except Exception as error:  # noqa: BLE001 - recorded in the report; the run goes on
            entry["error"] = f"{type(error).__name__}: {error}"
        entry["took_seconds"] = round(time.monotonic() - began, 2)
        self.log.append(entry)

    def _act(self, kind: str) -> None:
        if kind == "worker_kill":
            with self._sheltered():
                killed = self._kill_a_worker()
            self._restart_after(killed)
        elif kind == "redis_restart":
            self.system.restart_redis(self.outage_seconds)
        elif kind == "postgres_restart":
            with self._sheltered():
                self.system.restart_postgres(self.outage_seconds)
        else:
            window, _, action = kind.partition(":")
            path, opened, closed = WINDOWS[window]
            self._sandbox.post(path, json=opened if action == "open" else closed).raise_for_status()

    @contextmanager
    def _sheltered(self) -> Iterator[None]:
        """In the safe mix, both providers refuse around a kill or a PostgreSQL stop, so no
        message is accepted by a provider and then left unrecorded (the reported hole of a
        delivery sent again after it was interrupted between the provider and mark_sent)."""
        if not self.shelter_deliveries:
            yield
            return
        plans = {path: self._sandbox.get(path).json() for path in PROVIDERS}
        for path in PROVIDERS:
            self._sandbox.post(path, json={"down": True}).raise_for_status()
        time.sleep(SHELTER_SECONDS)
        try:
            yield
        finally:
            for path, plan in plans.items():
                self._sandbox.post(path, json=plan).raise_for_status()

    def _kill_a_worker(self) -> int:
        """kill -9 of a random worker; its redelivery is measured aside. Its index."""
        index = self.rng.randrange(len(self.system.workers))
        killed_at = self.system.kill_worker(index)
        kill = Kill(self.system.workers[index].name, killed_at)
        self.kills.append(kill)
        watch = RedeliveryWatch(self.system.redis_url, kill, self.redelivery_limit_seconds * 3)
        watch.start()
        self._watches.append(watch)
        return index

    def _restart_after(self, index: int) -> None:
        """As a supervisor with RestartSec=1 would."""
        time.sleep(RESTART_DELAY_SECONDS)
        self.system.restart_worker(index)

    def counts(self) -> dict[str, int]:
        done = [entry["kind"] for entry in self.log if "error" not in entry]
        return {kind: done.count(kind) for kind in sorted(set(done))}
