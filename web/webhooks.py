"""POST /webhooks/midtrans: verify the signature, enqueue the raw body, answer 200 fast.

The signature is checked before any other field (the contract): a stranger learns nothing about
what a valid body needs. It does not cover transaction_status: the worker asks the Status API
before acting.
"""

from __future__ import annotations

import falcon
from loguru import logger

from integrations.signature import signature_is_valid
from web.body import contains_nul, read_json_object
from web.queue import TaskQueue

MAX_NOTIFICATION_BYTES = 64 * 1024


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
