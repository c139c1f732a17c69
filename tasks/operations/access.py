"""The owner's access corrections: revoke or grant an order's course access by hand, with a
reason, the customer told (models/access_corrections.py holds the rules)."""

from __future__ import annotations

from functools import partial

from messaging.redis import Sender, wake_deliveries
from models.access_corrections import AccessCorrectionRefused
from models.access_corrections import correct_access as corrected
from tasks.operations import Outcome, audited_unchanged, done, refused


def correct_access(
    sender: Sender,
    operator: str,
    order_id: str,
    action: str,
    reason: str,
    despite_status: bool = False,
) -> Outcome:
    """Revokes or grants (`action`); a refusal, or an access already as asked, is audited."""
    wake = partial(wake_deliveries, sender)
    try:
        correction = corrected(action, order_id, reason, operator, wake, despite_status)
    except AccessCorrectionRefused as refusal:
        message = f"Refused: {refusal}"
        return refused(operator, f"access_{action}_refused", order_id, str(refusal), message)
    if not correction.changed:
        message = f"Nothing changed: {correction.message}"
        return audited_unchanged(
            operator, f"access_{action}_unchanged", order_id, correction.message, message
        )
    return done(correction.message, outbox_ids=correction.outbox_ids)
