"""What `./run.sh admin verify`'s checks talk to, shared by the checks of the shop itself
(admin/verify.py) and of the outside providers (admin/verify_outside.py)."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from config.settings import Settings
from integrations.http import Client


@dataclass(frozen=True)
class Target:
    """What the checks talk to: the web over HTTP, Redis and PostgreSQL directly, and the
    providers the settings name."""

    http: Client
    redis_client: redis.Redis
    database_url: str
    settings: Settings
