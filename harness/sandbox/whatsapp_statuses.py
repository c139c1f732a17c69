"""Meta's message status callbacks, sent to the shop's `/webhooks/whatsapp` the way Meta sends
them: a `whatsapp_business_account` body with `entry[].changes[].value.statuses[]`, signed in
`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret), echoing the send's
`biz_opaque_callback_data`."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import falcon
import httpx

from harness.sandbox.http_io import answer, read_json_object
from harness.sandbox.state import SandboxState
from integrations.signature import meta_signature

CALLBACK_TIMEOUT_SECONDS = 5.0
# What Meta reports for a number that has no WhatsApp (the fault's asynchronous failure).
UNDELIVERABLE = (131026, "Message undeliverable")
STATUSES = ("sent", "delivered", "read", "failed")
RETRY_WAITS_SECONDS = (1, 2, 4, 8, 15, 30, 0)


def status_callback(message: dict, status: str, business_account_id: str, error=None) -> dict:
    """One callback body about one stored message (see whatsapp.stored_message)."""
    item = {
        "id": message["id"],
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": message["to"],
    }
    callback_data = message["body"].get("biz_opaque_callback_data")
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    if status == "failed":
        code, title = error or UNDELIVERABLE
        item["errors"] = [
            {"code": code, "title": title, "message": title, "error_data": {"details": title}}
        ]
    metadata = {
        "display_phone_number": "6281200000000",
        "phone_number_id": message["phone_number_id"],
    }
    value = {"messaging_product": "whatsapp", "metadata": metadata, "statuses": [item]}
    change = {"value": value, "field": "messages"}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": business_account_id, "changes": [change]}],
    }


class StatusCallbacks:
    """Posts signed status callbacks to the shop; the automatic ones in a background thread."""

    def __init__(self, state: SandboxState, url: str, app_secret: str, automatic: tuple) -> None:
        self.state = state
        self.url = url
        self.app_secret = app_secret
        self.automatic = tuple(automatic)

    def after_accept(self, message: dict, fails_later: bool) -> None:
        """What Meta reports on its own once it took a message: `failed` for a message the
        fault fails asynchronously, else the configured statuses (none by default)."""
        statuses = ("failed",) if fails_later else self.automatic
        if statuses:
            threading.Thread(target=self._post_all, args=(message, statuses), daemon=True).start()

    def _post_all(self, message: dict, statuses: tuple) -> None:
        for status in statuses:
            self._post_until_taken(message, status)

    def _post_until_taken(self, message: dict, status: str) -> None:
        """Meta retries a callback the shop did not take (for days, backing off); the sandbox
        for about a minute, enough for a web restart in a hostile run."""
        for wait in RETRY_WAITS_SECONDS:
            with contextlib.suppress(httpx.HTTPError):
                if self.post(message, status) == 200:
                    return
            time.sleep(wait)

    def post(self, message: dict, status: str, error=None) -> int:
        """Sends one callback; returns the shop's HTTP status."""
        body = status_callback(message, status, self.state.whatsapp_business_account_id, error)
        raw = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(raw, self.app_secret),
        }
        response = httpx.post(
            self.url, content=raw, headers=headers, timeout=CALLBACK_TIMEOUT_SECONDS
        )
        return response.status_code


class StatusCallbackResource:
    """`POST /_sandbox/whatsapp/statuses` {"id": wamid, "status": ..., "error_code": optional}:
    Meta's callback for a stored message, sent now; answers with the shop's HTTP status."""

    def __init__(self, state: SandboxState, callbacks: StatusCallbacks) -> None:
        self.state = state
        self.callbacks = callbacks

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        request = read_json_object(req)
        if request.get("status") not in STATUSES:
            raise falcon.HTTPBadRequest(title=f"status must be one of {STATUSES}")
        message = self._message(request.get("id"))
        code = request.get("error_code")
        error = (code, "Message failed") if isinstance(code, int) else None
        try:
            shop_status = self.callbacks.post(message, request["status"], error)
        except httpx.HTTPError as failure:
            raise falcon.HTTPBadGateway(title=f"the shop did not answer: {failure}") from None
        answer(resp, 200, {"shop_status": shop_status})

    def _message(self, message_id: object) -> dict:
        for message in self.state.listed(self.state.whatsapp_messages):
            if message["id"] == message_id:
                return message
        raise falcon.HTTPNotFound(title=f"no stored WhatsApp message {message_id}")
