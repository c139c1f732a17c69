"""The run's figures as a printed table and a JSON file, with the issue's goals met or not."""

from __future__ import annotations

import csv
import json
from pathlib import Path

CLASSES = ("web", "workers", "scheduler", "sandbox", "postgres", "redis", "load", "bare")


def _get(results: dict, *path: str):
    value = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _at_most(value, limit) -> bool | None:
    return None if value is None else value <= limit


def _at_least(value, limit) -> bool | None:
    return None if value is None else value >= limit


def goals(results: dict) -> list[dict]:
    """The issue's goals, each with the measured figure and whether it is met (None: not run)."""
    peak = _get(results, "memory", "peak") or {}
    burst_p95 = _get(results, "burst", "link_ms", "p95")
    burst_max = _get(results, "burst", "link_ms", "max")
    idle_p99 = _get(results, "intake_idle", "webhook", "ours", "p99_ms")
    idle_ratio = _get(results, "intake_idle", "webhook", "ratio")
    capacity_met = _at_least(_get(results, "capacity", "paid_per_second"), 50)
    if capacity_met and not _get(results, "capacity", "all_delivered_within_drain"):
        capacity_met = False
    keepalive_failed = _get(results, "keepalive", "checkouts_failed")
    worker_own = _get(results, "latency", "cpu_ms_per_paid_order_above_idle", "workers")
    worker_all = _get(results, "latency", "cpu_ms_per_paid_order", "workers")
    web_rss = _get(peak, "web", "largest_mb")
    worker_rss = _get(peak, "workers", "largest_mb")
    rows = [
        (
            "capacity, paid orders/s (all messages delivered within the run + 60 s)",
            ">= 50",
            _get(results, "capacity", "paid_per_second"),
            capacity_met,
        ),
        (
            "checkout -> payment link P95 at the steady load (ms)",
            "<= 300",
            _get(results, "latency", "link_ms", "p95"),
            _at_most(_get(results, "latency", "link_ms", "p95"), 300),
        ),
        (
            "webhook -> access granted P95 at the steady load (ms)",
            "<= 250",
            _get(results, "latency", "access_ms", "p95"),
            _at_most(_get(results, "latency", "access_ms", "p95"), 250),
        ),
        (
            "burst: every payment link ready (ms); P95",
            "<= 2000; <= 1000",
            None if burst_max is None else f"{burst_max}; {burst_p95}",
            None if burst_max is None else burst_max <= 2000 and burst_p95 <= 1000,
        ),
        (
            "webhook intake rate / bare, workers idle; p99 (ms)",
            ">= 0.6; <= 25",
            None if idle_ratio is None else f"{idle_ratio}; {idle_p99}",
            None if idle_ratio is None else idle_ratio >= 0.6 and idle_p99 <= 25,
        ),
        (
            "webhook intake rate / bare, system processing",
            ">= 0.4",
            _get(results, "intake_processing", "webhook", "ratio"),
            _at_least(_get(results, "intake_processing", "webhook", "ratio"), 0.4),
        ),
        (
            "worker CPU per paid order at the steady load, above idle (ms; in all)",
            "<= 20",
            None if worker_own is None else f"{worker_own}; {worker_all}",
            _at_most(worker_own, 20),
        ),
        (
            "idle keep-alive clients while checkouts run: checkouts failed",
            "0",
            keepalive_failed,
            None if keepalive_failed is None else keepalive_failed == 0,
        ),
        (
            "RSS at peak: web / largest worker-group process (MB)",
            "<= 80 / <= 120",
            None if web_rss is None else f"{web_rss} / {worker_rss}",
            None if web_rss is None else web_rss <= 80 and (worker_rss or 0) <= 120,
        ),
    ]
    return [
        {"figure": figure, "goal": goal, "measured": measured, "met": met}
        for figure, goal, measured, met in rows
    ]


def _ms(block: dict | None) -> str:
    if not block or not block.get("count"):
        return "-"
    return f"{block['p50']} / {block['p95']} / {block['p99']} / {block['max']}"


def _intake_lines(results: dict) -> list[str]:
    lines = []
    for key, label in (("intake_idle", "workers idle"), ("intake_processing", "processing")):
        block = results.get(key) or {}
        for path in ("webhook", "checkout"):
            row = block.get(path)
            if not row:
                continue
            ours, bare = row["ours"], row["bare"]
            lines.append(
                f"  {path:<9} {label:<13} {ours['rate']:>7.0f} req/s (bare {bare['rate']:.0f}) "
                f"ratio {row['ratio']:<5} p50/p99 {ours['p50_ms']:.1f}/{ours['p99_ms']:.1f} ms "
                f"(bare {bare['p50_ms']:.1f}/{bare['p99_ms']:.1f}) errors {ours['errors']}"
            )
    return lines or ["  (not run)"]


def _class_table(results: dict) -> list[str]:
    capacity_cost = _get(results, "capacity", "cpu_ms_per_paid_order") or {}
    steady_cost = _get(results, "latency", "cpu_ms_per_paid_order") or {}
    own_cost = _get(results, "latency", "cpu_ms_per_paid_order_above_idle") or {}
    idle_cpu = results.get("idle_cpu_ms_per_second") or {}
    idle = _get(results, "memory", "idle") or {}
    peak = _get(results, "memory", "peak") or {}
    lines = [
        f"  {'class':<10} {'CPU ms/order':>13} {'above idle':>11} {'(capacity)':>11} "
        f"{'idle ms/s':>10} {'RSS idle MB':>12} {'RSS peak MB':>12} {'largest process':>16}"
    ]
    for name in CLASSES:
        if name not in idle and name not in peak:
            continue
        lines.append(
            f"  {name:<10} {steady_cost.get(name, '-'):>13} {own_cost.get(name, '-'):>11} "
            f"{capacity_cost.get(name, '-'):>11} {idle_cpu.get(name, '-'):>10} "
            f"{_get(idle, name, 'total_mb') or '-':>12} {_get(peak, name, 'total_mb') or '-':>12} "
            f"{_get(peak, name, 'largest_mb') or '-':>16}"
        )
    return lines


def table(results: dict) -> str:
    capacity = results.get("capacity") or {}
    latency = results.get("latency") or {}
    burst = results.get("burst") or {}
    keepalive = results.get("keepalive") or {}
    checks = results.get("invariants") or {}
    lines = [
        f"Benchmark {results['profile']} run, {results['started']} ({results['machine']})",
        f"Machine busy: other processes used "
        f"{results.get('other_processes_cpu_percent_of_machine', '-')}% of the cores, steal "
        f"{results.get('steal_percent_of_machine', '-')}%, load average at start "
        f"{results.get('load_average_at_start')}",
        "",
        "1. Intake (wrk, 2 threads, 50 connections):",
        *_intake_lines(results),
        "",
        f"2. Capacity: {capacity.get('orders')} orders, {capacity.get('in_flight')} in flight: "
        f"{capacity.get('paid_per_second')} paid orders/s, "
        f"{capacity.get('delivered_per_second')} delivered orders/s",
        "",
        f"3. Latency at {latency.get('offered_per_second')} orders/s for "
        f"{latency.get('seconds')} s (ms, P50 / P95 / P99 / max):",
        f"  checkout -> payment link      {_ms(latency.get('link_ms'))}",
        f"  webhook -> access granted     {_ms(latency.get('access_ms'))}",
        f"  webhook -> success delivered  {_ms(latency.get('delivered_ms'))}",
        f"  burst of {burst.get('checkouts')} checkouts, payment link: {_ms(burst.get('link_ms'))}",
        "",
        "4. Cost per paid order at the steady load: in all, and above each class's idle CPU over",
        "   the same time (the capacity run beside it); idle CPU per second; memory:",
        *_class_table(results),
        *(
            [f"  NOT MEASURED (missed at a phase's start): {', '.join(missed)}"]
            if (missed := results.get("processes_not_measured"))
            else []
        ),
        "",
        f"Keep-alive: {keepalive.get('idle_clients', 0)} idle clients "
        f"({keepalive.get('idle_clients_answered', '-')} answered), "
        f"{keepalive.get('checkouts', 0)} checkouts, {keepalive.get('checkouts_failed', '-')} "
        f"failed, checkout ms {_ms(keepalive.get('checkout_ms'))}",
        "",
        f"5. Invariants: {checks.get('paid')} paid of {checks.get('orders')} orders; "
        f"lost {checks.get('lost')}, doubled {checks.get('doubled')}",
        "",
        "Goals:",
    ]
    for goal in results.get("goals", []):
        mark = {True: "met", False: "NOT met", None: "not run"}[goal["met"]]
        lines.append(f"  {mark:<8} {goal['figure']}: {goal['measured']} (goal {goal['goal']})")
    return "\n".join(lines)


def write_json(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")


ORDER_COLUMNS = ("phase", "order_id", "checkout_sent", "checkout_status", "link_ms", "access_ms")
ORDER_COLUMNS += ("delivered_ms", "webhook_status", "error")


def write_orders(records: list, path: Path) -> None:
    """One line per order of the run, for a closer look at a phase (spikes, stragglers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as output:
        writer = csv.writer(output)
        writer.writerow(ORDER_COLUMNS)
        for record in records:
            writer.writerow([getattr(record, column) for column in ORDER_COLUMNS])
