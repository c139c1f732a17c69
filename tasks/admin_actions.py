"""What the console's buttons ask for, done by a worker so the web never writes PostgreSQL:
requeue an outbox row, resend a message, requeue a Dramatiq dead letter, revoke or grant an
order's access. Each outcome, done, refused or unchanged, is an audit entry under the
operator's actor name, which the console shows next view."""

from __future__ import annotations

from loguru import logger

from messaging.contract import (
    CORRECT_ACCESS,
    REQUEUE_DEAD_LETTER,
    REQUEUE_OUTBOX_ROW,
    RESEND_MESSAGE,
)
from messaging.dead_letters import audit_fields, find_dead_letter, requeue_dead_letter
from models.access_corrections import AccessCorrectionRefused, correct_access
from models.audit import record_audit
from models.db import transaction
from models.outbox import OutboxMessage
from models.outbox_admin import NothingToResend, requeue_outbox_message, resend_notification
from tasks.broker import worker_actor
from tasks.services import WorkerServices

OPTIONS = {"max_retries": 3, "min_backoff": 1_000, "max_backoff": 30_000}


@worker_actor(REQUEUE_OUTBOX_ROW, **OPTIONS)
def requeue_outbox_row(services: WorkerServices, outbox_id: int, operator: str) -> None:
    """A DLQ or FAILED row gets a fresh round of attempts; anything else is refused."""
    if requeue_outbox_message(outbox_id, operator, services.wake_deliveries):
        return
    row = OutboxMessage.get_or_none(OutboxMessage.id == outbox_id)
    reason = f"row is {row.status}" if row else "no such row"
    order_id = row.order_id if row else None
    _refused(operator, "outbox_requeue_refused", order_id, reason, outbox_id=outbox_id)


@worker_actor(RESEND_MESSAGE, **OPTIONS)
def resend_message(
    services: WorkerServices, order_id: str, template_name: str, channels: list, operator: str
) -> None:
    """Queues the message again as new rows pointing at the originals."""
    try:
        resend_notification(
            order_id, template_name, operator, tuple(channels), services.wake_deliveries
        )
    except NothingToResend as refusal:
        _refused(operator, "outbox_resend_refused", order_id, str(refusal), template=template_name)


@worker_actor(REQUEUE_DEAD_LETTER, **OPTIONS)
def requeue_dramatiq_dead_letter(services: WorkerServices, message_id: str, operator: str) -> None:
    """Takes the dead letter out atomically and enqueues it afresh."""
    broker = services.broker
    letter = find_dead_letter(broker, message_id)
    if letter is None or not requeue_dead_letter(broker, letter):
        reason = "not in a dead-letter queue"
        _refused(operator, "dead_letter_requeue_refused", None, reason, message_id=message_id)
        return
    with transaction():
        record_audit(operator, "dead_letter_requeued", **audit_fields(letter))


@worker_actor(CORRECT_ACCESS, **OPTIONS)
def correct_order_access(
    services: WorkerServices,
    order_id: str,
    action: str,
    reason: str,
    despite_status: bool,
    operator: str,
) -> None:
    """Revokes or grants the order's access (the same code as `./run.sh admin access`); a
    refusal, or an access already as asked, is audited for the console."""
    try:
        correction = correct_access(
            action, order_id, reason, operator, services.wake_deliveries, despite_status
        )
    except AccessCorrectionRefused as refusal:
        _refused(operator, f"access_{action}_refused", order_id, str(refusal))
        return
    if not correction.changed:
        _refused(operator, f"access_{action}_unchanged", order_id, correction.message)


def _refused(operator: str, action: str, order_id: str | None, reason: str, **fields) -> None:
    with transaction():
        record_audit(operator, action, order_id, reason=reason, **fields)
    logger.warning("{} refused: {}", action, reason)
