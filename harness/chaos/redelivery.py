"""How long the messages a killed worker held take to be in a live worker's hands again, read
from Dramatiq's own Redis keys (dramatiq/brokers/redis/dispatch.lua):

- `{ns}:__acks__.{broker id}.{queue}`: messages a worker fetched and has not acked yet;
- `{ns}:__heartbeats__`: every broker id with the time (ms) of its last call;
- `{ns}:{queue}.msgs`: the bodies of messages not acked yet.

A SIGKILLed worker's ack sets stay as they were until maintenance (heartbeat_timeout after its
last call) puts the ids back on their queues. Its broker id is the one holding messages whose
heartbeat stops moving at the kill. A held message counts as redelivered once it sits in a live
worker's ack set, or is gone from `.msgs` (processed and acked).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import redis

from messaging.contract import NAMESPACE

ACK_PREFIX = f"{NAMESPACE}:__acks__."
HEARTBEATS = f"{NAMESPACE}:__heartbeats__"
BROKER_ID_LENGTH = 36  # a uuid4
SILENCE_SECONDS = 5.0  # a live worker calls Redis at least once a second per queue
POLL_SECONDS = 0.25


@dataclass
class Kill:
    worker: str
    killed_at: float  # wall clock, seconds
    held: dict[str, list[str]] = field(default_factory=dict)
    outcome: str = "measuring"  # redelivered, held nothing, not redelivered, unmeasured
    redelivered_after: float | None = None

    def as_dict(self) -> dict:
        return {
            "worker": self.worker,
            "killed_at": self.killed_at,
            "held_messages": sum(len(ids) for ids in self.held.values()),
            "held_by_queue": {queue: len(ids) for queue, ids in self.held.items()},
            "outcome": self.outcome,
            "redelivered_after_seconds": self.redelivered_after,
        }


def ack_sets(client: redis.Redis) -> dict[str, dict[str, set[str]]]:
    """broker id -> queue -> message ids fetched and not acked."""
    found: dict[str, dict[str, set[str]]] = {}
    for key in client.scan_iter(match=f"{ACK_PREFIX}*", count=1000):
        rest = key.decode()[len(ACK_PREFIX) :]
        broker_id, queue = rest[:BROKER_ID_LENGTH], rest[BROKER_ID_LENGTH + 1 :]
        members = {member.decode() for member in client.smembers(key)}
        if members:
            found.setdefault(broker_id, {})[queue] = members
    return found


def heartbeats(client: redis.Redis) -> dict[str, float]:
    return {
        member.decode(): score
        for member, score in client.zrange(HEARTBEATS, 0, -1, withscores=True)
    }


class RedeliveryWatch(threading.Thread):
    """Measures one kill in the background; `kill` is filled in when it ends."""

    def __init__(self, redis_url: str, kill: Kill, limit_seconds: float) -> None:
        super().__init__(name=f"chaos-redelivery-{kill.worker}", daemon=True)
        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self.kill = kill
        self.limit_seconds = limit_seconds

    def run(self) -> None:
        try:
            dead_ids = self._dead_brokers()
            if not self.kill.held:
                self.kill.outcome = "held nothing"
                return
            self._wait_for_redelivery(dead_ids)
        except redis.RedisError as error:
            self.kill.outcome = f"unmeasured: {error}"
        finally:
            self.client.close()

    def _dead_brokers(self) -> set[str]:
        acks, before = _retrying(lambda: (ack_sets(self.client), heartbeats(self.client)))
        time.sleep(SILENCE_SECONDS)
        after = _retrying(lambda: heartbeats(self.client))
        recent = (self.kill.killed_at - SILENCE_SECONDS) * 1000
        dead = {
            broker_id
            for broker_id in acks
            if before.get(broker_id, 0) >= recent and after.get(broker_id, 0) <= before[broker_id]
        }
        for broker_id in dead:
            for queue, ids in acks[broker_id].items():
                self.kill.held.setdefault(queue, []).extend(sorted(ids))
        return dead

    def _wait_for_redelivery(self, dead_ids: set[str]) -> None:
        waiting = {(queue, message) for queue, ids in self.kill.held.items() for message in ids}
        while waiting:
            elapsed = time.time() - self.kill.killed_at
            if elapsed > self.limit_seconds:
                self.kill.outcome = "not redelivered"
                self.kill.held = {"still held": sorted(f"{q}:{m}" for q, m in waiting)}
                return
            try:
                held_now = ack_sets(self.client)
                live = {b: queues for b, queues in held_now.items() if b not in dead_ids}
                waiting = {item for item in waiting if not self._redelivered(item, live)}
            except redis.RedisError:
                pass  # Redis may be restarting: ask again
            if waiting:
                time.sleep(POLL_SECONDS)
        self.kill.redelivered_after = round(time.time() - self.kill.killed_at, 2)
        self.kill.outcome = "redelivered"

    def _redelivered(self, item: tuple[str, str], live: dict[str, dict[str, set[str]]]) -> bool:
        queue, message_id = item
        if not self.client.hexists(f"{NAMESPACE}:{queue}.msgs", message_id):
            return True
        return any(message_id in queues.get(queue, ()) for queues in live.values())


def _retrying(read, attempts: int = 40):
    """Redis may be restarting at the moment of the kill: try for about 20 s."""
    for _ in range(attempts - 1):
        try:
            return read()
        except redis.RedisError:
            time.sleep(0.5)
    return read()
