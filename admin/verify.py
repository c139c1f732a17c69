"""`verify [--url URL] [--json] [-v]`: the production checklist against a running system and
the providers it depends on, one PASS/FAIL line per check (or one JSON document); logs go to
stderr at WARNING unless -v. It sends two probe webhooks: an unsigned one (must be refused) and
a signed one for an order `VERIFY-<timestamp>` that does not exist (accepted, then stored and
flagged as an unknown order: that flag is the expected trace of a verify run)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import redis
from peewee import fn

from admin.context import AdminContext
from admin.verify_outside import OUTSIDE_CHECKS, PROBE_TIMEOUT
from admin.verify_target import Target
from config.logs import configure_logging
from config.settings import Settings
from integrations.http import Client, send
from integrations.signature import midtrans_signature
from messaging.contract import (
    QUEUES,
    dead_letter_set_key,
    scheduler_heartbeat_key,
    worker_heartbeat_prefix,
)
from models.base import utcnow
from models.db import connection
from models.outbox import OutboxMessage
from models.statuses import CLAIMABLE, OutboxStatus
from schema.migrate import pending_migrations

# What each Settings.mode means for the payments this shop takes: the report's first line.
MODE_MEANINGS = {
    "production": "real payments through Midtrans production",
    "midtrans-sandbox": "MODE UJI, test payments through Midtrans' sandbox, no real money",
    "local-sandbox": "MODE UJI, the local sandbox plays Midtrans, SMTP and WhatsApp, no real money",
}
STUCK_SENDING = timedelta(minutes=5)
OVERDUE_DELIVERY = timedelta(minutes=10)
RECENT_DEAD_LETTERS = timedelta(hours=1)


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("verify", help="run the production readiness checklist")
    parser.add_argument("--url", help="the web's base URL (default: PUBLIC_BASE_URL)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr at INFO")
    parser.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace, admin: AdminContext) -> int:
    settings = admin.settings
    if args.verbose:
        configure_logging("INFO", settings.log_format)
    base_url = (args.url or settings.public_base_url).rstrip("/")
    operator = {"Authorization": f"Bearer {settings.admin_token}"}  # the full /health needs it
    with Client(base_url, headers=operator, timeout=PROBE_TIMEOUT) as client:
        target = Target(client, admin.enqueuer.redis, settings.database_url, settings)
        results = run_checks(target)
    passed = all(result.passed for result in results)
    print(render_json(results, settings) if args.json else render_text(results, settings))
    return 0 if passed else 1


def render_text(results: list[CheckResult], settings: Settings) -> str:
    whatsapp = settings.whatsapp
    lines = [
        f"Mode: {settings.mode} ({MODE_MEANINGS[settings.mode]})",
        f"Graph API version: {whatsapp.graph_api_version} ({whatsapp.api_url})",
    ]
    for result in results:
        lines.append(f"{'PASS' if result.passed else 'FAIL'}  {result.name:<22} {result.detail}")
    return "\n".join(lines)


def render_json(results: list[CheckResult], settings: Settings) -> str:
    document = {
        "mode": settings.mode,
        "passed": all(result.passed for result in results),
        "graph_api_version": settings.whatsapp.graph_api_version,
        "checks": [vars(result) for result in results],
    }
    return json.dumps(document, indent=2)


def run_checks(target: Target) -> list[CheckResult]:
    return [_guarded(name, check, target) for name, check in CHECKS]


def _guarded(name: str, check: Callable[[Target], tuple[bool, str]], target: Target) -> CheckResult:
    """A check that cannot reach its dependency fails; it never stops the other checks."""
    try:
        passed, detail = check(target)
    except Exception as error:  # noqa: BLE001 - any error is this check's FAIL, with its reason
        passed, detail = False, f"{type(error).__name__}: {error}"[:300]
    return CheckResult(name, passed, detail)


def check_health(target: Target) -> tuple[bool, str]:
    response = send(target.http, "GET", "/health")
    return response.status_code == 200, f"GET /health -> {response.status_code}"


def check_migrations(target: Target) -> tuple[bool, str]:
    pending = pending_migrations(target.database_url)
    if pending:
        return False, f"pending: {', '.join(pending)} (run ./run.sh migrate)"
    return True, "schema is current"


def check_workers(target: Target) -> tuple[bool, str]:
    pattern = worker_heartbeat_prefix() + "*"
    beating = sum(1 for _ in target.redis_client.scan_iter(match=pattern, count=100))
    if not beating:
        return False, "no worker heartbeat (is `./run.sh worker` running?)"
    return True, f"{beating} worker process(es) alive"


def check_scheduler(target: Target) -> tuple[bool, str]:
    if not target.redis_client.exists(scheduler_heartbeat_key()):
        return False, "no scheduler heartbeat (is `./run.sh scheduler` running?)"
    return True, "scheduler alive"


def probe_notification(order_id: str, server_key: str | None) -> dict:
    """A pending notification for `order_id`, signed when a key is given, else unsigned."""
    body = {
        "order_id": order_id,
        "status_code": "201",
        "gross_amount": "1000.00",
        "transaction_status": "pending",
        "transaction_id": f"{order_id}-probe",
        "payment_type": "bank_transfer",
        "signature_key": "",
    }
    if server_key:
        body["signature_key"] = midtrans_signature(order_id, "201", "1000.00", server_key)
    return body


def check_unsigned_webhook(target: Target) -> tuple[bool, str]:
    body = probe_notification(f"VERIFY-{int(time.time())}-UNSIGNED", None)
    response = send(target.http, "POST", "/webhooks/midtrans", json=body)
    return response.status_code == 401, f"unsigned notification -> {response.status_code}"


def check_signed_webhook(target: Target) -> tuple[bool, str]:
    order_id = f"VERIFY-{int(time.time())}"
    response = send(
        target.http,
        "POST",
        "/webhooks/midtrans",
        json=probe_notification(order_id, target.settings.midtrans.server_key),
    )
    return response.status_code == 200, f"signed notification {order_id} -> {response.status_code}"


def check_outbox(target: Target) -> tuple[bool, str]:
    now = utcnow()
    with connection():
        stuck = OutboxMessage.select().where(
            (OutboxMessage.status == OutboxStatus.SENDING)
            & (OutboxMessage.claimed_at < now - STUCK_SENDING)
        )
        due_since = fn.COALESCE(OutboxMessage.next_retry_at, OutboxMessage.created_at)
        overdue = OutboxMessage.select().where(
            OutboxMessage.status.in_(CLAIMABLE) & (due_since < now - OVERDUE_DELIVERY)
        )
        stuck_count, overdue_count = stuck.count(), overdue.count()
    detail = f"{stuck_count} SENDING for over 5 min, {overdue_count} overdue by over 10 min"
    return stuck_count == 0 and overdue_count == 0, detail


def check_dead_letters(target: Target) -> tuple[bool, str]:
    """Growing means new dead letters in the last hour, in Dramatiq's queues or the outbox."""
    since = utcnow() - RECENT_DEAD_LETTERS
    since_ms = int(since.timestamp() * 1000)
    recent = total = 0
    for queue_name in QUEUES:
        key = dead_letter_set_key(queue_name)
        total += target.redis_client.zcard(key)
        recent += target.redis_client.zcount(key, since_ms, "+inf")
    with connection():
        outbox_dlq = OutboxMessage.select().where(OutboxMessage.status == OutboxStatus.DLQ)
        recent += outbox_dlq.where(OutboxMessage.updated_at >= since).count()
        total += outbox_dlq.count()
    detail = f"{recent} new in the last hour, {total} in all (`./run.sh admin dead-letters list`)"
    return recent == 0, detail


def check_redis_persistence(target: Target) -> tuple[bool, str]:
    """AOF on; a managed Redis that hides CONFIG is reported unknown, not failed (check the
    provider's persistence settings instead)."""
    try:
        config = target.redis_client.config_get("appendonly")
    except redis.ResponseError:
        return True, "unknown: this Redis hides CONFIG (check the provider's persistence)"
    appendonly = config.get("appendonly") or config.get(b"appendonly")
    enabled = appendonly in ("yes", b"yes")
    fsync = target.redis_client.config_get("appendfsync")
    policy = fsync.get("appendfsync") or fsync.get(b"appendfsync")
    return enabled, f"appendonly={_text(appendonly)} appendfsync={_text(policy)}"


def _text(value: str | bytes | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


CHECKS: tuple[tuple[str, Callable[[Target], tuple[bool, str]]], ...] = (
    ("health", check_health),
    ("migrations current", check_migrations),
    ("workers alive", check_workers),
    ("scheduler alive", check_scheduler),
    ("unsigned webhook 401", check_unsigned_webhook),
    ("signed webhook 200", check_signed_webhook),
    ("outbox not stuck", check_outbox),
    ("no new dead letters", check_dead_letters),
    ("redis persistence", check_redis_persistence),
    *OUTSIDE_CHECKS,
)
