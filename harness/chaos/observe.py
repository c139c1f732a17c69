"""What the system did, read from its database and from the sandbox's inboxes."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psycopg2

MESSAGE_ID = re.compile(r"<outbox-(\d+)@")
ACTIVE_OUTBOX = ("PENDING", "SENDING", "RETRYING")


@dataclass
class Observed:
    orders: dict[str, dict] = field(default_factory=dict)  # order_id -> status, flagged
    entitlements: dict[str, list[str]] = field(default_factory=dict)
    outbox: dict[int, dict] = field(default_factory=dict)  # id -> order_id, channel, template...
    events: dict[str, list[dict]] = field(default_factory=dict)
    delivered: Counter = field(default_factory=Counter)  # (recipient, channel, template) -> n
    unattributed_mail: int = 0

    def outbox_statuses(self) -> Counter:
        return Counter(row["status"] for row in self.outbox.values())


def _rows(cursor, sql: str) -> list[dict]:
    cursor.execute(sql)
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def read_database(database_url: str) -> Observed:
    observed = Observed()
    connection = psycopg2.connect(database_url, connect_timeout=5)
    try:
        with connection, connection.cursor() as cursor:
            for row in _rows(cursor, "SELECT order_id, status, flagged FROM orders"):
                observed.orders[row.pop("order_id")] = row
            for row in _rows(cursor, "SELECT order_id, status FROM entitlements"):
                observed.entitlements.setdefault(row["order_id"], []).append(row["status"])
            outbox_sql = (
                "SELECT id, order_id, channel, template_name AS template, status, attempt_count,"
                " last_error, error_history FROM notification_outbox"
            )
            for row in _rows(cursor, outbox_sql):
                observed.outbox[row.pop("id")] = row
            events_sql = (
                "SELECT order_id, transaction_status, fraud_status, verified_status, processed,"
                " outcome, flag_reason, source FROM payment_events ORDER BY id"
            )
            for row in _rows(cursor, events_sql):
                observed.events.setdefault(row.pop("order_id"), []).append(row)
    finally:
        connection.close()
    return observed


def read_inbox(sandbox_url: str, observed: Observed) -> None:
    """Counts delivered messages by recipient, channel and template. An email's template comes
    from its Message-ID (`<outbox-{row id}@...>`), a WhatsApp message names its template."""
    with httpx.Client(base_url=sandbox_url, timeout=120) as sandbox:
        mails = sandbox.get("/_sandbox/mail").json()
        whatsapp = sandbox.get("/_sandbox/whatsapp").json()
    for mail in mails:
        match = MESSAGE_ID.search(mail.get("message_id") or "")
        row = observed.outbox.get(int(match.group(1))) if match else None
        if row is None:
            observed.unattributed_mail += 1
            continue
        for recipient in mail["rcpt_tos"]:
            observed.delivered[(recipient.lower(), "EMAIL", row["template"])] += 1
    for message in whatsapp:
        observed.delivered[(message["to"], "WHATSAPP", message["template"])] += 1


def progress(database_url: str) -> dict:
    """Cheap counts while waiting for the system to settle."""
    connection = psycopg2.connect(database_url, connect_timeout=5)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT count(*) FROM payment_events WHERE NOT processed),"
                " (SELECT count(*) FROM notification_outbox WHERE status = ANY(%s)),"
                " (SELECT count(*) FROM orders WHERE status = 'CREATED')",
                (list(ACTIVE_OUTBOX),),
            )
            unprocessed, outbox_active, created = cursor.fetchone()
            cursor.execute("SELECT order_id, status FROM orders")
            statuses = dict(cursor.fetchall())
    finally:
        connection.close()
    return {
        "unprocessed_events": unprocessed,
        "outbox_active": outbox_active,
        "orders_created": created,
        "statuses": statuses,
    }
