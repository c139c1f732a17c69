"""What Redis says about the workers: queue depths, dead letters and heartbeats.

Read straight from Dramatiq's keys (`{ns}:{queue}` and `{ns}:{queue}.DQ` lists, `{ns}:{queue}.XQ`
zsets) because Dramatiq has no API for them. /health and /metrics both use these readers.
"""

from __future__ import annotations

import time

import redis


def _broker_names() -> tuple[str, tuple[str, ...]]:
    # Imported on use: tasks.broker configures the process, which must not happen at web import.
    from tasks.broker import NAMESPACE, QUEUES

    return NAMESPACE, QUEUES


def queue_depths(redis_client: redis.Redis) -> dict[str, dict[str, int]]:
    """Per queue: messages ready, delayed (retries waiting) and dead-lettered."""
    from tasks.middleware import dead_letter_set_key

    namespace, queues = _broker_names()
    pipeline = redis_client.pipeline(transaction=False)
    for queue in queues:
        pipeline.llen(f"{namespace}:{queue}")
        pipeline.llen(f"{namespace}:{queue}.DQ")
        pipeline.zcard(dead_letter_set_key(namespace, queue))
    counts = iter(pipeline.execute())
    return {
        queue: {"ready": next(counts), "delayed": next(counts), "dead": next(counts)}
        for queue in queues
    }


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _age(beat: bytes | str | None, now: float) -> int | None:
    """Seconds since a heartbeat written as a Unix time; None when there is none."""
    text = _text(beat)
    return max(0, int(now - int(text))) if text and text.isdigit() else None


def worker_heartbeats(redis_client: redis.Redis) -> list[dict]:
    """Live worker processes (their heartbeat keys expire 30 s after the last beat)."""
    from tasks.middleware import worker_heartbeat_prefix

    prefix = worker_heartbeat_prefix(_broker_names()[0])
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
    from tasks.middleware import scheduler_heartbeat_key

    age = _age(redis_client.get(scheduler_heartbeat_key(_broker_names()[0])), time.time())
    return {"alive": age is not None, "age_seconds": age}
