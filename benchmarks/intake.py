"""Latency and throughput of the web's two hot paths against a running system.

    ./run.sh &                      # or any running deployment you own
    .venv/bin/python -m benchmarks.intake --url http://127.0.0.1:8000 --requests 2000

Sends signed notifications for unknown orders (stored and flagged, never paid) and checkouts,
from --concurrency threads, a bounded number of requests, loopback only. Prints percentiles.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from integrations.signature import midtrans_signature
from runtime.settings import SANDBOX_SERVER_KEY


def signed_notification(server_key: str) -> dict:
    order_id = f"BENCH-{uuid.uuid4().hex[:20]}"
    body = {
        "order_id": order_id,
        "status_code": "200",
        "gross_amount": "99000.00",
        "transaction_status": "settlement",
        "transaction_id": str(uuid.uuid4()),
        "fraud_status": "accept",
        "payment_type": "bank_transfer",
    }
    body["signature_key"] = midtrans_signature(order_id, "200", "99000.00", server_key)
    return body


def checkout_body(index: int) -> dict:
    return {
        "package_id": "ai-movie-course",
        "name": f"Bench {index}",
        "email": f"bench{index}@example.com",
        "phone": "081234567890",
    }


def measure(client: httpx.Client, path: str, body: dict) -> tuple[float, int]:
    started = time.perf_counter()
    status = client.post(path, json=body).status_code
    return (time.perf_counter() - started) * 1000, status


def run(url: str, path: str, bodies: list[dict], concurrency: int) -> None:
    with httpx.Client(
        base_url=url, timeout=10, limits=httpx.Limits(max_connections=concurrency)
    ) as client:
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(lambda body: measure(client, path, body), bodies))
        elapsed = time.perf_counter() - started
    latencies = sorted(latency for latency, _ in results)
    statuses = sorted({status for _, status in results})
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{path}: {len(bodies)} requests, {concurrency} threads, statuses {statuses}")
    print(
        f"  throughput {len(bodies) / elapsed:.0f} req/s; latency ms p50 {cuts[49]:.1f} "
        f"p95 {cuts[94]:.1f} p99 {cuts[98]:.1f} max {latencies[-1]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--server-key", default=SANDBOX_SERVER_KEY)
    args = parser.parse_args()
    count = min(args.requests, 50_000)
    run(
        args.url,
        "/webhooks/midtrans",
        [signed_notification(args.server_key) for _ in range(count)],
        args.concurrency,
    )
    run(args.url, "/api/checkout", [checkout_body(i) for i in range(count // 4)], args.concurrency)


if __name__ == "__main__":
    main()
