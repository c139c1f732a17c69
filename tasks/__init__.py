"""The worker package: `dramatiq tasks` imports the broker first, then every actor module."""

from tasks import broker  # noqa: F401, I001  (sets the broker before any actor is declared)
from tasks import alarms, maintenance, notifications, payments, webhooks  # noqa: F401
