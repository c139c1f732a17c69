"""Midtrans as the workers call it: the client behind its provider guard, and the Status API's
answer about an order (by its order id, else by the transaction ids Midtrans gave for it)."""

from __future__ import annotations

import redis
from loguru import logger

from config.settings import MidtransSettings
from integrations.errors import TransactionNotFound
from integrations.guard import ProviderGuard, provider_guard
from integrations.midtrans import MidtransClient, SnapPayment
from messaging.contract import NAMESPACE, SNAP_CIRCUIT, STATUS_API_CIRCUIT
from models.events import known_transaction_ids

MIDTRANS_BREAKER_FAIL_MAX = 5
MIDTRANS_BREAKER_RESET_SECONDS = 30


class GuardedMidtrans:
    """Midtrans behind its provider guards: an outage fails fast (ProviderUnavailable, retried
    later) instead of tying up every worker, and bursts stay under the one outbound limit."""

    def __init__(self, client: MidtransClient, snap: ProviderGuard, status: ProviderGuard) -> None:
        self._client = client
        self._snap = snap
        self._status = status

    def create_snap_payment(self, request_body: dict) -> SnapPayment:
        return self._snap.call(self._client.create_snap_payment, request_body)

    def transaction_status(self, order_id: str) -> dict:
        return self._status.call(self._client.transaction_status, order_id)

    # The actions go to the same Core API as the Status API, behind its circuit.
    def refund(self, order_id: str, refund_key: str, amount: int, reason: str) -> dict:
        return self._status.call(self._client.refund, order_id, refund_key, amount, reason)

    def act(self, order_id: str, action: str) -> dict:
        return self._status.call(self._client.act, order_id, action)


def guarded_midtrans(midtrans: MidtransSettings, redis_client: redis.Redis) -> GuardedMidtrans:
    """The worker's Midtrans client (its connection pools are thread-safe)."""
    client = MidtransClient(midtrans)

    def guard(circuit: str, call_name: str) -> ProviderGuard:
        return provider_guard(
            redis_client,
            "midtrans",
            fail_max=MIDTRANS_BREAKER_FAIL_MAX,
            reset_seconds=MIDTRANS_BREAKER_RESET_SECONDS,
            per_second=midtrans.rate_per_second,
            namespace=NAMESPACE,
            circuit=circuit,
            call_name=call_name,
        )

    return GuardedMidtrans(
        client,
        guard(SNAP_CIRCUIT, "snap_create"),
        guard(STATUS_API_CIRCUIT, "transaction_status"),
    )


class AttemptNotFound(TransactionNotFound):
    """Midtrans reported a payment attempt for the order, yet the Status API finds it under
    none of its ids: in doubt, which is never a reason to expire the order."""


def status_answer(
    midtrans: GuardedMidtrans, order_id: str, transaction_id: str | None = None
) -> dict:
    """The Status API's answer about the order, asked by its order id first: that names the
    order's latest attempt. DANA and BI-SNAP payments answer only to their transaction_id
    ("please only use Transaction ID to get status",
    https://docs.midtrans.com/reference/get-transaction-status), so on a 404 the ids Midtrans gave
    for this order are asked, `transaction_id` first, then the newest. Raises
    TransactionNotFound when no id was ever given, AttemptNotFound when none is found."""
    try:
        return midtrans.transaction_status(order_id)
    except TransactionNotFound:
        pass
    known = dict.fromkeys([transaction_id, *known_transaction_ids(order_id)])
    candidates = [candidate for candidate in known if candidate]
    for candidate in candidates:
        answer = _answer_about(midtrans, order_id, candidate)
        if answer is not None:
            return answer
    if candidates:
        raise AttemptNotFound(order_id)
    raise TransactionNotFound(order_id)


def _answer_about(midtrans: GuardedMidtrans, order_id: str, transaction_id: str) -> dict | None:
    """The Status API's answer for one transaction id, when it is about this order (the id may
    come from an unsigned body); None when not found."""
    try:
        answer = midtrans.transaction_status(transaction_id)
    except TransactionNotFound:
        return None
    if answer.get("order_id") != order_id:
        logger.warning("Transaction {} belongs to another order; ignored", transaction_id)
        return None
    return answer
