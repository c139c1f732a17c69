"""The console's buttons, done by a worker so the web never writes PostgreSQL: each actor runs
the very operation `./run.sh admin` runs inline (tasks/operations/), with the worker's
services as its sender. Each outcome, done, refused or unchanged, is audited by the operation
under the operator's actor name, which the console shows next view. Actor names stay as the
contract has them, so messages queued before an upgrade still run."""

from __future__ import annotations

from messaging.contract import (
    CANCEL_PAYMENT,
    CORRECT_ACCESS,
    CREATE_DISCOUNT,
    DECIDE_CHALLENGE,
    DISABLE_DISCOUNT,
    REFUND_ORDER,
    REQUEUE_DEAD_LETTER,
    REQUEUE_OUTBOX_ROW,
    RESEND_MESSAGE,
    SET_PACKAGE_PRICE,
)
from models.discounts import NewDiscount
from tasks.broker import worker_actor
from tasks.operations import access, catalog, dead_letters, outbox, payment_actions
from tasks.services import WorkerServices

OPTIONS = {"max_retries": 3, "min_backoff": 1_000, "max_backoff": 30_000}


@worker_actor(REQUEUE_OUTBOX_ROW, **OPTIONS)
def requeue_outbox_row(services: WorkerServices, outbox_id: int, operator: str) -> None:
    outbox.requeue_outbox_row(services, operator, outbox_id)


@worker_actor(RESEND_MESSAGE, **OPTIONS)
def resend_message(
    services: WorkerServices, order_id: str, template_name: str, channels: list, operator: str
) -> None:
    outbox.resend_message(services, operator, order_id, template_name, channels)


@worker_actor(REQUEUE_DEAD_LETTER, **OPTIONS)
def requeue_dramatiq_dead_letter(services: WorkerServices, message_id: str, operator: str) -> None:
    dead_letters.requeue_dead_letter(services, operator, message_id)


@worker_actor(CORRECT_ACCESS, **OPTIONS)
def correct_order_access(
    services: WorkerServices,
    order_id: str,
    action: str,
    reason: str,
    despite_status: bool,
    operator: str,
) -> None:
    access.correct_access(services, operator, order_id, action, reason, despite_status)


@worker_actor(SET_PACKAGE_PRICE, **OPTIONS)
def set_package_price(
    services: WorkerServices, package_id: str, price_idr: int, operator: str
) -> None:
    catalog.set_price(services, operator, package_id, price_idr)


@worker_actor(CREATE_DISCOUNT, **OPTIONS)
def create_discount(services: WorkerServices, new: dict, operator: str) -> None:
    catalog.create_discount_code(services, operator, NewDiscount.from_message(new))


@worker_actor(DISABLE_DISCOUNT, **OPTIONS)
def disable_discount(services: WorkerServices, code: str, operator: str) -> None:
    catalog.disable_discount_code(services, operator, code)


# The money actions ask Midtrans; an unanswered call is audited and shown, not retried here:
# the owner clicks again (a refund then sends the same refund_key).
@worker_actor(REFUND_ORDER, **OPTIONS)
def refund_order(
    services: WorkerServices, order_id: str, reason: str, amount: int | None, operator: str
) -> None:
    payment_actions.refund_order(services, operator, order_id, reason, amount)


@worker_actor(DECIDE_CHALLENGE, **OPTIONS)
def decide_challenge(
    services: WorkerServices, order_id: str, decision: str, reason: str, operator: str
) -> None:
    payment_actions.decide_challenge(services, operator, order_id, decision, reason)


@worker_actor(CANCEL_PAYMENT, **OPTIONS)
def cancel_payment(services: WorkerServices, order_id: str, reason: str, operator: str) -> None:
    payment_actions.cancel_payment(services, operator, order_id, reason)
