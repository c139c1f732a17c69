"""The console's buttons: thin calls into the functions `./run.sh admin outbox|dead-letters`
uses (tasks/notifications.py, tasks/dead_letters.py), so a button and a command never differ.
Every action is audited with the actor `admin:web`. None touches an order's payment status.

The task modules are imported on use: importing them configures the worker side (settings,
broker), which must not happen when the web module is merely imported.
"""

from __future__ import annotations

import falcon
import redis
from dramatiq.brokers.redis import RedisBroker

from models.order_rows import iso
from models.outbox import OutboxMessage

ACTOR = "admin:web"


class ActionRefused(Exception):
    """The action cannot be done as asked; the message says why, for the operator."""

    http_status = falcon.HTTP_409


class NotFound(ActionRefused):
    http_status = falcon.HTTP_404


def _outbox_row(outbox_id: int) -> OutboxMessage:
    row = OutboxMessage.get_or_none(OutboxMessage.id == outbox_id)
    if row is None:
        raise NotFound(f"No outbox row {outbox_id}")
    return row


def resend_outbox_message(outbox_id: int) -> dict:
    """Queues the row's message again, same channel, as a new row pointing at the original."""
    from models.outbox_admin import NothingToResend
    from tasks.notifications import resend_notification

    row = _outbox_row(outbox_id)
    try:
        new_ids = resend_notification(row.order_id, row.template_name, ACTOR, (row.channel,))
    except NothingToResend as refusal:
        raise ActionRefused(str(refusal)) from None
    return {
        "ok": True,
        "outbox_ids": new_ids,
        "message": f"Queued {row.channel} {row.template_name} for order {row.order_id} "
        f"again as outbox row {', '.join(map(str, new_ids))}.",
    }


def requeue_outbox_message(outbox_id: int) -> dict:
    """A DLQ or FAILED row gets a fresh round of attempts."""
    from tasks.notifications import requeue_outbox_message as requeue

    if not requeue(outbox_id, actor=ACTOR):
        row = _outbox_row(outbox_id)
        raise ActionRefused(
            f"Outbox row {outbox_id} is {row.status}; only DLQ or FAILED rows can be requeued."
        )
    return {
        "ok": True,
        "outbox_ids": [outbox_id],
        "message": f"Requeued outbox row {outbox_id} for delivery.",
    }


def dead_letter_row(letter) -> dict:
    message = letter.message
    return {
        "message_id": letter.message_id,
        "queue": letter.queue_name,
        "actor": message.actor_name,
        "args": list(message.args),
        "kwargs": message.kwargs,
        "died_at": iso(letter.died_at),
        "retries": letter.retries,
        "error": letter.error,
    }


class DeadLetters:
    """Dramatiq's dead letters, read and requeued through the Redis client this app was given."""

    def __init__(self, redis_client: redis.Redis):
        from tasks.broker import NAMESPACE

        self._broker = RedisBroker(client=redis_client, namespace=NAMESPACE, middleware=[])

    def listed(self) -> list[dict]:
        from tasks.dead_letters import list_dead_letters

        return [dead_letter_row(letter) for letter in list_dead_letters(self._broker)]

    def requeue(self, message_id: str) -> dict:
        """Takes the message out of its dead-letter queue atomically and enqueues it afresh."""
        from tasks.dead_letters import find_dead_letter, requeue_dead_letter

        letter = find_dead_letter(self._broker, message_id)
        if letter is None:
            raise NotFound(f"No dead letter {message_id}")
        if not requeue_dead_letter(self._broker, letter, ACTOR):
            raise ActionRefused(f"Dead letter {message_id} was already requeued.")
        return {
            "ok": True,
            "message": f"Requeued {letter.message.actor_name} message "
            f"{letter.message_id} on {letter.queue_name}.",
        }
