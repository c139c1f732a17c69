"""The scheduler process: enqueues the periodic jobs. Two running by mistake are harmless:
a Redis key claims each period, and the jobs themselves take advisory locks."""

from __future__ import annotations

import signal
import threading
import time

import redis
from loguru import logger

from tasks import alarms, maintenance
from tasks.broker import NAMESPACE, broker
from tasks.middleware import scheduler_heartbeat_key

TICK_SECONDS = 5
HEARTBEAT_KEY = scheduler_heartbeat_key(NAMESPACE)
JOBS = ((maintenance.sweep, 30), (maintenance.reconcile, 60), (alarms.check_alarms, 300))


def run_due_jobs(client: redis.Redis) -> list[str]:
    """Sends every job whose period no scheduler has claimed yet; returns their names."""
    sent = []
    for actor, period_seconds in JOBS:
        claim_key = f"{NAMESPACE}:scheduler:claim:{actor.actor_name}"
        if client.set(claim_key, int(time.time()), nx=True, ex=period_seconds):
            actor.send()
            sent.append(actor.actor_name)
    return sent


def run_scheduler(stop: threading.Event) -> None:
    """Ticks until `stop` is set; a Redis outage is logged and waited out."""
    logger.info("Scheduler started: {}", ", ".join(f"{a.actor_name}/{p}s" for a, p in JOBS))
    while not stop.is_set():
        try:
            broker.client.set(HEARTBEAT_KEY, int(time.time()), ex=30)
            run_due_jobs(broker.client)
        except redis.RedisError as error:
            logger.error("Scheduler tick failed: {}", error)
        stop.wait(TICK_SECONDS)
    logger.info("Scheduler stopped")


def main() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_scheduler(stop)


if __name__ == "__main__":
    main()
