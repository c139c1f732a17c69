"""The worker built by one call: settings -> logging, the database binding, Redis, the broker
with its middleware, the services, and every actor declared on that broker."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from sentry_sdk.integrations.dramatiq import DramatiqIntegration

from config.error_tracking import start_error_tracking
from config.logs import configure_logging
from config.settings import Settings, SettingsError
from messaging.redis import redis_client
from models.db import init_database
from tasks import (  # noqa: F401 - imported for the actors they register in DECLARED
    access_links,
    admin_actions,
    alarms,
    delivery,
    legacy,
    maintenance,
    payments,
    reconciliation,
    webhooks,
    whatsapp_statuses,
)
from tasks.broker import DECLARED, ActorDeclaration, build_broker, declare_actor
from tasks.clients import guarded_midtrans
from tasks.services import WorkerServices, policy_from_settings

NOT_CONFIGURED = "DATABASE_URL and REDIS_URL must be set for workers (./run.sh sets them)"


class Worker:
    """A built worker: its broker with every actor declared, and the services each actor run
    receives. `services` may be replaced (a test swaps in a faster delivery policy)."""

    def __init__(self, broker: RedisBroker, services: WorkerServices) -> None:
        self.broker = broker
        self.services = services
        self.actors: dict[str, dramatiq.Actor] = {}

    def declare(self, declaration: ActorDeclaration) -> dramatiq.Actor:
        """Declares one actor on this worker's broker."""
        actor = declare_actor(self.broker, declaration, lambda: self.services)
        self.actors[declaration.spec.name] = actor
        return actor


def build_services(settings: Settings) -> WorkerServices:
    """What the actors work with, from `settings`; connects nowhere until first used. Also what
    the admin command line uses to run worker code inline."""
    if not settings.database_url or not settings.redis_url:
        raise SettingsError(NOT_CONFIGURED)
    configure_logging(settings.log_level, settings.log_format)
    init_database(settings.database_url)
    client = redis_client(settings.redis_url)
    return WorkerServices(
        settings=settings,
        redis=client,
        broker=build_broker(client, settings),
        policy=policy_from_settings(settings.delivery),
        midtrans=guarded_midtrans(settings.midtrans, client),
    )


def build_worker(settings: Settings) -> Worker:
    """The worker for `settings`: its broker becomes Dramatiq's current one and every actor of
    the worker modules is declared on it. Errors go to SENTRY_DSN when it is set (started
    before the broker is built: the integration hooks into every broker built after it)."""
    start_error_tracking(settings.sentry_dsn, settings.mode, DramatiqIntegration())
    services = build_services(settings)
    dramatiq.set_broker(services.broker)
    worker = Worker(services.broker, services)
    for declaration in DECLARED.values():
        worker.declare(declaration)
    return worker
