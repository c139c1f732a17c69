"""Dramatiq middleware: a DB connection and a log context per message, dead-letter reasons,
and a heartbeat that health checks read."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time

import dramatiq
from loguru import logger

from config.settings import Settings
from integrations.alarm_targets import AlarmNotice, AlarmSender
from messaging.contract import (
    DEAD_LETTER_TTL_MS,
    HEARTBEAT_TTL_SECONDS,
    NAMESPACE,
    dead_letter_error_key,
    scheduler_heartbeat_key,
    worker_heartbeat_prefix,
)
from models.db import database


class DatabaseConnections(dramatiq.Middleware):
    """Opens a pooled connection before each message and returns it afterwards."""

    def before_process_message(self, broker, message):
        database.connect(reuse_if_open=True)

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self._close()

    def after_skip_message(self, broker, message):
        self._close()

    @staticmethod
    def _close() -> None:
        if not database.is_closed():
            database.close()


class LogContext(dramatiq.Middleware):
    """Every log line of a message carries its message id, actor and order id."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before_process_message(self, broker, message):
        order_id = _order_id_of(message.args)
        context = logger.contextualize(
            message_id=message.message_id, actor=message.actor_name, order_id=order_id
        )
        context.__enter__()
        self._local.context = context

    def after_process_message(self, broker, message, *, result=None, exception=None):
        context = getattr(self._local, "context", None)
        if context is not None:
            context.__exit__(None, None, None)
            self._local.context = None

    after_skip_message = after_process_message


def _order_id_of(args: tuple) -> str | None:
    first = args[0] if args else None
    if isinstance(first, dict):
        return first.get("order_id")
    return first if isinstance(first, str) else None


class DeadLetterReasons(dramatiq.Middleware):
    """Records the final exception of a message that goes to a dead-letter queue.

    Installed before Retries so its after-hook runs after Retries decided to fail the message.
    """

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is None or not message.failed:
            return
        if isinstance(exception, dramatiq.Retry) and exception.__cause__ is not None:
            exception = exception.__cause__  # a quiet retry: the provider's error is the reason
        reason = f"{type(exception).__name__}: {exception}"[:2000]
        key = dead_letter_error_key(message.message_id)
        broker.client.set(key, reason, px=DEAD_LETTER_TTL_MS)
        logger.error("Dead-lettered {} on {}: {}", message.message_id, message.queue_name, reason)


class WorkerHeartbeat(dramatiq.Middleware):
    """Writes a short-lived Redis key while a worker is alive, for /health. The key names this
    boot (host, pid and a random part: a restarted container may reuse a pid) and is deleted at
    a clean shutdown, so /health counts only the workers running now."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._beats: dict[int, tuple[threading.Event, threading.Thread, str]] = {}

    def after_worker_boot(self, broker, worker):
        key = (
            f"{worker_heartbeat_prefix()}{socket.gethostname()}:{os.getpid()}:"
            f"{secrets.token_hex(3)}"
        )
        stop = threading.Event()
        thread = threading.Thread(target=self._beat, args=(broker, key, stop), daemon=True)
        self._beats[id(worker)] = (stop, thread, key)
        thread.start()

    def before_worker_shutdown(self, broker, worker):
        beat = self._beats.pop(id(worker), None)
        if beat is None:
            return
        stop, thread, key = beat
        stop.set()
        thread.join(timeout=5)  # no beat may land after the delete
        try:
            broker.client.delete(key)
        except Exception as error:  # noqa: BLE001 - the key then expires on its own
            logger.warning("Could not remove the worker heartbeat: {}", error)

    def _beat(self, broker, key: str, stop: threading.Event) -> None:
        beats = 0
        while not stop.is_set():
            try:
                broker.client.set(key, int(time.time()), ex=HEARTBEAT_TTL_SECONDS)
                if beats % SCHEDULER_CHECK_BEATS == 0:
                    check_scheduler_alive(broker.client, self._settings)
            except Exception as error:  # noqa: BLE001 - a Redis blip must not kill the beat
                logger.warning("Worker heartbeat failed: {}", error)
            beats += 1
            stop.wait(HEARTBEAT_TTL_SECONDS / 3)


SCHEDULER_CHECK_BEATS = 6  # a minute


def check_scheduler_alive(client, settings: Settings) -> None:
    """No scheduler beats: no periodic job runs, so no alarm check either; one worker process a
    minute tells a person instead."""
    if not client.set(f"{NAMESPACE}:alerts:scheduler-check", 1, nx=True, ex=50):
        return
    alarms = []
    if not client.exists(scheduler_heartbeat_key()):
        message = "no scheduler heartbeat: is `./run.sh scheduler` running?"
        pesan = "penjadwal tidak berjalan: apakah `./run.sh scheduler` sudah dijalankan?"
        alarms.append(AlarmNotice("scheduler_missing", message, pesan=pesan))
    sender = AlarmSender(settings.alerts, settings.smtp, settings.public_base_url, client)
    sender.update("workers", alarms)
