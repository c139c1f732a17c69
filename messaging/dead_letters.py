"""Dramatiq's dead letters in Redis: list, show, requeue and purge them.

Dramatiq has no public API for this. A queue's dead letters are the zset
`{namespace}:{queue}.XQ` (member = the Redis message id, score = when it died, in ms) and the
hash `{namespace}:{queue}.XQ.msgs` (Redis message id -> encoded message). Taking one out is a
Lua script, so two operators can never requeue the same message twice. The final error is not
kept by Dramatiq: DeadLetterReasons (tasks/middleware.py) records it by message id. Callers
audit what they requeue; nothing here touches PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import q_name
from loguru import logger

from messaging.contract import dead_letter_error_key, dead_letter_set_key

# Options Dramatiq accumulates across attempts; a requeued message starts afresh without them.
_ATTEMPT_OPTIONS = ("retries", "traceback", "requeue_timestamp", "eta", "redis_message_id")

_TAKE = """
local encoded = redis.call('HGET', KEYS[2], ARGV[1])
if not encoded then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return encoded
"""

_TAKE_OLDER_THAN = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local taken = {}
for _, id in ipairs(ids) do
  local encoded = redis.call('HGET', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  if encoded then table.insert(taken, encoded) end
end
return taken
"""


@dataclass(frozen=True)
class DeadLetter:
    """One dead message as an operator sees it."""

    queue_name: str
    redis_message_id: str
    died_at: datetime
    message: dramatiq.Message
    error: str | None

    @property
    def message_id(self) -> str:
        return self.message.message_id

    @property
    def retries(self) -> int:
        return int(self.message.options.get("retries", 0))


def _keys(broker: RedisBroker, queue_name: str) -> list[str]:
    zset = dead_letter_set_key(queue_name)
    return [zset, f"{zset}.msgs"]


def dead_letter_queues(broker: RedisBroker) -> list[str]:
    """Every queue with a dead-letter set in Redis, declared in this process or not."""
    prefix = f"{broker.namespace}:"
    names = {
        key.decode()[len(prefix) : -len(".XQ")]
        for key in broker.client.scan_iter(match=f"{prefix}*.XQ", count=500)
    }
    return sorted(names)


def list_dead_letters(broker: RedisBroker, queue_name: str | None = None) -> list[DeadLetter]:
    """Dead letters of one queue or of every queue, oldest first."""
    queues = [queue_name] if queue_name else dead_letter_queues(broker)
    found = [letter for name in queues for letter in _queue_dead_letters(broker, name)]
    return sorted(found, key=lambda letter: letter.died_at)


def _queue_dead_letters(broker: RedisBroker, queue_name: str) -> list[DeadLetter]:
    zset, messages = _keys(broker, queue_name)
    scored = broker.client.zrange(zset, 0, -1, withscores=True)
    if not scored:
        return []
    encoded = broker.client.hmget(messages, [member for member, _ in scored])
    decoded = [
        (member.decode(), score, dramatiq.Message.decode(body))
        for (member, score), body in zip(scored, encoded, strict=True)
        if body
    ]
    errors = _errors(broker, [message.message_id for _, _, message in decoded])
    return [
        DeadLetter(
            queue_name,
            member,
            datetime.fromtimestamp(score / 1000, UTC),
            message,
            errors.get(message.message_id),
        )
        for member, score, message in decoded
    ]


def _errors(broker: RedisBroker, message_ids: list[str]) -> dict[str, str]:
    if not message_ids:
        return {}
    values = broker.client.mget([dead_letter_error_key(i) for i in message_ids])
    return {
        message_id: value.decode()
        for message_id, value in zip(message_ids, values, strict=True)
        if value
    }


def find_dead_letter(broker: RedisBroker, message_id: str) -> DeadLetter | None:
    """The dead letter with this Dramatiq message id (or Redis message id), if any."""
    for letter in list_dead_letters(broker):
        if message_id in (letter.message_id, letter.redis_message_id):
            return letter
    return None


def fresh_copy(message: dramatiq.Message) -> dramatiq.Message:
    """The message as first enqueued: its own queue, no retry count, no old traceback."""
    options = {key: value for key, value in message.options.items() if key not in _ATTEMPT_OPTIONS}
    return dataclasses.replace(message, queue_name=q_name(message.queue_name), options=options)


def requeue_dead_letter(broker: RedisBroker, letter: DeadLetter) -> bool:
    """Takes the letter out atomically and enqueues it afresh; False if someone else took it.
    If the enqueue fails, the letter is put back, so a Redis blip cannot lose it.
    """
    keys = _keys(broker, letter.queue_name)
    encoded = broker.client.eval(_TAKE, 2, *keys, letter.redis_message_id)
    if not encoded:
        return False
    try:
        broker.enqueue(fresh_copy(dramatiq.Message.decode(encoded)))
    except Exception:
        broker.client.hset(keys[1], letter.redis_message_id, encoded)
        broker.client.zadd(keys[0], {letter.redis_message_id: letter.died_at.timestamp() * 1000})
        raise
    broker.client.delete(dead_letter_error_key(letter.message_id))
    logger.info(
        "Requeued dead letter {} ({}) on {}",
        letter.message_id,
        letter.message.actor_name,
        letter.queue_name,
    )
    return True


def audit_fields(letter: DeadLetter) -> dict:
    """What an audit entry of a requeue records about the letter."""
    return {
        "message_id": letter.message_id,
        "queue": letter.queue_name,
        "actor_name": letter.message.actor_name,
        "final_error": letter.error,
    }


def purge_dead_letters(
    broker: RedisBroker, older_than: timedelta, queue_name: str | None = None
) -> int:
    """Deletes dead letters that died more than `older_than` ago; returns how many."""
    cutoff_ms = int((datetime.now(UTC) - older_than).timestamp() * 1000)
    purged = 0
    for name in [queue_name] if queue_name else dead_letter_queues(broker):
        taken = broker.client.eval(_TAKE_OLDER_THAN, 2, *_keys(broker, name), cutoff_ms)
        message_ids = [dramatiq.Message.decode(body).message_id for body in taken]
        if message_ids:
            broker.client.delete(*(dead_letter_error_key(i) for i in message_ids))
        purged += len(taken)
    return purged
