"""`./run.sh bench [--quick | --smoke] [--json PATH]`: starts its own system and measures it.

Phases: intake (wrk against the webhook and the checkout, beside a bare Falcon + waitress app,
with the workers idle and with the system processing), capacity, latency at a steady load and
for a burst, cost per process class, idle keep-alive clients, and the invariants (0 lost, 0
doubled). Prints a table and writes JSON (default var/bench/<timestamp>.json). Exit 1 when an
invariant fails; timings never fail a run.

PostgreSQL and Redis are embedded ones under --work-dir unless DATABASE_URL / REDIS_URL are set
in the environment (`.env` is not read here): then the run creates and drops its own database on
that server and flushes that Redis database. Loopback only; every phase is bounded.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from datetime import datetime
from pathlib import Path

import psutil

from harness.benchmarks import phases, report
from harness.benchmarks.measure import Meter
from harness.benchmarks.profiles import FULL, PROFILES
from harness.benchmarks.system import PROJECT_VAR, System, raise_open_files_limit, start_services

IDLE_SETTLE_SECONDS = 3
IDLE_CPU_SECONDS = 5  # the window that measures each class's CPU with no orders


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="./run.sh bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="profile")
    size.add_argument(
        "--smoke",
        action="store_const",
        const="smoke",
        dest="profile",
        help="seconds; checks the invariants only (CI)",
    )
    parser.add_argument("--json", type=Path, help="where to write the results")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=PROJECT_VAR / "bench",
        help="embedded servers, logs and results (default var/bench)",
    )
    parser.add_argument(
        "--worker-args",
        default="",
        help="arguments for the workers, as `./run.sh worker` takes them",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        dest="py_spy",
        help="py-spy samples the web (intake) and the web and workers (capacity); "
        "needs `.venv/bin/pip install py-spy`",
    )
    return parser.parse_args(argv)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 1024**3
    return f"{os.cpu_count()} vCPU {model}, {memory:.0f} GiB"


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0) - _steal_seconds()


def _steal_seconds() -> float:
    """Time the hypervisor gave this machine's vCPUs to someone else (a busy host)."""
    return getattr(psutil.cpu_times(), "steal", 0.0)


class ClassRoots:
    """The root processes of each class, looked up at every sample (parts restart, wrk comes
    and goes); the servers' main processes are found once."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.postgres = system.services.postgres_process()
        self.redis = system.services.redis_process()
        self.me = psutil.Process()

    def __call__(self) -> dict[str, list[psutil.Process]]:
        classes: dict[str, list[psutil.Process]] = {}
        for part, name in (
            ("web", "web"),
            ("worker", "workers"),
            ("scheduler", "scheduler"),
            ("sandbox", "sandbox"),
            ("bare", "bare"),
        ):
            process = self.system.process(part)
            if process is not None:
                classes[name] = [process]
        for name, process in (("postgres", self.postgres), ("redis", self.redis)):
            if process is not None:
                classes[name] = [process]
        wrk = [child for child in self.me.children() if _named(child, "wrk")]
        classes["load"] = [self.me, *wrk]
        return classes


def _named(process: psutil.Process, name: str) -> bool:
    try:
        return process.name() == name
    except psutil.Error:
        return False


def run(bench: phases.Bench, results: dict) -> None:
    """Every phase of the profile, in order; the results dict fills as they finish."""
    system, profile = bench.system, bench.profile
    system.start("sandbox", "web")
    if profile.intake_seconds:
        results["intake_idle"] = phases.intake(bench, "idle")
        system.redis.flushdb()  # the notifications and checkouts wrk sent never reach a worker
    system.start("worker", "scheduler")
    time.sleep(IDLE_SETTLE_SECONDS)
    results["memory"] = {"idle": {k: v.as_dict() for k, v in bench.meter.sample().items()}}
    results["idle_cpu_ms_per_second"] = phases.idle_cost(bench, IDLE_CPU_SECONDS)
    results["capacity"] = phases.capacity(bench)
    results["latency"] = phases.steady_latency(bench)
    results["burst"] = phases.burst(bench)
    if profile.keepalive_clients:
        results["keepalive"] = phases.keepalive(bench)
    results["invariants"] = phases.final_invariants(bench)
    if profile.intake_seconds:
        results["intake_processing"] = phases.intake(bench, "processing")
    peaks = bench.meter.peaks(whole_run=True)
    results["memory"]["peak"] = {name: memory.as_dict() for name, memory in peaks.items()}


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    profile = PROFILES.get(arguments.profile or "", FULL)
    started = datetime.now().astimezone()
    stamp = started.strftime("%Y%m%dT%H%M%S")
    work_dir = arguments.work_dir.resolve()
    run_dir = work_dir / "runs" / stamp
    json_path = arguments.json or work_dir / f"{stamp}.json"
    raise_open_files_limit()
    results: dict = {
        "profile": profile.name,
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }
    print(f"Benchmark ({profile.name}); logs in {run_dir}", flush=True)
    services = start_services(
        work_dir, os.environ.get("DATABASE_URL") or None, os.environ.get("REDIS_URL") or None
    )
    system = System(services, run_dir, shlex.split(arguments.worker_args))
    results["redis"] = services.redis_durability()
    results["worker_command"] = " ".join(system.commands["worker"][1:])
    meter = Meter(ClassRoots(system))
    busy_before, steal_before, mark = _busy_seconds(), _steal_seconds(), None
    profile_dir = run_dir / "profiles" if arguments.py_spy else None
    bench = phases.Bench(system, meter, profile, run_dir, profile_dir)
    try:
        meter.start()
        mark = meter.mark()
        run(bench, results)
    finally:
        report.write_orders(bench.records, run_dir / "orders.csv")
        ours = sum(meter.cpu_ms_since(mark).values()) / 1000 if mark else 0.0
        meter.stop()
        system.stop_all()
        services.stop()
    wall = (datetime.now().astimezone() - started).total_seconds()
    others = max(0.0, _busy_seconds() - busy_before - ours)
    results["other_processes_cpu_percent_of_machine"] = round(
        100 * others / (wall * (os.cpu_count() or 1)), 1
    )
    results["steal_percent_of_machine"] = round(
        100 * (_steal_seconds() - steal_before) / (wall * (os.cpu_count() or 1)), 1
    )
    results["seconds"] = round(wall, 1)
    results["processes_not_measured"] = sorted(meter.missed)
    results["errors_logged"] = system.error_lines()
    results["goals"] = report.goals(results) if profile.intake_seconds else []
    report.write_json(results, json_path)
    print(report.table(results))
    print(f"\nJSON: {json_path}")
    checks = results.get("invariants", {})
    return 0 if checks.get("lost") == 0 and checks.get("doubled") == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
