"""The phases of a run, in the order the issue lists them: intake, capacity, latency (steady and
burst) with their cost, the keep-alive crowd, and the invariants over every order made."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from config.settings import SANDBOX_SERVER_KEY
from harness.benchmarks import invariants, load, profiling, wrk
from harness.benchmarks.measure import Meter
from harness.benchmarks.profiles import Profile
from harness.benchmarks.system import System
from integrations.signature import midtrans_signature

INTAKE_BODIES = 500
KEEPALIVE_IN_FLIGHT = 10


def percentiles(values: list[float | None]) -> dict:
    """P50/P95/P99 and the largest value, in ms rounded to 0.1; empty when nothing was timed."""
    timed = sorted(value for value in values if value is not None)
    if not timed:
        return {"count": 0}
    cuts = timed * 99 if len(timed) == 1 else statistics.quantiles(timed, n=100, method="inclusive")
    return {
        "count": len(timed),
        "p50": round(cuts[49], 1),
        "p95": round(cuts[94], 1),
        "p99": round(cuts[98], 1),
        "max": round(timed[-1], 1),
    }


@dataclass
class Bench:
    """What every phase works with, and the records every order leaves for the invariants."""

    system: System
    meter: Meter
    profile: Profile
    run_dir: Path
    profile_dir: Path | None = None  # --profile: py-spy samples the web and the workers
    records: list[load.OrderRecord] = field(default_factory=list)
    idle_cpu_ms_per_second: dict[str, float] = field(default_factory=dict)

    def sampled(self, phase: str, *parts: str):
        """py-spy on these parts while the block runs, when --profile asked for it."""
        if self.profile_dir is None:
            return contextlib.nullcontext()
        targets = {part: self.system.process(part) for part in parts}
        return profiling.sampled(targets, self.profile_dir, phase)

    def run_customers(self, driver, *args, connections: int = 200) -> list[load.OrderRecord]:
        """Runs an async load driver with fresh clients; its records join the run's."""

        async def drive() -> list[load.OrderRecord]:
            watcher = load.Watcher(self.system.services.database_url)
            watcher.start()
            customers = load.Customers(
                self.system.web_url, self.system.sandbox_url, watcher, connections
            )
            try:
                return await driver(customers, *args)
            finally:
                await customers.close()
                await watcher.stop()
                if watcher.failures:
                    print(f"  the watcher's reads failed: {dict(watcher.failures)}", flush=True)

        records = asyncio.run(drive())
        self.records.extend(records)
        return records

    def settle(self, records: list[load.OrderRecord]) -> tuple[bool, invariants.Inbox]:
        """Waits for every success message of `records`, then reads the inbox."""
        delivered = invariants.wait_for_deliveries(
            self.system.services.database_url, records, self.profile.drain_timeout
        )
        inbox = invariants.Inbox(
            self.system.sandbox_url, self.system.services.database_url, records
        )
        inbox.stamp_deliveries(records)
        return delivered, inbox


def client_errors(records: list[load.OrderRecord]) -> dict[str, int]:
    return dict(Counter(record.error for record in records if record.error))


def cost_per_order(cpu_ms: dict[str, float], paid: int) -> dict[str, float]:
    return {name: round(ms / paid, 1) for name, ms in sorted(cpu_ms.items())} if paid else {}


# --- 1. intake --------------------------------------------------------------------------------


def _unknown_order_notifications(mode: str) -> list[dict]:
    """Signed notifications for orders that do not exist: stored and flagged, never paid."""
    bodies = []
    for index in range(INTAKE_BODIES):
        order_id = f"BENCH-INTAKE-{mode}-{index}-{uuid.uuid4().hex[:8]}"
        body = {
            "order_id": order_id,
            "status_code": "200",
            "gross_amount": "99000.00",
            "transaction_status": "settlement",
            "transaction_id": str(uuid.uuid4()),
            "fraud_status": "accept",
            "payment_type": "bank_transfer",
        }
        body["signature_key"] = midtrans_signature(order_id, "200", "99000.00", SANDBOX_SERVER_KEY)
        bodies.append(body)
    return bodies


def intake(bench: Bench, mode: str) -> dict:
    """The webhook and the checkout under wrk, each beside the bare app with the same threads."""
    binary = wrk.find_wrk()
    if binary is None:
        return {"skipped": "wrk is not installed and could not be installed"}
    system, seconds = bench.system, bench.profile.intake_seconds
    system.start("bare")
    scripts = {
        "webhook": wrk.write_script(
            bench.run_dir,
            f"webhook-{mode}",
            "/webhooks/midtrans",
            _unknown_order_notifications(mode),
        ),
        "checkout": wrk.write_script(
            bench.run_dir,
            f"checkout-{mode}",
            "/api/checkout",
            [load.checkout_body(900_000 + index) for index in range(50)],
        ),
    }
    results = {}
    try:
        for path, script in scripts.items():
            bare = wrk.run_wrk(binary, f"{system.bare_url}/", script, seconds)
            mark = bench.meter.mark()
            with bench.sampled(f"intake-{mode}-{path}", "web"):
                ours = wrk.run_wrk(binary, f"{system.web_url}/", script, seconds)
            cpu = bench.meter.cpu_ms_since(mark)
            results[path] = {
                "ours": ours.as_dict(),
                "bare": bare.as_dict(),
                "ratio": round(ours.rate / bare.rate, 2) if bare.rate else None,
                "web_cpu_ms_per_request": round(cpu.get("web", 0) / max(ours.requests, 1), 2),
            }
    finally:
        system.stop("bare")
    return {"mode": mode, "seconds": seconds, "wrk": "2 threads, 50 connections", **results}


# --- 2. capacity ------------------------------------------------------------------------------


def capacity(bench: Bench) -> dict:
    """N orders, C in flight, end to end; paid and delivered orders per second."""
    profile = bench.profile
    bench.meter.reset_peaks()
    mark = bench.meter.mark()
    with bench.sampled("capacity", "web", "worker"):
        records = bench.run_customers(
            load.closed_loop, "capacity", profile.capacity_orders, profile.capacity_in_flight
        )
    all_delivered, _ = bench.settle(records)
    cpu = bench.meter.cpu_ms_since(mark)
    started = min(record.checkout_sent for record in records)
    paid = [record.access_at for record in records if record.access_at]
    delivered = [record.delivered_at for record in records if record.delivered_at]
    return {
        "orders": len(records),
        "in_flight": profile.capacity_in_flight,
        "paid": len(paid),
        "paid_per_second": round(len(paid) / (max(paid) - started), 1) if paid else 0.0,
        "delivered": len(delivered),
        "delivered_per_second": (
            round(len(delivered) / (max(delivered) - started), 1) if delivered else 0.0
        ),
        "all_delivered_within_drain": all_delivered,
        "link_ms": percentiles([record.link_ms for record in records]),
        "access_ms": percentiles([record.access_ms for record in records]),
        "cpu_ms_per_paid_order": cost_per_order(cpu, len(paid)),
        "client_errors": client_errors(records),
        "rss_peak": {name: memory.as_dict() for name, memory in bench.meter.peaks().items()},
    }


# --- 3. latency (steady load, burst) and 4. cost ----------------------------------------------


def idle_cost(bench: Bench, seconds: float) -> dict[str, float]:
    """CPU ms per second of each class with no orders: polling, heartbeats, the exporter."""
    mark = bench.meter.mark()
    time.sleep(seconds)
    cpu = bench.meter.cpu_ms_since(mark)
    bench.idle_cpu_ms_per_second = {name: round(ms / seconds, 1) for name, ms in cpu.items()}
    return bench.idle_cpu_ms_per_second


def above_idle(cpu_ms: dict[str, float], idle: dict[str, float], seconds: float) -> dict:
    """A window's CPU less what the classes spend idle over as long: the orders' own cost."""
    return {name: max(0.0, ms - idle.get(name, 0.0) * seconds) for name, ms in cpu_ms.items()}


def steady_latency(bench: Bench) -> dict:
    """Open loop at a rate below capacity; the cost of each paid order at that rate, in all
    and above the idle cost (what the actors of the orders themselves used)."""
    profile = bench.profile
    bench.meter.reset_peaks()
    mark, started = bench.meter.mark(), time.monotonic()
    with bench.sampled("latency", "web", "worker"):
        records = bench.run_customers(
            load.open_loop, "latency", profile.latency_rate, profile.latency_seconds
        )
        bench.settle(records)
    cpu = bench.meter.cpu_ms_since(mark)
    own = above_idle(cpu, bench.idle_cpu_ms_per_second, time.monotonic() - started)
    paid = sum(1 for record in records if record.access_at)
    return {
        "offered_per_second": profile.latency_rate,
        "seconds": profile.latency_seconds,
        "orders": len(records),
        "link_ms": percentiles([record.link_ms for record in records]),
        "access_ms": percentiles([record.access_ms for record in records]),
        "delivered_ms": percentiles([record.delivered_ms for record in records]),
        "cpu_ms_per_paid_order": cost_per_order(cpu, paid),
        "cpu_ms_per_paid_order_above_idle": cost_per_order(own, paid),
        "client_errors": client_errors(records),
        "rss_peak": {name: memory.as_dict() for name, memory in bench.meter.peaks().items()},
    }


def burst(bench: Bench) -> dict:
    """Simultaneous checkouts: how long until every payment link is ready."""
    count = bench.profile.burst_checkouts
    records = bench.run_customers(load.burst, "burst", count, connections=count + 10)
    bench.settle(records)
    return {
        "checkouts": count,
        "link_ms": percentiles([record.link_ms for record in records]),
        "access_ms": percentiles([record.access_ms for record in records]),
        "delivered_ms": percentiles([record.delivered_ms for record in records]),
        "client_errors": client_errors(records),
    }


# --- the keep-alive crowd ---------------------------------------------------------------------


def keepalive(bench: Bench) -> dict:
    """Checkouts from new visitors while many browsers hold idle keep-alive connections."""
    profile, system = bench.profile, bench.system
    host, port = "127.0.0.1", system.settings.port

    async def drive() -> tuple[int, int, list[load.OrderRecord]]:
        writers, answered = await load.hold_idle_connections(host, port, profile.keepalive_clients)
        try:
            records = await load.fresh_connection_checkouts(
                system.web_url, "keepalive", profile.keepalive_checkouts, KEEPALIVE_IN_FLIGHT
            )
        finally:
            for writer in writers:
                writer.close()
        return len(writers), answered, records

    held, answered, records = asyncio.run(drive())
    bench.records.extend(records)
    refused = [record for record in records if record.checkout_status != 202]
    return {
        "idle_clients": profile.keepalive_clients,
        "idle_connections_open": held,
        "idle_clients_answered": answered,
        "checkouts": len(records),
        "checkouts_failed": len(refused),
        "failures": sorted({record.error or "" for record in refused})[:5],
        "checkout_ms": percentiles([record.checkout_ms for record in records]),
    }


# --- 5. invariants ----------------------------------------------------------------------------


def final_invariants(bench: Bench) -> dict:
    """Every order of the run: the ones only checked out must have their payment link, the
    paid ones their access and both messages, exactly once."""
    deadline = time.monotonic() + bench.profile.drain_timeout
    database_url = bench.system.services.database_url
    linked = "SELECT count(*) FROM orders WHERE order_id = ANY(%s) AND redirect_url IS NOT NULL"
    accepted = [r.order_id for r in bench.records if r.checkout_status == 202]
    while time.monotonic() < deadline:
        if invariants._query(database_url, linked, accepted)[0][0] >= len(accepted):
            break
        time.sleep(0.25)
    _, inbox = bench.settle(bench.records)
    return invariants.check(database_url, inbox, bench.records)
