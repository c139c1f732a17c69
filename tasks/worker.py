"""`dramatiq tasks.worker`: every actor plus Dramatiq's Prometheus exporter (port 9191, or
`dramatiq_prom_port`). Plain `dramatiq tasks` works too, without worker metrics; the exporter
is added only here because it needs the CLI's process boot to create its metrics."""

import dramatiq
from dramatiq.middleware.prometheus import Prometheus

import tasks  # noqa: F401 - starts the worker and declares every actor

dramatiq.get_broker().add_middleware(Prometheus())
