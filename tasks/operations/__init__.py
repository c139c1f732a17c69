"""The operator's actions, one function each, shared by the command line and the console.

Every operation has one shape: `operation(sender, operator, *arguments) -> Outcome`. `sender`
sends follow-up work by actor name and holds the dead letters (messaging.redis.Sender: the
command line's Enqueuer, or the worker's services when the console's actor runs it);
`operator` is the audited actor name (`admin:cli`, `admin:web`). An operation audits what it
did, and what it refused, itself, and never changes an order's payment status. The command
line runs it inline and prints the outcome; the console queues it by actor name
(tasks/admin_actions.py runs it) and shows the outcome from the audit log.
Except the reconciliation (tasks/operations/orders.py, worker code: it asks Midtrans), they
import models/ and messaging/ only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from loguru import logger

from models.audit import record_audit
from models.db import transaction

DONE, UNCHANGED, REFUSED = "done", "unchanged", "refused"


@dataclass(frozen=True)
class Outcome:
    """What an operation did: `message` for the operator, `details` for a script (--json)."""

    state: str
    message: str
    details: dict = field(default_factory=dict)

    @property
    def is_refused(self) -> bool:
        return self.state == REFUSED


def done(message: str, **details) -> Outcome:
    return Outcome(DONE, message, details)


def unchanged(message: str, **details) -> Outcome:
    return Outcome(UNCHANGED, message, details)


def refused(
    operator: str, action: str, order_id: str | None, reason: str, message: str = "", **fields
) -> Outcome:
    """A refusal, audited as `action` with its reason (the console shows it from there)."""
    return _audited(REFUSED, operator, action, order_id, reason, message, **fields)


def audited_unchanged(
    operator: str, action: str, order_id: str | None, reason: str, message: str = "", **fields
) -> Outcome:
    """Nothing to do (already as asked), audited as `action` for the console."""
    return _audited(UNCHANGED, operator, action, order_id, reason, message, **fields)


def _audited(state: str, operator: str, action: str, order_id, reason, message, **fields):
    with transaction():
        record_audit(operator, action, order_id, reason=reason, **fields)
    logger.info("{}: {}", action, reason)  # the outcome is shown (stderr, console): no alarm
    return Outcome(state, message or reason, fields)
