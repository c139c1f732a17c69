"""What the engineer on call sees: /metrics with real numbers, /health with heartbeats and
alarms, 503 when Redis is gone, and alarms logged at ERROR by the periodic check."""

from __future__ import annotations

import html
import threading
import time
from datetime import UTC, datetime, timedelta

import dramatiq
import falcon.testing
import httpx
import pytest
import redis
from loguru import logger
from prometheus_client.parser import text_string_to_metric_families
from redis.backoff import NoBackoff
from redis.retry import Retry

from models.alarms import backup_overdue
from models.base import utcnow
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.outbox import OutboxMessage
from tasks.scheduler import run_scheduler
from tests.conftest import ADMIN_TOKEN, declared_actor, free_port, running_worker, wait_for
from tests.factories import insert_order, open_payment, unsent_settlement
from tests.midtrans_vectors import GO_SETTLEMENT
from web.app import create_app


def scrape(base_url: str) -> dict[tuple, float]:
    """Every sample of /metrics as {(name, sorted labels...): value}."""
    response = httpx.get(f"{base_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def make_order(order_id: str, status: str, age: timedelta = timedelta(0)) -> str:
    """An order made `age` ago, whose email the logs must never show."""
    return insert_order(order_id, status, "budi.secret@example.com", created_at=utcnow() - age)


def make_outbox_row(order_id: str, status: str, template: str = "payment_success") -> None:
    OutboxMessage.create(
        order=order_id,
        channel="EMAIL",
        template_name=template,
        recipient="budi.secret@example.com",
        status=status,
        sent_at=utcnow() if status == "SENT" else None,
    )


def make_event(order_id: str, age: timedelta, processed: bool, source: str = "webhook") -> None:
    moment = utcnow() - age
    PaymentEvent.create(
        idempotency_key=f"{order_id}-{age}",
        order_id=order_id,
        transaction_status="pending",
        source=source,
        raw={"order_id": order_id},
        processed=processed,
        processed_at=moment if processed else None,
        received_at=moment,
    )


OPERATOR = {"Authorization": f"Bearer {ADMIN_TOKEN}"}  # the full /health is the operator's


def check_alarms_logging_errors() -> tuple[list[dict], list[str]]:
    """The periodic alarm check, run inline: the alarms it raised and the ERROR lines it wrote."""
    check_alarms = declared_actor("check_alarms")

    errors: list[str] = []
    sink = logger.add(lambda message: errors.append(str(message)), level="ERROR")
    try:
        raised = check_alarms()
    finally:
        logger.remove(sink)
    return raised, errors


# --- /metrics ---------------------------------------------------------------------------------


def test_requests_are_counted_and_timed_by_route_template(console, clean):
    labels = (("method", "GET"), ("route", "/api/orders/{order_id}"), ("status", "404"))
    before = scrape(console).get(("bfa_http_requests_total", *labels), 0)
    timed_before = scrape(console).get(("bfa_http_request_duration_seconds_count", *labels[:2]), 0)
    for order_id in ("BFA-M-1", "BFA-M-2", "BFA-M-3"):
        assert httpx.get(f"{console}/api/orders/{order_id}?token=x").status_code == 404
    after = scrape(console)
    assert after[("bfa_http_requests_total", *labels)] == before + 3
    assert after[("bfa_http_request_duration_seconds_count", *labels[:2])] == timed_before + 3
    assert not any("BFA-M-1" in str(key) for key in after)  # raw paths never become labels


def test_invented_methods_share_one_label(console, clean):
    """Each made-up method must not add its own series: anyone could grow the metrics."""
    labels = (("method", "OTHER"), ("route", "/"), ("status", "400"))
    before = scrape(console).get(("bfa_http_requests_total", *labels), 0)
    for method in ("BFAXA", "BFAXB", "BFAXC"):
        assert httpx.request(method, f"{console}/").status_code == 400
    after = scrape(console)
    assert after[("bfa_http_requests_total", *labels)] == before + 3
    assert not any("BFAX" in str(key) for key in after)


def test_business_gauges_show_the_real_numbers(console, db, system):
    make_order("BFA-G-1", "PAID")
    make_order("BFA-G-2", "PAID")
    make_order("BFA-G-3", "PENDING_PAYMENT")
    make_outbox_row("BFA-G-1", "SENT")
    make_outbox_row("BFA-G-2", "DLQ")
    make_event("BFA-G-3", timedelta(minutes=2), processed=False)
    make_event("BFA-G-3", timedelta(minutes=9), processed=True)
    broker = system["broker"]
    broker.enqueue(dramatiq.Message("maintenance", "sweep", (), {}, {}))
    broker.enqueue(
        dramatiq.Message("notifications", "deliver_notification", (1,), {}, {}), delay=60_000
    )
    broker.client.zadd("dramatiq:payments.XQ", {"dead-1": 1, "dead-2": 2})

    samples = scrape(console)
    assert samples[("bfa_orders", ("status", "PAID"))] == 2
    assert samples[("bfa_orders", ("status", "PENDING_PAYMENT"))] == 1
    assert samples[("bfa_orders", ("status", "REFUNDED"))] == 0
    assert samples[("bfa_outbox_messages", ("status", "DLQ"))] == 1
    assert samples[("bfa_outbox_messages", ("status", "SENT"))] == 1
    assert samples[("bfa_dead_letters", ("queue", "payments"))] == 2
    assert samples[("bfa_queue_messages", ("queue", "maintenance"), ("state", "ready"))] == 1
    assert samples[("bfa_queue_messages", ("queue", "notifications"), ("state", "delayed"))] == 1
    age = samples[("bfa_oldest_unprocessed_payment_event_age_seconds",)]
    assert 120 <= age < 180
    assert samples[("bfa_dependency_up", ("dependency", "database"))] == 1
    assert samples[("bfa_dependency_up", ("dependency", "redis"))] == 1


# --- /health ----------------------------------------------------------------------------------


def test_health_reports_worker_and_scheduler_heartbeats(console, worker, system):
    from messaging.redis import Enqueuer

    stop = threading.Event()
    enqueuer = Enqueuer(system["broker"].client)
    scheduler = threading.Thread(target=run_scheduler, args=(enqueuer, stop), daemon=True)
    scheduler.start()
    try:
        report = wait_for(
            lambda: (
                lambda body: (
                    body if body["scheduler"]["alive"] and body["workers"]["alive"] else None
                )
            )(httpx.get(f"{console}/health", headers=OPERATOR).json()),
            message="both heartbeats",
        )
    finally:
        stop.set()
        scheduler.join(timeout=10)
    assert report["status"] == "ok" and report["alarms"] == []
    assert report["scheduler"]["age_seconds"] <= 30
    assert all(beat["age_seconds"] <= 30 for beat in report["workers"]["heartbeats"])
    aof = system["broker"].client.config_get("appendonly")["appendonly"]
    assert report["checks"]["redis"] == {"ok": True, "aof": aof == "yes"}
    assert set(report["queues"]) == {"payments", "webhooks", "notifications", "maintenance"}


def test_a_stopped_worker_leaves_health_at_once_and_a_killed_one_soon(console, clean, system):
    from messaging.contract import HEARTBEAT_TTL_SECONDS

    def alive() -> int:
        return httpx.get(f"{console}/health", headers=OPERATOR).json()["workers"]["alive"]

    broker = system["broker"]
    with running_worker(broker, worker_threads=1):
        with running_worker(broker, worker_threads=1):
            wait_for(lambda: alive() == 2, message="two heartbeats")
            keys = list(broker.client.scan_iter(match="dramatiq:heartbeat:worker:*"))
            assert all(0 < broker.client.ttl(key) <= HEARTBEAT_TTL_SECONDS for key in keys)
        assert alive() == 1  # at once, not when its key would have expired
    assert alive() == 0


def test_health_without_workers_or_scheduler_is_degraded_not_down(console, clean):
    response = httpx.get(f"{console}/health", headers=OPERATOR)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["workers"] == {"alive": 0, "heartbeats": []}
    assert body["scheduler"] == {"alive": False, "age_seconds": None}


def test_health_shows_the_alarms_an_operator_can_act_on(console, db):
    make_order("BFA-AL-PAID-OLD", "PAID", age=timedelta(minutes=10))
    make_order("BFA-AL-PAID-NEW", "PAID", age=timedelta(minutes=1))
    make_order("BFA-AL-PAID-OK", "PAID", age=timedelta(minutes=10))
    Entitlement.create(order="BFA-AL-PAID-OK", package="ai-movie-course")
    make_outbox_row("BFA-AL-PAID-OK", "DLQ")
    make_order("BFA-AL-WAITING", "PENDING_PAYMENT", age=timedelta(hours=4))
    make_event("BFA-AL-WAITING", timedelta(hours=5), processed=True)

    body = httpx.get(f"{console}/health", headers=OPERATOR).json()
    alarms = {alarm["name"]: alarm for alarm in body["alarms"]}
    assert set(alarms) == {"paid_without_access", "undelivered_email", "webhook_silence"}
    assert alarms["paid_without_access"]["order_ids"] == ["BFA-AL-PAID-OLD"]
    assert alarms["undelivered_email"]["count"] == 1
    assert alarms["webhook_silence"]["order_ids"] == ["BFA-AL-WAITING"]
    assert body["outbox_dead_letters"] == 1 and body["status"] == "degraded"

    make_event("BFA-AL-WAITING", timedelta(minutes=3), processed=True)
    names = {
        alarm["name"] for alarm in httpx.get(f"{console}/health", headers=OPERATOR).json()["alarms"]
    }
    assert "webhook_silence" not in names


def test_the_health_page_reads_in_indonesian_with_wib_times_while_the_json_stays_english(
    console, browser, db
):
    make_order("BFA-AL-QUIET", "PENDING_PAYMENT", age=timedelta(hours=4))
    PaymentEvent.create(
        idempotency_key="quiet-webhook",
        order_id="BFA-AL-QUIET",
        transaction_status="pending",
        source="webhook",
        raw={},
        processed=True,
        processed_at=datetime(2026, 1, 13, 7, 30, tzinfo=UTC),
        received_at=datetime(2026, 1, 13, 7, 30, tzinfo=UTC),  # 14.30 in Jakarta
    )

    page = browser.get("/admin/health")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "webhook_silence</strong>: tidak ada webhook Midtrans lebih dari" in text
    assert "(terakhir: 13 Jan 2026 14:30 WIB) sementara 1 pesanan menunggu pembayaran" in text
    assert "perlu perhatian</span>" in text  # the degraded status, in words the owner reads
    assert "Persistensi AOF" in text
    for english in ("no Midtrans webhook", "last:", "+00:00", ">degraded<", "AOF persistence"):
        assert english not in text, english

    for body in (
        httpx.get(f"{console}/health", headers=OPERATOR).json(),
        browser.get("/api/admin/health", headers=OPERATOR).json()["health"],
    ):  # monitoring reads these: names, keys and English messages as before
        [alarm] = [alarm for alarm in body["alarms"] if alarm["name"] == "webhook_silence"]
        assert set(alarm) == {"name", "message", "count", "order_ids"}
        assert "(last: 2026-01-13T07:30:00+00:00)" in alarm["message"]
        assert body["status"] == "degraded"


def test_an_overdue_backup_says_when_the_last_one_was_in_wib():
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    alarm = backup_overdue(now, datetime(2026, 12, 1, 2, 1, tzinfo=UTC), required=False)
    assert alarm.pesan == "tidak ada cadangan lebih dari 26 jam (terakhir: 1 Des 2026 09:01 WIB)"
    assert alarm.message == "no backup for over 26 hours (last: 2026-12-01T02:01:00+00:00)"
    assert alarm.as_dict()["name"] == "backup_overdue" and "pesan" not in alarm.as_dict()
    never = backup_overdue(now, None, required=True)
    assert never.pesan.endswith("(terakhir: belum pernah)")


def test_the_periodic_check_logs_each_alarm_at_error_without_personal_data(db, system):
    make_order("BFA-AL-LOG", "PAID", age=timedelta(minutes=30))
    raised, errors = check_alarms_logging_errors()
    assert [alarm["name"] for alarm in raised] == ["paid_without_access"]
    [line] = errors
    assert "ALARM paid_without_access" in line and "BFA-AL-LOG" in line
    assert "budi.secret" not in line


def test_payments_flagged_in_the_last_day_raise_an_alarm_but_the_readiness_probe_does_not(
    console, db, sandbox_api
):
    process_notification = declared_actor("process_notification")

    underpaid = open_payment()["order_id"]
    process_notification(
        unsent_settlement(sandbox_api, underpaid, gross_amount="1000.00")
    )  # amount mismatch: flagged, never paid
    for unknown_order in ("BFA-GHOST-1", f"VERIFY-{int(time.time())}"):
        process_notification({**GO_SETTLEMENT, "order_id": unknown_order})
    make_order("BFA-FLAG-OLD", "PAID")
    PaymentEvent.create(
        idempotency_key="old-flag",
        order_id="BFA-FLAG-OLD",
        transaction_status="settlement",
        raw={},
        processed=True,
        processed_at=utcnow() - timedelta(hours=25),
        flag_reason="late settlement after expired/failed: money was taken",
        received_at=utcnow() - timedelta(hours=25),
    )

    alarms = {
        alarm["name"]: alarm
        for alarm in httpx.get(f"{console}/health", headers=OPERATOR).json()["alarms"]
    }
    expected = {"count": 2, "order_ids": ["BFA-GHOST-1", underpaid]}
    assert {key: alarms["flagged_payments"][key] for key in expected} == expected
    console_view = httpx.get(
        f"{console}/api/admin/health", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ).json()
    assert "flagged_payments" in {alarm["name"] for alarm in console_view["health"]["alarms"]}
    raised, errors = check_alarms_logging_errors()
    assert "flagged_payments" in {alarm["name"] for alarm in raised}
    assert any("ALARM flagged_payments" in line and underpaid in line for line in errors)


@pytest.fixture
def app_without_redis(system):
    """A second web app whose Redis is a closed port: what happens when Redis dies.

    No retries: redis-py's default (3 retries with backoff) makes each failing call take ~5 s.
    """
    unreachable = redis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    return falcon.testing.TestClient(create_app(system["settings"], unreachable))


def test_health_is_503_when_redis_is_unreachable(app_without_redis, clean):
    health = app_without_redis.simulate_get("/health", headers=OPERATOR)
    assert health.status_code == 503
    assert health.json["status"] == "unavailable"
    assert health.json["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}
    assert health.json["checks"]["database"] == {"ok": True}
    assert app_without_redis.simulate_get("/health/ready").status_code == 503
    assert app_without_redis.simulate_get("/health/live").status_code == 200


def test_metrics_and_the_console_still_answer_when_redis_is_unreachable(app_without_redis, clean):
    metrics = app_without_redis.simulate_get("/metrics")
    assert metrics.status_code == 200
    assert 'bfa_dependency_up{dependency="redis"} 0.0' in metrics.text
    assert 'bfa_dependency_up{dependency="database"} 1.0' in metrics.text
    console = app_without_redis.simulate_get(
        "/api/admin/health", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert console.status_code == 200 and console.json["health"]["status"] == "unavailable"


def test_the_full_health_report_is_for_the_operator_only(console, clean):
    assert httpx.get(f"{console}/health").status_code == 401
    assert (
        httpx.get(f"{console}/health", headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    assert httpx.get(f"{console}/health", headers=OPERATOR).status_code == 200
    for probe in ("/health/live", "/health/ready"):  # load balancers need no token
        assert httpx.get(f"{console}{probe}").status_code == 200
