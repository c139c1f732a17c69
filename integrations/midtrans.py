"""A small Midtrans client: Snap create and the Status API, with timeouts and typed errors."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import quote

from config.settings import MidtransSettings
from integrations.errors import DuplicateOrder, RetryableProviderError, TransactionNotFound
from integrations.http import Client, Timeout, json_body, raise_for_status, send

_DUPLICATE_MARKERS = ("sudah digunakan", "already been taken", "already been used")


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

    def close(self) -> None:
        self._snap.close()
        self._api.close()
