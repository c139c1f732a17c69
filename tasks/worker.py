"""`dramatiq tasks.worker`: the worker built from the environment's settings (tasks.bare_worker)
plus Dramatiq's Prometheus exporter (port 9191, or `dramatiq_prom_port`), added here because it
needs the CLI's process boot to create its metrics."""

from dramatiq.middleware.prometheus import Prometheus

from tasks.bare_worker import worker

worker.broker.add_middleware(Prometheus())
