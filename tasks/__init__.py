"""The worker package: `dramatiq tasks` imports the broker first, then every actor module."""

from tasks import (  # noqa: F401
    broker,  # noqa: F401  (sets the broker before any actor is declared)
    maintenance,
    notifications,
    payments,
    webhooks,
)
