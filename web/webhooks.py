"""POST /webhooks/midtrans and /webhooks/whatsapp: verify the signature, enqueue the body,
answer 200 fast.

The signature is checked before any other field (the contract): a stranger learns nothing about
what a valid body needs. Midtrans' does not cover transaction_status: the worker asks the Status
API before acting. Meta's covers the raw bytes, so it is checked before they are read as JSON.
"""

from __future__ import annotations

import hmac

import falcon
from loguru import logger

from config.settings import WhatsAppSettings
from integrations.signature import meta_signature_is_valid, signature_is_valid
from web.body import contains_nul, parse_json_object, read_json_object, read_raw_body
from web.queue import TaskQueue

MAX_NOTIFICATION_BYTES = 64 * 1024
# Meta batches statuses (up to about a thousand per callback); a megabyte holds many more.
MAX_WHATSAPP_CALLBACK_BYTES = 1024 * 1024
MAX_CHALLENGE_CHARS = 200


class MidtransWebhookResource:
    def __init__(self, queue: TaskQueue, server_key: str):
        self._queue = queue
        self._server_key = server_key

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        notification = read_json_object(req, MAX_NOTIFICATION_BYTES)
        if not signature_is_valid(notification, self._server_key):
            logger.warning(
                "Rejected a notification with a missing or bad signature for {}",
                str(notification.get("order_id"))[:60],
            )
            raise falcon.HTTPUnauthorized(title="Invalid signature")
        if contains_nul(notification):
            raise falcon.HTTPBadRequest(title="Body contains NUL characters")
        # The signature already needed order_id, status_code and gross_amount as text.
        if not isinstance(notification.get("transaction_status"), str):
            raise falcon.HTTPBadRequest(title="Missing fields", description="transaction_status")
        self._queue.submit_notification(notification)
        logger.info(
            "Notification accepted: {} {}",
            notification["order_id"][:60],
            notification["transaction_status"][:30],
        )
        resp.media = {"status": "accepted"}


class WhatsAppWebhookResource:
    """Meta's webhook for the WhatsApp Business Account: the subscription handshake (GET) and
    the message status callbacks (POST), which a worker stores (tasks/whatsapp_statuses.py)."""

    def __init__(self, queue: TaskQueue, whatsapp: WhatsAppSettings) -> None:
        self._queue = queue
        self._verify_token = whatsapp.verify_token
        self._app_secret = whatsapp.app_secret

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Meta's verification request: echo `hub.challenge` when the token is ours."""
        token = req.get_param("hub.verify_token") or ""
        challenge = req.get_param("hub.challenge") or ""
        subscribing = req.get_param("hub.mode") == "subscribe"
        if not (subscribing and hmac.compare_digest(token.encode(), self._verify_token.encode())):
            raise falcon.HTTPForbidden(title="Verification refused")
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = challenge[:MAX_CHALLENGE_CHARS]

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        raw = read_raw_body(req, MAX_WHATSAPP_CALLBACK_BYTES)
        header = req.get_header("X-Hub-Signature-256")
        if not meta_signature_is_valid(header, raw, self._app_secret):
            logger.warning("Rejected a WhatsApp callback with a missing or bad signature")
            raise falcon.HTTPUnauthorized(title="Invalid signature")
        callback = parse_json_object(raw)
        if contains_nul(callback):
            raise falcon.HTTPBadRequest(title="Body contains NUL characters")
        self._queue.submit_whatsapp_statuses(callback)
        resp.media = {"status": "accepted"}
