"""Operations on what did not go out: Dramatiq dead letters (in Redis), outbox rows in DLQ, and
the work the sweeper parked."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from messaging.contract import DELIVERY_QUEUE
from messaging.dead_letters import (
    DeadLetter,
    audit_fields,
    find_dead_letter,
    list_dead_letters,
    purge_dead_letters,
)
from messaging.dead_letters import requeue_dead_letter as take_back
from messaging.redis import Sender, wake_deliveries
from models.audit import record_audit
from models.db import transaction
from models.order_rows import counted
from models.outbox_admin import dead_rows, requeue_outbox_message
from models.parked import unpark_all
from models.statuses import OutboxStatus
from tasks.operations import Outcome, done, refused, unchanged


def requeue_dead_letter(sender: Sender, operator: str, message_id: str) -> Outcome:
    """The message leaves its dead-letter queue atomically and is enqueued afresh."""
    letter = find_dead_letter(sender.broker, message_id)
    if letter is None or not _requeued(sender, operator, letter):
        reason = "not in a dead-letter queue"
        message = f"No dead letter {message_id}"
        return refused(
            operator, "dead_letter_requeue_refused", None, reason, message, message_id=message_id
        )
    return done(f"Requeued dead letter {message_id}")


def _requeued(sender: Sender, operator: str, letter: DeadLetter) -> bool:
    if not take_back(sender.broker, letter):
        return False
    with transaction():
        record_audit(operator, "dead_letter_requeued", **audit_fields(letter))
    return True


def requeue_everything(sender: Sender, operator: str, queue_name: str | None = None) -> Outcome:
    """Every Dramatiq dead letter (of `queue_name`) and every outbox row in DLQ; FAILED rows
    (permanent errors) go back only by id, once their cause is fixed."""
    letters = list_dead_letters(sender.broker, queue_name)
    requeued = sum(_requeued(sender, operator, letter) for letter in letters)
    rows = 0
    if queue_name in (None, DELIVERY_QUEUE):
        wake = partial(wake_deliveries, sender)
        rows = sum(
            requeue_outbox_message(row.id, operator, wake)
            for row in dead_rows()
            if row.status == OutboxStatus.DLQ
        )
    message = (
        f"Requeued {counted(requeued, 'Dramatiq dead letter')} and {counted(rows, 'outbox row')}"
    )
    return done(message) if requeued or rows else unchanged(message)


def requeue_parked_work(sender: Sender, operator: str) -> Outcome:
    """Gives the sweeper back the orders and payment notifications it parked (audited)."""
    with transaction():
        orders, events = unpark_all(operator)
    message = (
        f"Unparked {counted(orders, 'order')} and {counted(events, 'notification')}; "
        "the next sweep takes them"
    )
    return done(message) if orders or events else unchanged(message)


def purge_old_dead_letters(sender: Sender, operator: str, older_than_days: int) -> Outcome:
    """Deletes Dramatiq dead letters older than the given days (outbox rows are history and
    stay)."""
    purged = purge_dead_letters(sender.broker, timedelta(days=older_than_days))
    with transaction():
        record_audit(
            operator, "dead_letters_purged", None, purged=purged, older_than_days=older_than_days
        )
    return done(f"Purged {purged} Dramatiq dead letters older than {older_than_days} days")
