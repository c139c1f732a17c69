"""Midtrans' actions on a transaction: refund, approve, deny, cancel, expire, answering and
notifying as Midtrans' reference pages describe them:
https://docs.midtrans.com/reference/refund-transaction (refund_key, 406 on a repeated key,
refunds[] with bank_confirmed_at once the bank confirmed),
https://docs.midtrans.com/reference/approve-transaction and /deny-transaction (a card payment
held with fraud_status challenge; 412 "Merchant cannot modify the status of the transaction"
otherwise), https://docs.midtrans.com/reference/cancel-transaction (before settlement) and
https://docs.midtrans.com/reference/expire-transaction (a pending payment; its success is
status_code 407)."""

from __future__ import annotations

import uuid
from datetime import datetime

import falcon

from harness.sandbox.http_io import answer, parse_json, read_bounded, request_entry
from harness.sandbox.midtrans import NOT_FOUND_BODY, core_api_refusal
from harness.sandbox.notifications import gross_amount_text, transaction_body
from harness.sandbox.payments import JAKARTA, PaymentSimulator, jakarta_time_text
from harness.sandbox.state import SandboxState, SnapTransaction

REFUNDABLE = frozenset(
    {"credit_card", "gopay", "shopeepay", "qris", "dana", "ovo", "kredivo", "akulaku"}
)
CANNOT_MODIFY = {
    "status_code": "412",
    "status_message": "Merchant cannot modify the status of the transaction",
}
DUPLICATE_REFUND_KEY = {"status_code": "406", "status_message": "Duplicate refund_key"}
ACTION_MESSAGES = {
    "approve": "Success, transaction is approved",
    "deny": "Success, transaction is denied",
    "cancel": "Success, transaction is canceled",
    "expire": "Success, transaction has expired",
}
ACTION_CODES = {"approve": "200", "deny": "200", "cancel": "200", "expire": "407"}


def _challenged(txn: SnapTransaction) -> bool:
    return txn.transaction_status == "capture" and txn.fraud_status == "challenge"


# action -> (whether the transaction allows it, the fields it changes)
ACTION_RULES = {
    "approve": (_challenged, {"fraud_status": "accept"}),
    "deny": (_challenged, {"transaction_status": "deny", "fraud_status": "deny"}),
    "cancel": (
        lambda txn: txn.transaction_status in ("pending", "capture", "authorize"),
        {"transaction_status": "cancel"},
    ),
    "expire": (lambda txn: txn.transaction_status == "pending", {"transaction_status": "expire"}),
}


class _ActionBase:
    """Auth, faults, the transaction lookup and the recorded request, shared by the actions."""

    def __init__(self, state: SandboxState, simulator: PaymentSimulator, server_key: str):
        self.state = state
        self.simulator = simulator
        self.server_key = server_key

    def on_post(self, req: falcon.Request, resp: falcon.Response, order_id: str) -> None:
        raw = read_bounded(req) or b""
        status, document = self._answer(req, order_id, parse_json(raw))
        self.state.record(self.state.requests, request_entry(req, raw, status))
        answer(resp, status, document)

    def _answer(self, req, order_id: str, body) -> tuple[int, dict]:
        refusal = core_api_refusal(self.state, "actions", req, self.server_key)
        if refusal is not None:
            return refusal
        txn = self.state.transaction_by_any_id(order_id)
        if txn is None or not txn.method_chosen:
            return 404, NOT_FOUND_BODY
        with self.state.lock:  # one action at a time per sandbox: a double click races here
            return self._apply(self.state.transaction(txn.order_id), body)

    def _notify(self, txn: SnapTransaction) -> None:
        self.simulator.deliver(transaction_body(txn, self.server_key, "midtrans notification"))


class TransactionActionResource(_ActionBase):
    """`POST /v2/{id}/approve|deny|cancel|expire`."""

    def __init__(self, state, simulator, server_key, action: str) -> None:
        super().__init__(state, simulator, server_key)
        self.action = action

    def _apply(self, txn: SnapTransaction, body) -> tuple[int, dict]:
        allowed, changes = ACTION_RULES[self.action]
        if not allowed(txn):
            return 200, CANNOT_MODIFY  # Midtrans answers this refusal with HTTP 200
        updated = self.state.update_transaction(txn.order_id, **changes)
        self._notify(updated)
        done = transaction_body(updated, self.server_key, ACTION_MESSAGES[self.action])
        return 200, done | {"status_code": ACTION_CODES[self.action]}


class RefundResource(_ActionBase):
    """`POST /v2/{id}/refund`: a settled payment of a refundable method, in full or in part,
    once per refund_key; two notifications, the second with bank_confirmed_at."""

    def _apply(self, txn: SnapTransaction, body) -> tuple[int, dict]:
        body = body if isinstance(body, dict) else {}
        if txn.payment_type not in REFUNDABLE:
            return 200, CANNOT_MODIFY | {"status_message": "Payment type cannot be refunded"}
        if txn.transaction_status not in ("settlement", "partial_refund"):
            return 200, CANNOT_MODIFY
        key = str(body.get("refund_key") or uuid.uuid4())
        if any(refund["refund_key"] == key for refund in txn.refunds):
            return 200, DUPLICATE_REFUND_KEY
        remaining = txn.gross_amount - sum(_rupiah(r["refund_amount"]) for r in txn.refunds)
        amount = body.get("amount", remaining)
        if not isinstance(amount, int) or not 0 < amount <= remaining:
            return 200, CANNOT_MODIFY | {"status_message": "Refund amount exceeds the remaining"}
        refund = _new_refund(txn, key, amount, str(body.get("reason") or ""))
        status = "refund" if amount == remaining else "partial_refund"
        asked = self.state.update_transaction(
            txn.order_id, transaction_status=status, refunds=(*txn.refunds, refund)
        )
        self._notify(asked)  # Midtrans' first notification: the refund, not yet confirmed
        confirmed = {**refund, "bank_confirmed_at": jakarta_time_text(datetime.now(JAKARTA))}
        done = self.state.update_transaction(txn.order_id, refunds=(*txn.refunds, confirmed))
        self._notify(done)  # and the second, once the bank confirmed it
        return 200, _refund_answer(asked, refund)


def _rupiah(amount_text: str) -> int:
    return int(float(amount_text))


def _new_refund(txn: SnapTransaction, key: str, amount: int, reason: str) -> dict:
    return {
        "refund_chargeback_id": len(txn.refunds) + 1,
        "refund_chargeback_uuid": str(uuid.uuid4()),
        "refund_amount": f"{amount}.00",
        "created_at": jakarta_time_text(datetime.now(JAKARTA)),
        "reason": reason,
        "refund_key": key,
        "refund_method": "online",
    }


def _refund_answer(txn: SnapTransaction, refund: dict) -> dict:
    """The refund API's success body: the transaction and this refund at the top level."""
    return {
        "status_code": "200",
        "status_message": "Success, refund request is approved",
        "transaction_id": txn.transaction_id,
        "order_id": txn.order_id,
        "gross_amount": gross_amount_text(txn),
        "currency": "IDR",
        "payment_type": txn.payment_type,
        "transaction_time": txn.transaction_time,
        "transaction_status": txn.transaction_status,
        "refund_chargeback_id": refund["refund_chargeback_id"],
        "refund_amount": refund["refund_amount"],
        "refund_key": refund["refund_key"],
    }


def add_action_routes(
    app: falcon.App, state: SandboxState, simulator: PaymentSimulator, server_key: str
) -> None:
    """Mount the refund and the four status actions on the sandbox app."""
    app.add_route("/v2/{order_id}/refund", RefundResource(state, simulator, server_key))
    for action in ACTION_RULES:
        resource = TransactionActionResource(state, simulator, server_key, action)
        app.add_route(f"/v2/{{order_id}}/{action}", resource)
