"""Periodic jobs are never retried nor dead-lettered: the scheduler's next tick is the retry.

A database or Redis blip would otherwise leave a dead letter per tick (hundreds in an outage),
keeping /health degraded long after the outage ended.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import redis
import sentry_sdk
from dramatiq.middleware import CurrentMessage
from loguru import logger

from messaging.contract import ActorSpec, sweep_claim_key
from tasks.broker import worker_actor


def periodic_job(spec: ActorSpec, time_limit_ms: int = 120_000) -> Callable:
    """Declares `fn` as the periodic actor `spec` names; its failures are logged, not raised."""

    def declare(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run_once(*args, **kwargs):
            try:
                result = fn(*args, **kwargs)
            except Exception:  # noqa: BLE001 - logged; the next tick runs the job again
                logger.exception("Periodic job {} failed; the next tick retries it", fn.__name__)
                sentry_sdk.capture_exception()  # handled here, so no integration sees it
                return None
            # Run by a worker, a returned value would only make Dramatiq warn that it has no
            # Results middleware to keep it; called inline, the caller gets it.
            return result if CurrentMessage.get_current_message() is None else None

        return worker_actor(spec, max_retries=0, time_limit=time_limit_ms)(run_once)

    return declare


REQUEUE_CLAIM_SECONDS = 300


def first_requeue(redis_client: redis.Redis, kind: str, item_id: object) -> bool:
    """True once per item per 5 minutes: a sweep every 30 s must not pile up a message per tick
    for the same stuck item while workers or Midtrans are down."""
    claim = sweep_claim_key(kind, item_id)
    return bool(redis_client.set(claim, 1, nx=True, ex=REQUEUE_CLAIM_SECONDS))
