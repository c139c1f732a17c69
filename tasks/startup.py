"""The worker's start-up: settings -> logging, the database binding, Redis, the broker, the
outside-service clients, handed to the actors (tasks/services.py)."""

from __future__ import annotations

import dramatiq

from config.logs import configure_logging
from config.settings import Settings, SettingsError, load_settings_or_exit
from messaging.redis import redis_client
from models.db import init_database
from tasks.broker import adopt_actors, build_broker, unconfigured_broker
from tasks.clients import guarded_midtrans
from tasks.services import WorkerServices, install, policy_from_settings

NOT_CONFIGURED = "DATABASE_URL and REDIS_URL must be set for workers (./run.sh sets them)"

_brokers: list[dramatiq.Broker] = []  # the broker the actors are declared on, once there is one
_started: list[WorkerServices] = []  # what start_worker built last


def start_worker(settings: Settings) -> WorkerServices:
    """Builds the worker from `settings` and makes it current; the actors already declared
    move to the new broker. Connects nowhere until the first message or command."""
    if not settings.database_url or not settings.redis_url:
        raise SettingsError(NOT_CONFIGURED)
    if _started and _started[0].settings == settings:
        return _started[0]  # started already with these very settings (the admin CLI, tests)
    configure_logging(settings.log_level, settings.log_format)
    init_database(settings.database_url)
    client = redis_client(settings.redis_url)
    broker = build_broker(client)
    _use_broker(broker)
    started = WorkerServices(
        settings=settings,
        redis=client,
        broker=broker,
        policy=policy_from_settings(settings.delivery),
        midtrans=guarded_midtrans(settings.midtrans, client),
    )
    _started[:] = [started]
    return install(started)


def boot_from_environment() -> None:
    """What `dramatiq tasks` needs before the actor modules load: the worker built from the
    environment's settings; without service URLs (a test or a tool that will call
    start_worker itself), a placeholder broker that refuses to run a worker."""
    settings = load_settings_or_exit()
    if settings.database_url and settings.redis_url:
        start_worker(settings)
    else:
        _use_broker(unconfigured_broker(NOT_CONFIGURED))


def _use_broker(broker: dramatiq.Broker) -> None:
    if _brokers:
        adopt_actors(_brokers[0], broker)
    _brokers[:] = [broker]
    dramatiq.set_broker(broker)
