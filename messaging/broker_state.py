"""What Redis says about the workers: queue depths, dead letters and heartbeats.

Read straight from Dramatiq's keys (`{ns}:{queue}` and `{ns}:{queue}.DQ` lists, `{ns}:{queue}.XQ`
zsets) because Dramatiq has no API for them. /health, /metrics and `admin verify` use these.
"""

from __future__ import annotations

import time

import redis

from messaging.contract import (
    NAMESPACE,
    QUEUES,
    dead_letter_set_key,
    scheduler_heartbeat_key,
    worker_heartbeat_prefix,
)


def queue_depths(redis_client: redis.Redis) -> dict[str, dict[str, int]]:
    """Per queue: messages ready, delayed (retries waiting) and dead-lettered."""
    pipeline = redis_client.pipeline(transaction=False)
    for queue in QUEUES:
        pipeline.llen(f"{NAMESPACE}:{queue}")
        pipeline.llen(f"{NAMESPACE}:{queue}.DQ")
        pipeline.zcard(dead_letter_set_key(queue))
    counts = iter(pipeline.execute())
    return {
        queue: {"ready": next(counts), "delayed": next(counts), "dead": next(counts)}
        for queue in QUEUES
    }


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _age(beat: bytes | str | None, now: float) -> int | None:
    """Seconds since a heartbeat written as a Unix time; None when there is none."""
    text = _text(beat)
    return max(0, int(now - int(text))) if text and text.isdigit() else None


def worker_heartbeats(redis_client: redis.Redis) -> list[dict]:
    """Live worker processes (their heartbeat keys expire 30 s after the last beat)."""
    prefix = worker_heartbeat_prefix()
    keys = sorted(redis_client.scan_iter(match=prefix + "*", count=500))
    beats = redis_client.mget(keys) if keys else []
    now = time.time()
    return [
        {"worker": _text(key).removeprefix(prefix), "age_seconds": _age(beat, now)}
        for key, beat in zip(keys, beats, strict=True)
        if beat is not None
    ]


def scheduler_heartbeat(redis_client: redis.Redis) -> dict:
    """Whether a scheduler ticked within its heartbeat's 30 s lifetime."""
    age = _age(redis_client.get(scheduler_heartbeat_key()), time.time())
    return {"alive": age is not None, "age_seconds": age}
