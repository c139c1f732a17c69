"""`python -m harness.benchmarks.profile_order [--orders N]`: what one paid order costs the worker,
counted rather than timed, so a busy machine does not blur it.

It starts embedded PostgreSQL and Redis (under var/profile), the sandbox and a Dramatiq worker
in this process (one worker thread, the production middleware plus Prometheus), then pushes
orders the way the web would: the checkout message, then Midtrans' settlement notification;
each order ends PAID with access and its email and WhatsApp message delivered. Per paid order
it prints the SQL statements by kind, the Redis calls the worker made (and the server's command
counts, which include the consumers' polling and this script's enqueues) and the CPU of the
worker's threads; then a second batch under cProfile gives the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import shutil
import time
from collections import Counter
from pathlib import Path

import dramatiq
import httpx

from config.settings import load_settings
from harness.benchmarks.counting import install_counters, measured
from harness.benchmarks.system import PROJECT_VAR, start_services, system_environment
from harness.sandbox.server import SandboxConfig, start_sandbox
from messaging.contract import CREATE_PAYMENT, PROCESS_NOTIFICATION
from models.checkout import hash_order_token
from models.db import connection, database
from models.orders import Order
from models.outbox import OutboxMessage
from tasks.startup import build_worker

WARM_UP_ORDERS = 3


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m harness.benchmarks.profile_order", description=__doc__
    )
    parser.add_argument("--orders", type=int, default=20, help="orders per batch (default 20)")
    parser.add_argument("--top", type=int, default=25, help="profile lines (default 25)")
    parser.add_argument(
        "--sort", default="cumulative", choices=("cumulative", "tottime"), help="profile order"
    )
    parser.add_argument("--work-dir", type=Path, default=PROJECT_VAR / "profile")
    return parser.parse_args(argv)


class Profiled(dramatiq.Middleware):
    """cProfile around each message, middleware included (first in, last out); one worker
    thread, so one profiler at a time."""

    def __init__(self) -> None:
        self.profile: cProfile.Profile | None = None

    def before_process_message(self, broker, message):
        if self.profile is not None:
            self.profile.enable()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if self.profile is not None:
            self.profile.disable()

    after_skip_message = after_process_message


def start_system(work_dir: Path):
    """Services, the sandbox and the worker's settings; the caller stops what it gets back."""
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    services = start_services(work_dir, None, None)
    environment = system_environment(services, work_dir)
    for name in ("PROMETHEUS_MULTIPROC_DIR", "dramatiq_prom_db"):
        Path(environment[name]).mkdir(parents=True, exist_ok=True)
        os.environ[name] = environment[name]  # read by prometheus_client when it loads
    sandbox = start_sandbox(SandboxConfig(http_port=0, smtp_port=0))
    environment |= {
        "MIDTRANS_SNAP_BASE_URL": f"{sandbox.base_url}/snap/v1",
        "MIDTRANS_API_BASE_URL": sandbox.base_url,
        "SMTP_PORT": str(sandbox.smtp_port),
        "WHATSAPP_API_URL": f"{sandbox.base_url}/v21.0",
    }
    return services, sandbox, environment


def start_worker_in_process(environment: dict[str, str]):
    """The worker as `dramatiq tasks.worker` builds it, with one worker thread."""
    # Imported here: the module reads dramatiq_prom_db when it loads, set by start_system.
    from dramatiq.middleware.prometheus import Prometheus

    worker_services = build_worker(load_settings(environment)).services
    broker = worker_services.broker
    prometheus = Prometheus()
    broker.add_middleware(prometheus)
    prometheus.after_process_boot(broker)
    profiled = Profiled()
    broker.middleware.insert(0, profiled)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    return worker_services, worker, profiled


def new_checkout() -> dict:
    """The message the web enqueues for a valid checkout."""
    order_id = f"BFA-PROF-{secrets.token_hex(6)}"
    return {
        "order_id": order_id,
        "order_token_hash": hash_order_token(secrets.token_urlsafe(16)),
        "package_id": "ai-movie-course",
        "name": "Budi Santoso",
        "email": f"{order_id.lower()}@example.com",
        "phone": "+6281234567890",
        "discount_code": None,
    }


def wait_until(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not finish the batch in time")
        time.sleep(0.05)


def push_orders(count: int, worker_services, sandbox_url: str) -> None:
    """Checkout -> payment link -> settlement notification -> PAID -> both messages SENT."""
    checkouts = [new_checkout() for _ in range(count)]
    ids = [checkout["order_id"] for checkout in checkouts]
    for checkout in checkouts:
        worker_services.send(CREATE_PAYMENT, checkout)
    linked = Order.select().where(Order.order_id.in_(ids) & Order.redirect_url.is_null(False))
    with connection():
        wait_until(lambda: linked.count() == count)
    with httpx.Client(base_url=sandbox_url, timeout=10) as client:
        for order_id in ids:
            answer = client.post(
                f"/_sandbox/midtrans/transactions/{order_id}/transition",
                json={"transaction_status": "settlement", "notify": False},
            )
            answer.raise_for_status()
            worker_services.send(PROCESS_NOTIFICATION, answer.json()["notification"])
    sent = OutboxMessage.select().where(
        OutboxMessage.order.in_(ids) & (OutboxMessage.status == "SENT")
    )
    with connection():
        wait_until(lambda: sent.count() == 2 * count)


def per_order(counts: Counter, orders: int) -> list[tuple[str, float]]:
    return [(name, calls / orders) for name, calls in counts.most_common()]


def print_cost(cost: dict, orders: int) -> None:
    statements, calls = cost["statements"], cost["redis_calls"]
    print(f"\nPer paid order ({orders} orders, one worker thread):")
    print(f"  SQL statements: {sum(statements.values()) / orders:.1f}")
    for name, value in per_order(statements, orders):
        print(f"    {value:6.2f}  {name}")
    print(f"  Redis calls by the worker's threads: {sum(calls.values()) / orders:.1f}")
    for name, value in per_order(calls, orders):
        print(f"    {value:6.2f}  {name}")
    server = cost["redis_server"]
    print(f"  Redis server commands, every client: {sum(server.values()) / orders:.1f}")
    for name, value in per_order(server, orders)[:12]:
        print(f"    {value:6.2f}  {name}")
    print(f"  Worker threads' CPU: {cost['cpu_seconds'] * 1000 / orders:.1f} ms")


def run(arguments: argparse.Namespace) -> None:
    services, sandbox, environment = start_system(arguments.work_dir)
    worker = None
    try:
        worker_services, worker, profiled = start_worker_in_process(environment)
        install_counters(database)
        push_orders(WARM_UP_ORDERS, worker_services, sandbox.base_url)
        with measured(worker_services.redis) as cost:
            push_orders(arguments.orders, worker_services, sandbox.base_url)
        print_cost(cost, arguments.orders)
        profiled.profile = cProfile.Profile(time.thread_time)  # CPU, not waits
        push_orders(arguments.orders, worker_services, sandbox.base_url)
        print(f"\ncProfile (thread CPU) of another {arguments.orders} orders, by {arguments.sort}:")
        pstats.Stats(profiled.profile).sort_stats(arguments.sort).print_stats(arguments.top)
    finally:
        if worker is not None:
            worker.stop(timeout=10_000)
        sandbox.stop()
        services.stop()


def main(argv: list[str] | None = None) -> int:
    run(parse_arguments(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
