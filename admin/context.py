"""What every admin command works with, built once by the command line's start-up function:
the settings, the database binding, Redis and the enqueuer that sends work by actor name (the
sender every operation takes, tasks/operations/), and the operator's audited name."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field

from config.logs import configure_logging
from config.settings import Settings
from messaging.redis import Enqueuer, redis_client
from models.db import init_database


def cli_actor() -> str:
    """The audit's actor for a command: `admin:cli:<os user>`, the person behind `sudo` when
    there is one, so two people sharing the server are told apart."""
    try:
        user = os.environ.get("SUDO_USER") or getpass.getuser()
    except OSError:  # no name for this uid (a container without /etc/passwd entry)
        user = f"uid{os.getuid()}"
    return f"admin:cli:{user}"


@dataclass
class AdminContext:
    settings: Settings
    enqueuer: Enqueuer
    log_level: str = "WARNING"
    operator: str = field(default_factory=cli_actor)  # who the audit log says asked
    _worker: list = field(default_factory=list)

    @property
    def broker(self):
        """The enqueuing broker, for Dramatiq's dead letters."""
        return self.enqueuer.broker

    def worker(self):
        """The worker's services, for the operation that runs worker code inline (reconcile)."""
        if not self._worker:
            # Imported here: the worker's code is loaded only by the commands that run it.
            from tasks.startup import build_services

            self._worker.append(build_services(self.settings))
            configure_logging(self.log_level, self.settings.log_format)  # output is for people
        return self._worker[0]


def start_admin(settings: Settings, log_level: str = "WARNING") -> AdminContext:
    """The admin command line's start-up: logs to stderr (warnings only unless -v: the output
    is for people), the database binding and Redis, from the settings."""
    if not settings.database_url or not settings.redis_url:
        raise SystemExit("DATABASE_URL and REDIS_URL must be set (./run.sh admin sets them)")
    configure_logging(log_level, settings.log_format)
    init_database(settings.database_url)
    return AdminContext(settings, Enqueuer(redis_client(settings.redis_url)), log_level)
