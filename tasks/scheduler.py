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
from integrations.heartbeat import Heartbeat
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
    enqueuer: Enqueuer,
    stop: threading.Event,
    alarm_sender: AlarmSender | None = None,
    heartbeat: Heartbeat | None = None,
) -> None:
    """Ticks until `stop` is set; a Redis outage is logged and waited out. Every
    ALARM_CHECK_TICKS ticks, with `alarm_sender` it tells a person when no worker is alive, and
    with `heartbeat` it pings HEARTBEAT_URL (its /fail while something is down)."""
    jobs = ", ".join(f"{job.name}/{period}s" for job, period in PERIODIC_JOBS)
    logger.info("Scheduler started: {}", jobs)
    tick = 0
    while not stop.is_set():
        every_minute = tick % ALARM_CHECK_TICKS == 0
        try:
            enqueuer.redis.set(scheduler_heartbeat_key(), int(time.time()), ex=30)
            run_due_jobs(enqueuer)
            if alarm_sender is not None and every_minute:
                alarm_sender.update("scheduler", workers_missing(enqueuer))
        except redis.RedisError as error:
            logger.error("Scheduler tick failed: {}", error)
        if heartbeat is not None and every_minute:
            heartbeat.beat(enqueuer.redis)  # after a Redis outage too: it then pings /fail
        tick += 1
        stop.wait(TICK_SECONDS)
    logger.info("Scheduler stopped")


def start_scheduler(settings: Settings) -> tuple[Enqueuer, AlarmSender, Heartbeat | None]:
    """The scheduler's start-up: logging, the Redis it sends on, its alarm sender (no DB) and
    the heartbeat when HEARTBEAT_URL is set."""
    if not settings.redis_url:
        raise SystemExit("REDIS_URL must be set for the scheduler (./run.sh sets it)")
    configure_logging(settings.log_level, settings.log_format)
    client = redis_client(settings.redis_url)
    alarm_sender = AlarmSender(settings.alerts, settings.smtp, settings.public_base_url, client)
    heartbeat_url = settings.alerts.heartbeat_url
    heartbeat = Heartbeat(heartbeat_url, settings.public_base_url) if heartbeat_url else None
    return Enqueuer(client), alarm_sender, heartbeat


def main() -> None:
    enqueuer, alarm_sender, heartbeat = start_scheduler(load_settings_or_exit())
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_scheduler(enqueuer, stop, alarm_sender, heartbeat)


if __name__ == "__main__":
    main()
