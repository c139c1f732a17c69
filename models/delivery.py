"""The life of an outbox row while it is delivered: claim, sent, failed, retry, dead letter.

The row, not the Dramatiq message, is the truth: a claim is one atomic UPDATE, so two workers
never send the same row, and every later write is fenced on that claim (status SENDING with the
same claimed_at), so a worker that lost its claim to the sweeper cannot overwrite the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.db import database
from models.outbox import UNPAID_TEMPLATES, OutboxMessage
from models.statuses import CLAIMABLE, OutboxStatus

DEFAULT_RETRY_SCHEDULE_SECONDS = (60.0, 300.0, 900.0, 1800.0)
INTERRUPTED = "delivery interrupted: the worker stopped after claiming the row"
HELD = (
    "held: the shop-wide budget of unpaid-order messages per hour (UNPAID_MESSAGES_PER_HOUR) "
    "was used up; requeue the row if the order is genuine"
)
BUDGET_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries retry and wait; built from settings, scaled down in tests."""

    retry_schedule_seconds: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE_SECONDS
    breaker_fail_max: int = 5
    breaker_reset_seconds: float = 60.0
    email_rate_per_second: int = 5
    whatsapp_rate_per_second: int = 20
    rate_wait_seconds: float = 10.0
    stuck_after_seconds: float = 300.0
    sweep_grace_seconds: float = 60.0
    unpaid_messages_per_hour: int = 200

    @property
    def max_attempts(self) -> int:
        """One first attempt plus one per scheduled retry (5 with the default schedule)."""
        return len(self.retry_schedule_seconds) + 1

    def retry_delay(self, failed_attempts: int) -> timedelta | None:
        """The wait after the n-th failed attempt, or None when the row is out of attempts."""
        if failed_attempts >= self.max_attempts:
            return None
        return timedelta(seconds=self.retry_schedule_seconds[failed_attempts - 1])


def _history_entry(attempt: int, kind: str, error: str, now: datetime) -> dict:
    return {"attempt": attempt, "at": now.isoformat(), "kind": kind, "error": error[:1000]}


def _ours(row: OutboxMessage):
    """The fence: the row is still in the SENDING claim this worker made."""
    return (
        (OutboxMessage.id == row.id)
        & (OutboxMessage.status == OutboxStatus.SENDING)
        & (OutboxMessage.claimed_at == row.claimed_at)
    )


# The claim and SENT run for every message: written out once rather than composed by peewee for
# each call, which cost more CPU than PostgreSQL spends running them.
_CLAIM_SQL = """
UPDATE notification_outbox SET status = 'SENDING', claimed_at = %s, updated_at = %s
WHERE id = %s AND status = ANY(%s) AND (next_retry_at IS NULL OR next_retry_at <= %s)
RETURNING *
"""
_MARK_SENT_SQL = """
UPDATE notification_outbox
SET status = 'SENT', sent_at = %s, updated_at = %s, next_retry_at = NULL,
    attempt_count = %s, provider_message_id = %s
WHERE id = %s AND status = 'SENDING' AND claimed_at = %s
"""


def claim_delivery(outbox_id: int, now: datetime) -> OutboxMessage | None:
    """PENDING or RETRYING (and due) -> SENDING in one UPDATE; None if not ours to send."""
    claimable = [str(status) for status in CLAIMABLE]
    claimed = OutboxMessage.raw(_CLAIM_SQL, now, now, outbox_id, claimable, now)
    return next(iter(claimed), None)


def mark_sent(row: OutboxMessage, provider_message_id: str, now: datetime) -> bool:
    """SENT with the time; the attempt that succeeded is counted (fenced like `_ours`)."""
    cursor = database.execute_sql(
        _MARK_SENT_SQL,
        (now, now, row.attempt_count + 1, provider_message_id[:200], row.id, row.claimed_at),
    )
    return bool(cursor.rowcount)


def mark_failed(row: OutboxMessage, reason: str, now: datetime) -> bool:
    """A permanent failure: FAILED at once with the reason; never retried automatically."""
    attempt = row.attempt_count + 1
    return bool(
        OutboxMessage.update(
            status=OutboxStatus.FAILED,
            attempt_count=attempt,
            next_retry_at=None,
            last_error=reason,
            error_history=row.error_history + [_history_entry(attempt, "permanent", reason, now)],
            updated_at=now,
        )
        .where(_ours(row))
        .execute()
    )


def over_unpaid_budget(row: OutboxMessage, policy: DeliveryPolicy, now: datetime) -> bool:
    """True when `row` is about an unpaid order and the shop already sent the hour's budget of
    such messages: a flood of checkouts with strangers' contacts stops there. Messages about
    money that moved are never counted nor held, nor is a row an operator requeued or resent.
    Rows being sent at this moment are not counted, so concurrent deliveries may pass the
    budget by a few."""
    if row.template_name not in UNPAID_TEMPLATES or row.released_by_operator:
        return False
    sent = OutboxMessage.select().where(
        (OutboxMessage.status == OutboxStatus.SENT)
        & OutboxMessage.template_name.in_(UNPAID_TEMPLATES)
        & (OutboxMessage.sent_at > now - BUDGET_WINDOW)
    )
    return sent.count() >= policy.unpaid_messages_per_hour


def mark_held(row: OutboxMessage, now: datetime) -> bool:
    """Over the hourly budget: FAILED with the HELD reason, without spending an attempt, so the
    row stays visible (outbox list, alarms) and an operator can requeue it."""
    return bool(
        OutboxMessage.update(
            status=OutboxStatus.FAILED,
            next_retry_at=None,
            last_error=HELD,
            error_history=row.error_history
            + [_history_entry(row.attempt_count, "held", HELD, now)],
            updated_at=now,
        )
        .where(_ours(row))
        .execute()
    )


def mark_retry(
    row: OutboxMessage, reason: str, policy: DeliveryPolicy, now: datetime
) -> timedelta | None:
    """A transient failure: RETRYING at the schedule's next step, or DLQ when out of attempts.

    Returns the wait before the next attempt, or None when the row went to DLQ.
    """
    attempt = row.attempt_count + 1
    delay = policy.retry_delay(attempt)
    OutboxMessage.update(
        status=OutboxStatus.RETRYING if delay else OutboxStatus.DLQ,
        attempt_count=attempt,
        last_error=reason,
        next_retry_at=now + delay if delay else None,
        updated_at=now,
        error_history=row.error_history + [_history_entry(attempt, "transient", reason, now)],
    ).where(_ours(row)).execute()
    return delay


def mark_waiting(row: OutboxMessage, reason: str, delay: timedelta, now: datetime) -> bool:
    """The provider is unavailable (breaker open): wait without spending an attempt."""
    return bool(
        OutboxMessage.update(
            status=OutboxStatus.RETRYING,
            next_retry_at=now + delay,
            last_error=reason,
            updated_at=now,
        )
        .where(_ours(row))
        .execute()
    )


_RECOVER_STUCK_SQL = """
UPDATE notification_outbox
SET attempt_count = attempt_count + 1,
    status = CASE WHEN attempt_count + 1 >= %(max_attempts)s THEN 'DLQ' ELSE 'RETRYING' END,
    next_retry_at = CASE WHEN attempt_count + 1 >= %(max_attempts)s THEN NULL
                         ELSE %(now)s::timestamptz END,
    last_error = %(reason)s,
    error_history = error_history || jsonb_build_array(jsonb_build_object(
        'attempt', attempt_count + 1, 'at', %(now_text)s, 'kind', 'interrupted',
        'error', %(reason)s)),
    updated_at = %(now)s
WHERE status = 'SENDING' AND claimed_at < %(cutoff)s
RETURNING id, status
"""


def recover_stuck(policy: DeliveryPolicy, now: datetime) -> list[int]:
    """Rows left in SENDING by a worker that died count one interrupted attempt and are due
    again at once (or DLQ when that was their last). Returns the ids to deliver now."""
    cursor = database.execute_sql(
        _RECOVER_STUCK_SQL,
        {
            "max_attempts": policy.max_attempts,
            "now": now,
            "now_text": now.isoformat(),
            "reason": INTERRUPTED,
            "cutoff": now - timedelta(seconds=policy.stuck_after_seconds),
        },
    )
    return [row_id for row_id, status in cursor.fetchall() if status == OutboxStatus.RETRYING]


def due_ids(policy: DeliveryPolicy, now: datetime, limit: int = 500) -> list[int]:
    """PENDING or RETRYING rows whose wake-up is overdue by the grace period (a lost message)."""
    cutoff = now - timedelta(seconds=policy.sweep_grace_seconds)
    due_at = OutboxMessage.next_retry_at.is_null() | (OutboxMessage.next_retry_at < cutoff)
    query = (
        OutboxMessage.select(OutboxMessage.id)
        .where(OutboxMessage.status.in_(CLAIMABLE) & due_at & (OutboxMessage.updated_at < cutoff))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [row.id for row in query]
