"""What the web asks of the workers, sent by actor name (messaging/contract.py); sending is the
web's only write, and Redis down -> 503."""

from __future__ import annotations

import redis

from messaging.contract import (
    CANCEL_PAYMENT,
    CORRECT_ACCESS,
    CREATE_DISCOUNT,
    CREATE_PAYMENT,
    DECIDE_CHALLENGE,
    DISABLE_DISCOUNT,
    PROCESS_NOTIFICATION,
    PROCESS_WHATSAPP_STATUSES,
    REFUND_ORDER,
    REQUEUE_DEAD_LETTER,
    REQUEUE_OUTBOX_ROW,
    RESEND_MESSAGE,
    SEND_ACCESS_LINK,
    SET_PACKAGE_PRICE,
    pending_checkout_key,
)
from messaging.redis import Enqueuer

PENDING_CHECKOUT_TTL_SECONDS = 3600


class BrokerUnavailable(Exception):
    """Redis did not take the message; the caller answers 503 so the sender retries."""


class TaskQueue:
    """Enqueues work for the workers through the Redis client this app was given, so an outage
    of that Redis is what answers 503."""

    def __init__(self, redis_client: redis.Redis) -> None:
        self._redis = redis_client
        self._enqueuer = Enqueuer(redis_client)

    @property
    def broker(self):
        """The enqueuing broker (no middleware), for reading dead letters."""
        return self._enqueuer.broker

    def submit_checkout(self, order_request: dict) -> None:
        """Remembers the order as 'processing' for the status page, then enqueues it."""
        key = pending_checkout_key(order_request["order_id"])
        with _broker_errors():
            self._redis.set(key, order_request["order_token_hash"], ex=PENDING_CHECKOUT_TTL_SECONDS)
            self._enqueuer.send(CREATE_PAYMENT, order_request)

    def submit_notification(self, raw_notification: dict) -> None:
        with _broker_errors():
            self._enqueuer.send(PROCESS_NOTIFICATION, raw_notification)

    def submit_whatsapp_statuses(self, callback: dict) -> None:
        with _broker_errors():
            self._enqueuer.send(PROCESS_WHATSAPP_STATUSES, callback)

    def request_outbox_requeue(self, outbox_id: int, operator: str) -> None:
        with _broker_errors():
            self._enqueuer.send(REQUEUE_OUTBOX_ROW, outbox_id, operator)

    def request_resend(
        self, order_id: str, template_name: str, channels: list[str], operator: str
    ) -> None:
        with _broker_errors():
            self._enqueuer.send(RESEND_MESSAGE, order_id, template_name, channels, operator)

    def request_access_link(self, channel: str, contact: str) -> None:
        """A customer's "lost link" request; the worker looks the contact up."""
        with _broker_errors():
            self._enqueuer.send(SEND_ACCESS_LINK, {"channel": channel, "contact": contact})

    def request_access_correction(
        self, order_id: str, action: str, reason: str, despite_status: bool, operator: str
    ) -> None:
        with _broker_errors():
            self._enqueuer.send(CORRECT_ACCESS, order_id, action, reason, despite_status, operator)

    def request_refund(self, order_id: str, reason: str, amount: int | None, operator: str) -> None:
        with _broker_errors():
            self._enqueuer.send(REFUND_ORDER, order_id, reason, amount, operator)

    def request_challenge_decision(
        self, order_id: str, decision: str, reason: str, operator: str
    ) -> None:
        with _broker_errors():
            self._enqueuer.send(DECIDE_CHALLENGE, order_id, decision, reason, operator)

    def request_cancel(self, order_id: str, reason: str, operator: str) -> None:
        with _broker_errors():
            self._enqueuer.send(CANCEL_PAYMENT, order_id, reason, operator)

    def request_dead_letter_requeue(self, message_id: str, operator: str) -> None:
        with _broker_errors():
            self._enqueuer.send(REQUEUE_DEAD_LETTER, message_id, operator)

    def request_price_change(self, package_id: str, price_idr: int, operator: str) -> None:
        with _broker_errors():
            self._enqueuer.send(SET_PACKAGE_PRICE, package_id, price_idr, operator)

    def request_discount_creation(self, new: dict, operator: str) -> None:
        with _broker_errors():
            self._enqueuer.send(CREATE_DISCOUNT, new, operator)

    def request_discount_disable(self, code: str, operator: str) -> None:
        with _broker_errors():
            self._enqueuer.send(DISABLE_DISCOUNT, code, operator)

    def pending_checkout_token_hash(self, order_id: str) -> str | None:
        with _broker_errors():
            value = self._redis.get(pending_checkout_key(order_id))
        return value.decode() if isinstance(value, bytes) else value


class _broker_errors:  # noqa: N801 - used as a context manager, reads like one
    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, redis.RedisError):
            raise BrokerUnavailable(str(error)) from error
        return False
