"""Delivering customer messages (outbox rows) by email and WhatsApp: one actor, retried on the
row's schedule.

Outcomes are mapped here, once: a permanent error -> FAILED; a transient error -> RETRYING on
the schedule (1, 5, 15, 30 minutes) and DLQ after the fifth failed attempt; the provider
unavailable (breaker open, no rate slot) -> wait and retry without spending an attempt.
Dramatiq's Retries middleware carries the waits; the row decides whether another attempt exists.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

import dramatiq
import peewee
from loguru import logger

from integrations.errors import PermanentProviderError, ProviderUnavailable
from messaging.contract import DELIVER_MESSAGE
from messaging.receipts import find_receipt, keep_receipt
from models.base import utcnow
from models.db import reconnect, transaction
from models.delivery import (
    DeliveryPolicy,
    claim_delivery,
    due_ids,
    mark_failed,
    mark_held,
    mark_retry,
    mark_sent,
    mark_waiting,
    over_unpaid_budget,
    recover_stuck,
)
from models.messages import MessageRenderError
from models.outbox import OutboxMessage, masked_recipient
from tasks.broker import worker_actor
from tasks.periodic import first_requeue
from tasks.services import WorkerServices

# A provider outage may last long: waits while it is unavailable get their own, large budget
# (about a week at the default breaker reset). Unexpected errors before a row is claimed
# (the database unreachable) retry a few times; the sweeper picks the row up after that.
WAIT_BUDGET = 10_000
UNEXPECTED_ERROR_RETRIES = 5
# Waits between tries to record SENT while PostgreSQL is unreachable (about a minute: a restart).
RECORD_SENT_WAITS = (0.5, 1, 2, 4, 8, 15, 30)


class DeliveryRetry(dramatiq.Retry):
    """The row failed transiently and is due again after `delay` ms (an attempt was spent)."""


class DeliveryWait(dramatiq.Retry):
    """The provider is unavailable; try again after `delay` ms (no attempt was spent)."""


def should_retry(retries: int, exception: BaseException) -> bool:
    """Dramatiq's retry_when: our own waits are bounded by the row; anything else by a count."""
    if isinstance(exception, dramatiq.Retry):
        return retries < WAIT_BUDGET
    return retries < UNEXPECTED_ERROR_RETRIES


@worker_actor(
    DELIVER_MESSAGE,
    retry_when=should_retry,
    min_backoff=5_000,
    max_backoff=300_000,
    time_limit=120_000,
)
def deliver_message(services: WorkerServices, outbox_id: int) -> None:
    """Sends one outbox row (a customer's message) if it is ours to send; idempotent, a
    duplicate is a no-op. Its actor keeps the contract's name, `deliver_notification`."""
    row = claim_delivery(int(outbox_id), utcnow())
    if row is None:
        logger.info("Outbox row {} is not due or already handled", outbox_id)
        return
    with logger.contextualize(outbox_id=row.id, order_id=row.order_id, channel=row.channel):
        deliver_claimed(row, services)


def deliver_claimed(row: OutboxMessage, worker: WorkerServices) -> None:
    """Sends a claimed row and records the outcome on it (the one place outcomes are mapped)."""
    current_policy = worker.policy
    try:
        provider_message_id = _earlier_receipt(row, worker) or _deliver_within_budget(row, worker)
    except HeldByBudget:
        mark_held(row, utcnow())
        logger.warning(
            "{} {} held: the unpaid-order message budget is used up", row.channel, row.template_name
        )
    except ProviderUnavailable as error:
        _wait_for_provider(row, str(error), current_policy)
    except (PermanentProviderError, MessageRenderError) as error:
        mark_failed(row, str(error), utcnow())
        logger.error(
            "{} {} to {} failed permanently: {}",
            row.channel,
            row.template_name,
            masked_recipient(row),
            error,
        )
    except Exception as error:  # transient, or a bug: either way an attempt is spent
        _retry_later(row, f"{type(error).__name__}: {error}", current_policy)
    else:
        _record_sent(row, provider_message_id, worker)
        logger.info("Sent {} {} to {}", row.channel, row.template_name, masked_recipient(row))


class HeldByBudget(Exception):
    """The row is about an unpaid order and the shop sent the hour's budget of those."""


def _deliver_within_budget(row: OutboxMessage, worker: WorkerServices) -> str:
    """Sends the row unless the hourly budget of unpaid-order messages holds it (checked only
    when the row is really about to go out: one the provider already took is recorded SENT)."""
    if over_unpaid_budget(row, worker.policy, utcnow()):
        raise HeldByBudget(row.template_name)
    return worker.channels.deliver(row)


def _earlier_receipt(row: OutboxMessage, worker: WorkerServices) -> str | None:
    """The provider's id when an interrupted earlier attempt was accepted (see
    messaging.receipts); a row never tried before has none, so the first try costs nothing."""
    if not row.error_history:
        return None
    provider_message_id = find_receipt(worker.redis, row.id)
    if provider_message_id:
        logger.warning(
            "{} {} was accepted by the provider before the worker was interrupted; "
            "recorded as sent, not sent again",
            row.channel,
            row.template_name,
        )
    return provider_message_id


def _record_sent(row: OutboxMessage, provider_message_id: str, worker: WorkerServices) -> None:
    """The receipt first (Redis), then SENT (PostgreSQL), the latter tried through a database
    restart; if it never lands the row stays SENDING and the sweeper finds the receipt."""
    keep_receipt(worker.redis, row.id, provider_message_id)
    for wait in RECORD_SENT_WAITS:
        try:
            mark_sent(row, provider_message_id, utcnow())
            return
        except (peewee.OperationalError, peewee.InterfaceError) as error:
            logger.warning(
                "{} {} sent but not yet recorded ({}); trying again in {}s",
                row.channel,
                row.template_name,
                type(error).__name__,
                wait,
            )
            time.sleep(wait)
            try:
                reconnect()
            except (peewee.OperationalError, peewee.InterfaceError):
                continue
    mark_sent(row, provider_message_id, utcnow())


def _wait_for_provider(row: OutboxMessage, reason: str, current_policy: DeliveryPolicy) -> None:
    delay = timedelta(seconds=current_policy.breaker_reset_seconds * random.uniform(1.0, 1.5))
    mark_waiting(row, reason, delay, utcnow())
    logger.warning(
        "{}; {} {} waits {:.1f}s", reason, row.channel, row.template_name, delay.total_seconds()
    )
    raise DeliveryWait(reason, delay=int(delay.total_seconds() * 1000))


def _retry_later(row: OutboxMessage, reason: str, current_policy: DeliveryPolicy) -> None:
    delay = mark_retry(row, reason, current_policy, utcnow())
    attempt = row.attempt_count + 1
    if delay is None:
        logger.error(
            "{} {} to {} dead-lettered after {} attempts: {}",
            row.channel,
            row.template_name,
            masked_recipient(row),
            attempt,
            reason,
        )
        return
    logger.warning(
        "{} {} attempt {} failed ({}); retrying in {:.0f}s",
        row.channel,
        row.template_name,
        attempt,
        reason,
        delay.total_seconds(),
    )
    raise DeliveryRetry(reason, delay=int(delay.total_seconds() * 1000))


def requeue_due_deliveries(services: WorkerServices) -> int:
    """The sweeper's part: recovers rows stuck in SENDING and re-sends overdue wake-ups."""
    now = utcnow()
    policy = services.policy
    with transaction():
        recovered = recover_stuck(policy, now)
    overdue = due_ids(policy, now)
    overdue = [
        outbox_id for outbox_id in overdue if first_requeue(services.redis, "outbox", outbox_id)
    ]
    services.wake_deliveries(sorted(set(overdue) - set(recovered)))
    for outbox_id, due_at in sorted(recovered.items()):
        wait_ms = max(0, int((due_at - now).total_seconds() * 1000))
        services.send(DELIVER_MESSAGE, outbox_id, delay_ms=wait_ms or None)
    if recovered:
        logger.warning("Recovered {} outbox rows stuck in SENDING", len(recovered))
    return len(set(overdue) | set(recovered))
