"""`dramatiq tasks.bare_worker`: the worker built from the environment's settings, every actor
declared, without Dramatiq's Prometheus exporter (its port and files are one per host: the
tests and the chaos run start several workers side by side). Production runs tasks.worker."""

from config.settings import SettingsError, load_settings_or_exit
from tasks.startup import build_worker

try:
    worker = build_worker(load_settings_or_exit())
except SettingsError as error:
    raise SystemExit(str(error)) from None
