"""Builders shared by the console tests: outbox rows in a given state, Dramatiq dead letters and
the CSRF token of a signed-in page."""

from __future__ import annotations

import re
import time

import dramatiq
import httpx

from models.base import utcnow
from models.db import connection
from models.outbox import OutboxMessage

# Every console list page (an order's own pages take its id).
CONSOLE_PAGES = (
    "/admin/orders",
    "/admin/outbox",
    "/admin/dead-letters",
    "/admin/discounts",
    "/admin/sales",
    "/admin/health",
)


def make_outbox_row(order_id: str, status: str, template: str = "payment_success") -> int:
    sent = {"sent_at": utcnow()} if status == "SENT" else {}
    history = (
        [
            {
                "attempt": n,
                "at": utcnow().isoformat(),
                "kind": "transient",
                "error": f"SMTP 451 try {n}",
            }
            for n in range(1, 6)
        ]
        if status == "DLQ"
        else []
    )
    with connection():
        return OutboxMessage.insert(
            order=order_id,
            channel="EMAIL",
            template_name=template,
            recipient="budi@example.com",
            payload={"order_id": order_id},
            status=status,
            attempt_count=len(history),
            error_history=history,
            last_error=history[-1]["error"] if history else None,
            **sent,
        ).execute()


def csrf_token(browser: httpx.Client, path: str = "/admin/outbox") -> str:
    page = browser.get(path)
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]


def bury_dead_letter(broker, actor_name: str, args: tuple, queue: str = "notifications") -> str:
    """A dead letter exactly as Dramatiq leaves one, just now: in the queue's XQ zset and hash
    (a running worker's broker drops those older than a week)."""
    message = dramatiq.Message(
        queue_name=queue,
        actor_name=actor_name,
        args=args,
        kwargs={},
        options={"redis_message_id": "redis-id-1", "retries": 3},
    )
    broker.client.zadd(f"dramatiq:{queue}.XQ", {"redis-id-1": int(time.time() * 1000)})
    broker.client.hset(f"dramatiq:{queue}.XQ.msgs", "redis-id-1", message.encode())
    broker.client.set(f"dramatiq:dead-letter-error:{message.message_id}", "TimeoutError: boom")
    return message.message_id
