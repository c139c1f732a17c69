"""What happens when a customer pays (or not): the state change and the signed notification."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx

from harness.sandbox.notifications import (
    NOTIFICATION_MESSAGE,
    STATUS_CODE_BY_TRANSACTION_STATUS,
    sign_body,
    transaction_body,
)
from harness.sandbox.state import SandboxState, SnapTransaction

log = logging.getLogger(__name__)

JAKARTA = timezone(timedelta(hours=7))
NOTIFICATION_TIMEOUT_SECONDS = 10
TRANSACTION_STATUSES = frozenset(STATUS_CODE_BY_TRANSACTION_STATUS)
DEFAULT_PAYMENT_TYPE = {"capture": "credit_card", "authorize": "credit_card", "deny": "credit_card"}


class InvalidTransition(ValueError):
    """A transition request the sandbox cannot apply; answered with 400."""


class UnknownOrder(LookupError):
    """A transition for an order_id Snap never saw; answered with 404."""


@dataclass(frozen=True)
class Transition:
    """A change the customer (or Midtrans) causes, as the pay page or a test describes it."""

    transaction_status: str
    payment_type: str | None = None
    fraud_status: str | None = None
    gross_amount: str | None = None
    original_amount: str | int | None = None
    refund_amount: str | int | None = None  # a refund of this amount joins the refunds list

    def __post_init__(self) -> None:
        if self.transaction_status not in TRANSACTION_STATUSES:
            raise InvalidTransition(f"unknown transaction_status {self.transaction_status!r}")


PAY_PAGE_ACTIONS = {
    "settle_va": Transition("settlement", "bank_transfer"),
    "settle_qris": Transition("settlement", "qris"),
    "settle_card": Transition("capture", "credit_card", "accept"),
    "pending": Transition("pending", "bank_transfer"),
    "deny": Transition("deny"),
    "cancel": Transition("cancel"),
    "expire": Transition("expire"),
}


def jakarta_time_text(moment: datetime) -> str:
    """Midtrans' timestamp format, in Jakarta time."""
    return moment.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M:%S")


def _amount_text(amount: str | int) -> str:
    """Integers become Midtrans' '99000.00'; strings are kept exactly as the test gave them."""
    return amount if isinstance(amount, str) else f"{amount}.00"


def _changes_for(txn: SnapTransaction, transition: Transition) -> dict:
    """The new field values of a transaction after a transition."""
    now = datetime.now(JAKARTA)
    payment_type = (
        transition.payment_type
        or txn.payment_type
        or DEFAULT_PAYMENT_TYPE.get(transition.transaction_status, "bank_transfer")
    )
    changes = {
        "transaction_status": transition.transaction_status,
        "payment_type": payment_type,
        "fraud_status": _fraud_status(txn, transition, payment_type),
        "transaction_id": txn.transaction_id or str(uuid.uuid4()),
        "transaction_time": txn.transaction_time or jakarta_time_text(now),
        "expiry_time": txn.expiry_time or jakarta_time_text(now + timedelta(days=1)),
    }
    if transition.transaction_status == "settlement":
        changes["settlement_time"] = jakarta_time_text(now)
    if transition.gross_amount is not None:
        changes["gross_amount_text"] = transition.gross_amount
    if transition.original_amount is not None:
        changes["original_amount"] = _amount_text(transition.original_amount)
    if transition.refund_amount is not None:
        changes["refunds"] = (*txn.refunds, _refund(txn, transition.refund_amount, now))
    return changes


def _refund(txn: SnapTransaction, amount: str | int, now: datetime) -> dict:
    """One refund as Midtrans lists it in `refunds[]`, confirmed by the bank at once."""
    number = len(txn.refunds) + 1
    return {
        "refund_chargeback_id": number,
        "refund_chargeback_uuid": str(uuid.uuid4()),
        "refund_amount": _amount_text(amount),
        "created_at": jakarta_time_text(now),
        "reason": "sandbox refund",
        "refund_key": f"{txn.order_id}-refund-{number}",
        "refund_method": "online",
        "bank_confirmed_at": jakarta_time_text(now),
    }


def _fraud_status(txn: SnapTransaction, transition: Transition, payment_type: str) -> str | None:
    """Cards always carry a fraud verdict; other methods only when a test asks for one."""
    if transition.fraud_status is not None:
        return transition.fraud_status
    if txn.payment_type == payment_type and txn.fraud_status is not None:
        return txn.fraud_status
    if payment_type != "credit_card":
        return None
    return "deny" if transition.transaction_status == "deny" else "accept"


class PaymentSimulator:
    """Moves transactions and notifies the merchant like Midtrans does (one attempt, no retry)."""

    def __init__(self, state: SandboxState, server_key: str, notification_url: str) -> None:
        self.state = state
        self.server_key = server_key
        self.notification_url = notification_url
        # One client for every notification: building an httpx client costs ~20 ms of CPU
        # (its TLS context), more than the merchant spends on the notification. Like Midtrans,
        # each notification still opens its own connection.
        self._client = httpx.Client(
            timeout=NOTIFICATION_TIMEOUT_SECONDS,
            headers={"User-Agent": "Veritrans"},
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def transition(self, order_id: str, transition: Transition, notify: bool = True) -> dict:
        """Apply the change, then send the signed notification unless told not to."""
        txn = self.state.transaction(order_id)
        if txn is None:
            raise UnknownOrder(order_id)
        updated = self.state.update_transaction(order_id, **_changes_for(txn, transition))
        notification = transaction_body(updated, self.server_key, NOTIFICATION_MESSAGE)
        delivery_status = self.deliver(notification) if notify else None
        return {"notification": notification, "delivery_status": delivery_status}

    def send_raw(self, body: dict, sign: bool) -> dict:
        """Send an arbitrary body (duplicates, relabelled or stale ones) without touching state."""
        notification = sign_body(body, self.server_key) if sign else body
        return {"notification": notification, "delivery_status": self.deliver(notification)}

    def deliver(self, notification: dict) -> int | None:
        """POST the notification; the merchant's HTTP status, or None if it could not be reached."""
        try:
            response = self._client.post(self.notification_url, json=notification)
        except httpx.HTTPError as error:
            log.warning("notification to %s failed: %s", self.notification_url, error)
            return None
        log.info("notification %s -> HTTP %s", notification.get("order_id"), response.status_code)
        return response.status_code
