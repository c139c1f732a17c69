"""A small Midtrans client: Snap create, the Status API and the actions on a transaction
(refund, approve, deny, cancel, expire), with timeouts and typed errors."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from urllib.parse import quote

from config.settings import MidtransSettings
from integrations.errors import (
    ActionRefused,
    AlreadyDone,
    DuplicateOrder,
    RetryableProviderError,
    TransactionNotFound,
)
from integrations.http import Client, Timeout, json_body, raise_for_status, send

_DUPLICATE_MARKERS = ("sudah digunakan", "already been taken", "already been used")
# Midtrans keeps an Idempotency-Key 5 minutes, for every endpoint alike, and ignores one longer
# than 46 characters; a retry while the first call is still running answers HTTP 202
# (https://docs.midtrans.com/reference/api-headers).
IDEMPOTENCY_KEY_LENGTH = 46
# The actions on a transaction (https://docs.midtrans.com/reference/approve-transaction,
# /deny-transaction, /cancel-transaction, /expire-transaction): POST, no body.
ACTIONS = ("approve", "deny", "cancel", "expire")
# The body's status_code of a done action: 200, and 407 "Success, transaction has expired" for
# expire (https://docs.midtrans.com/reference/expire-transaction).
DONE_CODES = {"refund": {"200"}, "approve": {"200"}, "deny": {"200"}, "cancel": {"200"},
              "expire": {"200", "407"}}  # fmt: skip


@dataclass(frozen=True)
class SnapPayment:
    token: str
    redirect_url: str


def _basic_auth(server_key: str) -> str:
    return "Basic " + base64.b64encode(f"{server_key}:".encode()).decode()


class MidtransClient:
    """The calls we need, over kept-alive connections with explicit connect/read timeouts."""

    def __init__(self, midtrans: MidtransSettings, timeout: Timeout | None = None) -> None:
        headers = {
            "Authorization": _basic_auth(midtrans.server_key),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        extra = {"timeout": timeout} if timeout else {}
        self._snap = Client(midtrans.snap_base_url, headers, **extra)
        self._api = Client(midtrans.api_base_url, headers, **extra)

    def create_snap_payment(self, request_body: dict) -> SnapPayment:
        """POST /transactions; raises DuplicateOrder when the order_id is already used."""
        response = send(self._snap, "POST", "/transactions", json=request_body)
        body = json_body(response)
        messages = " ".join(str(m) for m in body.get("error_messages") or [])
        if response.status_code == 400 and any(m in messages for m in _DUPLICATE_MARKERS):
            raise DuplicateOrder(messages)
        raise_for_status(response, messages)
        if not body.get("token") or not body.get("redirect_url"):
            raise RetryableProviderError("POST /transactions: no token in the answer")
        return SnapPayment(token=body["token"], redirect_url=body["redirect_url"])

    def transaction_status(self, order_id: str) -> dict:
        """GET /v2/{order_id}/status; raises TransactionNotFound before a method was picked."""
        response = send(self._api, "GET", f"/v2/{quote(order_id, safe='')}/status")
        body = json_body(response)
        if response.status_code == 404 or body.get("status_code") == "404":
            raise TransactionNotFound(order_id)
        raise_for_status(response, str(body.get("status_message") or ""))
        return body

    def refund(self, order_id: str, refund_key: str, amount: int, reason: str) -> dict:
        """POST /v2/{order_id}/refund (https://docs.midtrans.com/reference/refund-transaction):
        the same refund_key again refunds nothing more (406, AlreadyDone). The one endpoint
        for every refundable method: Midtrans routes the methods needing a direct refund
        (/refund/online/direct, https://docs.midtrans.com/reference/direct-refund-transaction)
        itself. Raises ActionRefused for 412/414 and other refusals."""
        body = {"refund_key": refund_key, "amount": amount, "reason": reason}
        return self._act(order_id, "refund", refund_key, body)

    def act(self, order_id: str, action: str) -> dict:
        """POST /v2/{order_id}/{approve|deny|cancel|expire}; Midtrans' answer (the
        transaction's new state), or ActionRefused (412: this status cannot change so)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown Midtrans action {action!r}")
        key = f"{action}-{hashlib.sha256(order_id.encode()).hexdigest()}"
        return self._act(order_id, action, key, None)

    def _act(self, order_id: str, action: str, key: str, body: dict | None) -> dict:
        """One action; Midtrans answers some refusals with HTTP 200 and the code in the body,
        so both are read."""
        headers = {"Idempotency-Key": key[:IDEMPOTENCY_KEY_LENGTH]}
        path = f"/v2/{quote(order_id, safe='')}/{action}"
        response = send(self._api, "POST", path, json=body or {}, headers=headers)
        answer = json_body(response)
        code = str(answer.get("status_code") or response.status_code)
        message = str(answer.get("status_message") or "")
        if response.status_code == 404 or code == "404":
            raise TransactionNotFound(order_id)
        if code == "406":
            raise AlreadyDone(message or "duplicate refund_key")
        said = f"POST {action}: {code} {message}".strip()
        if response.status_code == 200 and code in DONE_CODES[action]:
            return answer
        if code.startswith("5") or response.status_code in (202, 408, 429):
            raise RetryableProviderError(said)  # 202: the same call still running at Midtrans
        raise ActionRefused(said)

    def close(self) -> None:
        self._snap.close()
        self._api.close()
