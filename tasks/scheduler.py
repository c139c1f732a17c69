"""`python -m tasks.scheduler`: the process that sends the periodic jobs by name (it runs no
job itself). Two running by mistake are harmless: a Redis key claims each period, and the jobs
themselves take advisory locks."""

from __future__ import annotations

import signal
import threading
import time

import redis
from loguru import logger

from config.logs import configure_logging
from config.settings import Settings, load_settings_or_exit
from integrations.alarm_targets import AlarmNotice, AlarmSender
from messaging.broker_state import worker_heartbeats
from messaging.contract import PERIODIC_JOBS, scheduler_claim_key, scheduler_heartbeat_key
from messaging.redis import Enqueuer, redis_client

TICK_SECONDS = 5
ALARM_CHECK_TICKS = 12  # a minute


def run_due_jobs(enqueuer: Enqueuer) -> list[str]:
    """Sends every job whose period no scheduler has claimed yet; returns their names."""
    sent = []
    for job, period_seconds in PERIODIC_JOBS:
        claim = scheduler_claim_key(job.name)
        if enqueuer.redis.set(claim, int(time.time()), nx=True, ex=period_seconds):
            enqueuer.send(job)
            sent.append(job.name)
    return sent


def workers_missing(enqueuer: Enqueuer) -> list[AlarmNotice]:
    """No worker process beats: nothing is processed, and no worker can raise that alarm."""
    if worker_heartbeats(enqueuer.redis):
        return []
    message = "no worker heartbeat: is `./run.sh worker` running?"
    pesan = "tidak ada worker yang berjalan: pembayaran tidak diproses; jalankan `./run.sh worker`"
    return [AlarmNotice("workers_missing", message, pesan=pesan)]


def run_scheduler(
    enqueuer: Enqueuer, stop: threading.Event, alarm_sender: AlarmSender | None = None
) -> None:
    """Ticks until `stop` is set; a Redis outage is logged and waited out. With `alarm_sender`, it
    also tells a person when no worker is alive (every ALARM_CHECK_TICKS ticks)."""
    jobs = ", ".join(f"{job.name}/{period}s" for job, period in PERIODIC_JOBS)
    logger.info("Scheduler started: {}", jobs)
    tick = 0
    while not stop.is_set():
        try:
            enqueuer.redis.set(scheduler_heartbeat_key(), int(time.time()), ex=30)
            run_due_jobs(enqueuer)
            if alarm_sender is not None and tick % ALARM_CHECK_TICKS == 0:
                alarm_sender.update("scheduler", workers_missing(enqueuer))
        except redis.RedisError as error:
            logger.error("Scheduler tick failed: {}", error)
        tick += 1
        stop.wait(TICK_SECONDS)
    logger.info("Scheduler stopped")


def start_scheduler(settings: Settings) -> tuple[Enqueuer, AlarmSender]:
    """The scheduler's start-up: logging, the Redis it sends on and its alarm sender (no DB)."""
    if not settings.redis_url:
        raise SystemExit("REDIS_URL must be set for the scheduler (./run.sh sets it)")
    configure_logging(settings.log_level, settings.log_format)
    client = redis_client(settings.redis_url)
    return Enqueuer(client), AlarmSender(
        settings.alerts, settings.smtp, settings.public_base_url, client
    )


def main() -> None:
    enqueuer, alarm_sender = start_scheduler(load_settings_or_exit())
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_scheduler(enqueuer, stop, alarm_sender)


if __name__ == "__main__":
    main()
