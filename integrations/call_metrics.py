"""How long each call to an outside provider took, and how it ended, as the Prometheus histogram
`bfa_provider_call_seconds{provider, call, outcome}`.

The histogram is made at the first call, not at import: a worker's calls happen after Dramatiq's
Prometheus middleware pointed prometheus_client at its multiprocess directory (`dramatiq_prom_db`,
read when prometheus_client is first imported), so every worker process writes there and the
worker's exporter (port 9191) sums them. Importing prometheus_client earlier would keep the
samples in one process's memory, where no exporter sees them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import urllib3
from loguru import logger

from integrations.errors import PermanentProviderError, RecipientDeferred, TransactionNotFound

T = TypeVar("T")

OK = "ok"
# The provider answered no (a 4xx, a refused recipient, "not found"): it is up, unlike ERROR.
REJECTED = "rejected"
ERROR = "error"
TIMEOUT = "timeout"
BREAKER_OPEN = "breaker_open"
RATE_LIMITED = "rate_limited"
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30)


_histograms: list = []  # the one histogram, once made
_making = threading.Lock()


def _histogram():
    """Made at the first call (see the module's docstring), once: a worker's threads make their
    first calls together, and registering the name twice fails."""
    if not _histograms:
        with _making:
            if not _histograms:
                from prometheus_client import Histogram

                _histograms.append(
                    Histogram(
                        "bfa_provider_call_seconds",
                        "Time of one call to an outside provider, by provider, call and outcome.",
                        ["provider", "call", "outcome"],
                        buckets=BUCKETS,
                    )
                )
    return _histograms[0]


def observe(provider: str, call: str, outcome: str, seconds: float) -> None:
    """Records one call; a failure to record (a full metrics folder) never fails the call."""
    try:
        _histogram().labels(provider, call, outcome).observe(seconds)
    except Exception as error:
        logger.warning("Provider call not recorded in the metrics: {!r}", error)


def outcome_of(error: BaseException) -> str:
    """The outcome a call that raised `error` is counted under."""
    if isinstance(error, PermanentProviderError | RecipientDeferred | TransactionNotFound):
        return REJECTED
    return TIMEOUT if _timed_out(error) else ERROR


def _timed_out(error: BaseException | None) -> bool:
    """A socket or urllib3 timeout anywhere in the chain of causes (a refused connection is one
    to urllib3, which files it under ConnectTimeoutError: not to us)."""
    for _ in range(10):  # causes chain a few levels deep; never follow a loop
        if error is None or isinstance(error, urllib3.exceptions.NewConnectionError):
            return False
        if isinstance(error, TimeoutError | urllib3.exceptions.TimeoutError):
            return True
        error = error.__cause__ or error.__context__
    return False


class TimedCall:
    """Wraps one call to a provider: observes its time and outcome; `ran` tells afterwards whether
    it ran at all (an open circuit never runs it)."""

    def __init__(self, provider: str, call: str, function: Callable[..., T]) -> None:
        self._labels = (provider, call)
        self._function = function
        self.ran = False

    def __call__(self, *args) -> T:
        self.ran = True
        started = time.perf_counter()
        try:
            result = self._function(*args)
        except Exception as error:
            observe(*self._labels, outcome_of(error), time.perf_counter() - started)
            raise
        observe(*self._labels, OK, time.perf_counter() - started)
        return result
