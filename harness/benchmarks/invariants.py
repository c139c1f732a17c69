"""What the customers got, read from PostgreSQL and the sandbox's inboxes: when each success
message arrived, and the invariants: 0 lost, 0 doubled.

Lost: a checkout answered 202 without an order and its payment link; a settled payment without
PAID and active access; a paid order without its success email or WhatsApp message at the
inbox. Doubled: more than one entitlement, outbox row or delivered message per order, channel
and message.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import datetime

import httpx
import psycopg2

from harness.benchmarks.load import OrderRecord

SUCCESS = "payment_success"
MESSAGE_ID = re.compile(r"<outbox-(\d+)@")

ROWS_QUERY = """
SELECT o.order_id, o.status, o.redirect_url IS NOT NULL,
       (SELECT count(*) FROM entitlements e WHERE e.order_id = o.order_id AND e.status = 'ACTIVE'),
       (SELECT count(*) FROM entitlements e WHERE e.order_id = o.order_id)
FROM orders o WHERE o.order_id = ANY(%s)
"""
OUTBOX_QUERY = """
SELECT id, order_id, channel, template_name, status FROM notification_outbox
WHERE order_id = ANY(%s)
"""


def _query(database_url: str, sql: str, *params) -> list[tuple]:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def paid_records(records: list[OrderRecord]) -> list[OrderRecord]:
    """The orders whose payment the sandbox settled and notified."""
    return [record for record in records if record.order_id and record.paid_sent]


def wait_for_deliveries(database_url: str, records: list[OrderRecord], timeout: float) -> bool:
    """Waits until every paid order's success messages are SENT (or `timeout` passes)."""
    order_ids = [record.order_id for record in paid_records(records)]
    wanted = 2 * len(order_ids)
    deadline = time.monotonic() + timeout
    sql = (
        "SELECT count(*) FROM notification_outbox WHERE order_id = ANY(%s) "
        "AND template_name = %s AND status = 'SENT'"
    )
    while True:
        if _query(database_url, sql, order_ids, SUCCESS)[0][0] >= wanted:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)


def _unix(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


class Inbox:
    """The sandbox's mail and WhatsApp inboxes, by order and message."""

    def __init__(self, sandbox_url: str, database_url: str, records: list[OrderRecord]) -> None:
        order_ids = [record.order_id for record in records if record.order_id]
        self.outbox = _query(database_url, OUTBOX_QUERY, order_ids)
        template_of = {row[0]: (row[1], row[3]) for row in self.outbox}
        phone_to_order = {
            f"62812{record.number:08d}": record.order_id for record in records if record.order_id
        }
        self.counts: Counter = Counter()  # (order_id, channel, template) -> messages received
        self.arrived: dict[tuple[str, str], float] = {}  # (order_id, channel) -> success time
        mails = httpx.get(f"{sandbox_url}/_sandbox/mail", timeout=60).json()
        for mail in mails:
            found = MESSAGE_ID.search(mail.get("message_id") or "")
            if found and int(found[1]) in template_of:
                order_id, template = template_of[int(found[1])]
                self._count(order_id, "EMAIL", template, mail["received_at"])
        messages = httpx.get(f"{sandbox_url}/_sandbox/whatsapp", timeout=60).json()
        for message in messages:
            order_id = phone_to_order.get(message["to"])
            if order_id:
                self._count(order_id, "WHATSAPP", message["template"], message["received_at"])

    def _count(self, order_id: str, channel: str, template: str, received_at: str) -> None:
        self.counts[(order_id, channel, template)] += 1
        if template == SUCCESS:
            self.arrived[(order_id, channel)] = _unix(received_at)

    def stamp_deliveries(self, records: list[OrderRecord]) -> None:
        """Sets each paid order's delivered_at: when its second success message arrived."""
        for record in paid_records(records):
            times = [self.arrived.get((record.order_id, c)) for c in ("EMAIL", "WHATSAPP")]
            record.delivered_at = max(times) if None not in times else None


def check(database_url: str, inbox: Inbox, records: list[OrderRecord]) -> dict:
    """Counts lost and doubled outcomes over every order the run made; lists the first few."""
    accepted = [record for record in records if record.checkout_status == 202]
    rows = {row[0]: row for row in _query(database_url, ROWS_QUERY, [r.order_id for r in accepted])}
    outbox_rows = Counter((row[1], row[2], row[3]) for row in inbox.outbox)
    lost, doubled = [], []
    for record in accepted:
        row = rows.get(record.order_id)
        if row is None or not row[2]:
            lost.append(f"{record.order_id}: no order with a payment link")
        elif row[4] > 1:
            doubled.append(f"{record.order_id}: {row[4]} entitlements")
    accepted_ids = {record.order_id for record in accepted}
    for what, counts in (("outbox rows", outbox_rows), ("messages", inbox.counts)):
        for (order_id, channel, template), count in counts.items():
            if count > 1 and order_id in accepted_ids:
                doubled.append(f"{order_id}: {count} {what} {channel} {template}")
    for record in paid_records(records):
        row = rows.get(record.order_id)
        if row is None or row[1] != "PAID" or row[3] != 1:
            lost.append(f"{record.order_id}: paid at Midtrans, not PAID with access")
        for channel in ("EMAIL", "WHATSAPP"):
            if inbox.counts[(record.order_id, channel, SUCCESS)] == 0:
                lost.append(f"{record.order_id}: no {SUCCESS} by {channel}")
    return {
        "orders": len(records),
        "checkouts_accepted": len(accepted),
        "paid": len(paid_records(records)),
        "lost": len(lost),
        "doubled": len(doubled),
        "notifications_not_accepted": sum(
            1 for record in paid_records(records) if record.webhook_status != 200
        ),
        "client_errors": Counter(record.error for record in records if record.error),
        "examples": (lost + doubled)[:10],
    }
