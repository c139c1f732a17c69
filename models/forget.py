"""A person's request to be forgotten (UU PDP Pasal 8), in two steps so they hear of it first.

1. `request_forget`: refused while one of their payments is still open; otherwise queues the
   goodbye message (`data_erased`, on both channels, attached to their newest order) through
   the normal delivery, and audits the request: the order ids and the reason, no contact.
2. `complete_forget`: once every goodbye row is final (SENT, or given up as FAILED/DLQ, which
   the retry schedule reaches within the hour), ends their access, cancels their other unsent
   messages and pseudonymises every order of the request (models/erasure.py). The command line
   waits for it; the sweeper completes what a command left waiting (`pending_erasures`).

Each paid order keeps its money trail: id, amounts, dates, method, status, receipt columns."""

from __future__ import annotations

from models.audit import AuditEntry, record_audit
from models.entitlements import revoke_entitlement
from models.erasure import Erasure, new_placeholders, pseudonymise_orders, scrub_unlinked_rows
from models.orders import Order
from models.outbox import OutboxMessage, queue_message
from models.payments import order_payload
from models.personal_data import (
    Person,
    locked_orders,
    not_pseudonymised,
    person_of,
    pseudonymised,
)
from models.statuses import AWAITING_PAYMENT, OutboxStatus

GOODBYE = "data_erased"
REQUESTED = "personal_data_erasure_requested"
ERASED = "personal_data_erased"
FINAL = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DLQ)
UNSENT = (OutboxStatus.PENDING, OutboxStatus.RETRYING)
REVOKE_REASON = "personal data erased on the customer's request"


class ForgetRefused(Exception):
    """The request cannot be carried out now; the message says why, for the operator."""


def request_forget(person: Person, reason: str, actor: str) -> tuple[str, list[int]]:
    """Queues the goodbye and audits the request (once); returns the order carrying the goodbye
    and the new outbox rows to wake after commit. Call inside a transaction."""
    orders = locked_orders(person.order_ids)
    still_open = [order.order_id for order in orders if order.status in AWAITING_PAYMENT]
    if still_open:
        raise ForgetRefused(
            f"a payment is still open ({', '.join(still_open)}): wait until it is paid or "
            "expires, then ask again"
        )
    newest = max(orders, key=lambda order: (order.created_at, order.order_id))
    if _goodbye_rows(newest.order_id):
        return newest.order_id, []  # asked before: the first request stands
    outbox_ids = queue_message(newest, GOODBYE, order_payload(newest))
    record_audit(actor, REQUESTED, newest.order_id, orders=list(person.order_ids), reason=reason)
    return newest.order_id, outbox_ids


def _goodbye_rows(order_id: str) -> list[OutboxMessage]:
    return list(
        OutboxMessage.select().where(
            (OutboxMessage.order == order_id)
            & (OutboxMessage.template_name == GOODBYE)
            & OutboxMessage.resend_of.is_null()
        )
    )


def complete_forget(goodbye_order_id: str, actor: str) -> bool:
    """Erases the request's orders once its goodbye is final; False while it is still on its
    way. Idempotent: an erased request is done. Call inside a transaction."""
    request = (
        AuditEntry.select()
        .where((AuditEntry.order_id == goodbye_order_id) & (AuditEntry.action == REQUESTED))
        .order_by(AuditEntry.id.desc())
        .first()
    )
    if request is None:
        return False
    orders = [
        order for order in locked_orders(request.details["orders"]) if not pseudonymised(order)
    ]
    if not orders:
        return True
    if any(row.status not in FINAL for row in _goodbye_rows(goodbye_order_id)):
        return False
    _erase(person_of(orders), request.id, actor)
    return True


def _erase(person: Person, request_id: int, actor: str) -> None:
    ids = list(person.order_ids)
    for order_id in ids:
        revoke_entitlement(order_id, REVOKE_REASON)
    OutboxMessage.update(
        status=OutboxStatus.FAILED, last_error="cancelled: personal data erased", next_retry_at=None
    ).where(OutboxMessage.order.in_(ids) & OutboxMessage.status.in_(UNSENT)).execute()
    for order_id in ids:
        record_audit(actor, ERASED, order_id, request=request_id)
    stand_in = new_placeholders()
    erasures = [
        Erasure(order_id, person.emails, person.phones, person.names, stand_in) for order_id in ids
    ]
    pseudonymise_orders(erasures)
    scrub_unlinked_rows(erasures[0])


def pending_erasures() -> list[str]:
    """Orders carrying a goodbye whose request is not erased yet (for the sweeper)."""
    query = (
        OutboxMessage.select(OutboxMessage.order)
        .join(Order, on=(OutboxMessage.order == Order.order_id))
        .where((OutboxMessage.template_name == GOODBYE) & not_pseudonymised())
        .distinct()
    )
    return [row.order_id for row in query]
