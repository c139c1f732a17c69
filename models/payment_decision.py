"""What one stored payment notification does to its order, decided in one pure function from
what the actor gathered: the stored event, the locked order and the verified status (the
Status API's answer, or the body itself when nobody asked). No I/O: the one writer
(models/payments.py: write_notification) carries the verdict out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from models.events import EventSource, PaymentEvent
from models.midtrans_status import (
    MidtransNotification,
    amount_matches,
    is_earlier_step,
    parse_notification,
)
from models.orders import Order
from models.state_machine import Decision, Effect, decide
from models.statuses import OrderStatus


class Verdict(StrEnum):
    SKIP = "skip"  # processed already, or a repeat that would not move the order
    UNKNOWN_ORDER = "unknown_order"  # stored and flagged, never applied
    APPLY = "apply"


@dataclass(frozen=True)
class NotificationDecision:
    verdict: Verdict
    decision: Decision | None = None  # the state machine's cell, when applied
    disagreement: str | None = None  # why the body's unsigned claim is flagged
    record_verification: bool = False  # the Status API was asked: keep its answer
    finish_event: bool = False  # the first processing: the event records its outcome

    @property
    def flag_reason(self) -> str | None:
        """Every reason to flag, for the event row."""
        reasons = [self.decision.flag_reason if self.decision else None, self.disagreement]
        return "; ".join(reason for reason in reasons if reason) or None


def decide_notification(
    order: Order | None,
    event: PaymentEvent,
    verified: MidtransNotification,
    *,
    asked_status_api: bool,
    reapply: bool = False,
    unsettled_capture: bool = False,
) -> NotificationDecision:
    """Everything one stored event does to its order. `reapply` applies a Status API answer
    seen before again, but only when it moves the order; `unsettled_capture` tells whether the
    order's payment was a card capture Midtrans may still void."""
    if event.processed and (not reapply or order is None):
        return NotificationDecision(Verdict.SKIP)
    if order is None:
        return NotificationDecision(Verdict.UNKNOWN_ORDER, finish_event=True)
    decision = decide_for_order(order, verified, unsettled_capture)
    if event.processed and not decision.changed:
        return NotificationDecision(Verdict.SKIP)
    return NotificationDecision(
        Verdict.APPLY,
        decision,
        disagreement=None
        if event.processed
        else disagreement(order, event, verified, unsettled_capture),
        record_verification=asked_status_api,
        finish_event=not event.processed,
    )


def decide_for_order(
    order: Order, status: MidtransNotification, unsettled_capture: bool = False
) -> Decision:
    """The state machine's decision, refusing to pay an amount that is not the order's."""
    decision = decide(
        order.status,
        status.transaction_status,
        status.fraud_status,
        settled=status.settlement_time is not None,
        unsettled_capture=unsettled_capture and voids_payment(order, status),
    )
    if Effect.GRANT_ACCESS in decision.effects and not amount_matches(order.final_amount, status):
        reason = f"amount mismatch: notified {status.gross_amount_text}, order {order.final_amount}"
        return Decision(
            order.status, order.status, "flagged_amount_mismatch", frozenset({Effect.FLAG}), reason
        )
    return decision


def voids_payment(order: Order, status: MidtransNotification) -> bool:
    """Whether `status` may void the order's payment: a `cancel` of a paid order (then, and only
    then, the order's history must say whether its capture settled)."""
    return order.status == OrderStatus.PAID and status.transaction_status == "cancel"


def disagreement(
    order: Order, event: PaymentEvent, verified: MidtransNotification, unsettled_capture: bool
) -> str | None:
    """Why the body's unsigned claim matters, when it would have done something else to the
    order than the Status API's answer does. A claim of a step the transaction has since passed
    (a `pending` processed after Midtrans settled, behind a queue backlog) is only late: the
    Status API's answer is applied and nothing is flagged."""
    if event.source != EventSource.WEBHOOK:
        return None
    if event.transaction_status == verified.transaction_status:
        return None
    if is_earlier_step(event.transaction_status, verified.transaction_status):
        return None
    claimed = decide_for_order(order, parse_notification(event.raw), unsettled_capture)
    actual = decide_for_order(order, verified, unsettled_capture)
    if (claimed.new_status, claimed.effects) == (actual.new_status, actual.effects):
        return None
    return (
        f"the notification said {event.transaction_status!r}, "
        f"the Status API says {verified.transaction_status!r}"
    )


def with_fee_original(
    verified: MidtransNotification, notified: MidtransNotification
) -> MidtransNotification:
    """Under fee imposition the pre-fee price may be missing from the Status API's answer; the
    notification's own is taken then, but only for the very amount the Status API confirms."""
    if verified.original_amount_text or not notified.original_amount_text:
        return verified
    if verified.gross_amount_text != notified.gross_amount_text:
        return verified
    return dataclasses.replace(verified, original_amount_text=notified.original_amount_text)
