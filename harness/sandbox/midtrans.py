"""Midtrans' Snap create and Status API, answering like the real gateway (codes, bodies, auth)."""

import falcon

from harness.sandbox.config import SandboxConfig
from harness.sandbox.faults import FaultPlan
from harness.sandbox.http_io import answer, basic_auth_user, parse_json, read_bounded, request_entry
from harness.sandbox.notifications import STATUS_FOUND_MESSAGE, transaction_body
from harness.sandbox.snap_validation import snap_errors
from harness.sandbox.state import OrderIdTaken, SandboxState, SnapTransaction

ACCESS_DENIED = "Access denied due to unauthorized transaction, please check client or server key"
ORDER_ID_TAKEN = "transaction_details.order_id sudah digunakan"
SERVER_ERROR = "Sorry, we encountered internal server error. We will fix this soon."
NOT_FOUND_BODY = {"status_code": "404", "status_message": "Transaction doesn't exist."}
# "If you're using BI SNAP and DANA payment methods, please only use Transaction ID to get
# status. Otherwise it won't work." (https://docs.midtrans.com/reference/get-transaction-status)
FOUND_BY_TRANSACTION_ID_ONLY = frozenset({"dana"})
UNAUTHORIZED_STATUS_BODY = {
    "status_code": "401",
    "status_message": "Unknown Merchant server_key/id",
}


def _snap_fault_body(fault: FaultPlan) -> dict:
    return {"error_messages": [SERVER_ERROR if fault.failing_status >= 500 else "Sandbox fault"]}


class SnapTransactionsResource:
    """`POST /snap/v1/transactions`: validate, hand out a token, refuse a used order_id."""

    def __init__(self, state: SandboxState, server_key: str, public_url: str) -> None:
        self.state = state
        self.server_key = server_key
        self.public_url = public_url.rstrip("/")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        raw = read_bounded(req)
        status, document = self._create(req, raw)
        self.state.record(self.state.requests, request_entry(req, raw, status))
        answer(resp, status, document)

    def _create(self, req: falcon.Request, raw: bytes | None) -> tuple[int, dict]:
        fault = self.state.faults["snap"].next_failure()
        if fault is not None:
            return fault.failing_status, _snap_fault_body(fault)
        if basic_auth_user(req) != self.server_key:
            return 401, {"error_messages": [ACCESS_DENIED]}
        if raw is None:
            return 413, {"error_messages": ["Request body too large, maximum is 16 KB"]}
        body = parse_json(raw)
        errors = snap_errors(body)
        if errors:
            return 400, {"error_messages": errors}
        return self._open(body)

    def _open(self, body: dict) -> tuple[int, dict]:
        details = body["transaction_details"]
        try:
            txn = self.state.open_snap(details["order_id"], details["gross_amount"], body)
        except OrderIdTaken:
            return 400, {"error_messages": [ORDER_ID_TAKEN]}
        redirect_url = f"{self.public_url}/snap/v4/redirection/{txn.token}"
        return 201, {"token": txn.token, "redirect_url": redirect_url}


class TransactionStatusResource:
    """`GET /v2/{id}/status`: 404 until a payment method was chosen, then notification fields."""

    def __init__(self, state: SandboxState, server_key: str) -> None:
        self.state = state
        self.server_key = server_key

    def on_get(self, req: falcon.Request, resp: falcon.Response, order_id: str) -> None:
        status, document = self._status(req, order_id)
        self.state.record(self.state.requests, request_entry(req, b"", status))
        answer(resp, status, document)

    def _status(self, req: falcon.Request, order_id: str) -> tuple[int, dict]:
        refusal = core_api_refusal(self.state, "status_api", req, self.server_key)
        if refusal is not None:
            return refusal
        txn = self.state.transaction_by_any_id(order_id)
        if txn is None or not txn.method_chosen or not _answers_to(txn, order_id):
            return 404, NOT_FOUND_BODY
        return 200, transaction_body(txn, self.server_key, STATUS_FOUND_MESSAGE)


def core_api_refusal(
    state: SandboxState, fault_target: str, req: falcon.Request, server_key: str
) -> tuple[int, dict] | None:
    """The Core API's answer before it looks at the transaction: an injected fault, or 401 for
    a wrong server key; None when the call goes on."""
    fault = state.faults[fault_target].next_failure()
    if fault is not None:
        code = str(fault.failing_status)
        return fault.failing_status, {"status_code": code, "status_message": SERVER_ERROR}
    if basic_auth_user(req) != server_key:
        return 401, UNAUTHORIZED_STATUS_BODY
    return None


def _answers_to(txn: SnapTransaction, lookup_id: str) -> bool:
    """Whether the Status API finds this transaction under `lookup_id` (an order id or a
    transaction id): a DANA payment only under its transaction id."""
    return lookup_id == txn.transaction_id or txn.payment_type not in FOUND_BY_TRANSACTION_ID_ONLY


def add_midtrans_routes(
    app: falcon.App, state: SandboxState, config: SandboxConfig, public_url: str
) -> None:
    """Mount the Snap and Status APIs on the sandbox app."""
    app.add_route(
        "/snap/v1/transactions",
        SnapTransactionsResource(state, config.server_key, public_url),
    )
    app.add_route("/v2/{order_id}/status", TransactionStatusResource(state, config.server_key))
