"""Crashes and outages: a worker killed mid-message and a PostgreSQL outage lose no payment.

These run real worker processes (`dramatiq tasks.bare_worker`, and `python -m web.server`), as
production does, so a SIGKILL is real and an outage reaches every process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx
import psycopg2
import pytest

from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.orders import Order
from models.outbox import OutboxMessage
from tests.conftest import PROJECT_ROOT, free_port, wait_for
from tests.factories import VALID_CHECKOUT, midtrans_transition, open_payment, unsent_settlement

WORKER_COMMAND = [sys.executable, "-m", "dramatiq", "tasks.bare_worker", "-p", "1", "-t", "1"]
WEB_COMMAND = [sys.executable, "-m", "web.server"]
REDELIVERY_LIMIT_SECONDS = 60  # heartbeat_timeout (20 s) plus maintenance, with room to spare


def worker_process(
    environment: dict, log_path: Path, **overrides: str
) -> AbstractContextManager[subprocess.Popen]:
    """A worker (`dramatiq tasks.bare_worker`) in its own process group, stopped (TERM, then KILL)
    at exit."""
    return service_process(WORKER_COMMAND, log_path, {**environment, **overrides})


@contextmanager
def web_process(
    environment: dict, log_path: Path, command: list[str] = WEB_COMMAND, **overrides: str
) -> Iterator[str]:
    """`python -m web.server` (or `command`) on a free port, as production runs it; its base URL
    once live."""
    port = free_port()
    with service_process(command, log_path, {**environment, **overrides, "PORT": str(port)}):
        base_url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{base_url}/health/live"), timeout=30, message="the web")
        yield base_url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def service_process(
    command: list[str], log_path: Path, environment: dict
) -> Iterator[subprocess.Popen]:
    """One of our processes in its own process group, stopped (TERM, then KILL) at exit."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **environment},
        )
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL for the master and its worker process: no shutdown hook, no ack, no requeue."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _pay(sandbox_api, order_id: str) -> None:
    answer = midtrans_transition(
        sandbox_api, order_id, transaction_status="settlement", payment_type="bank_transfer"
    )
    assert answer["delivery_status"] == 200


def _set_faults(sandbox_api, **plans) -> None:
    sandbox_api.post("/_sandbox/midtrans/faults", json=plans).raise_for_status()


def _outcome(order_id: str) -> dict:
    """What a payment left behind, comparable between two orders."""
    order = Order.get_by_id(order_id)
    entitlements = Entitlement.select().where(Entitlement.order == order_id)
    outbox = OutboxMessage.select().where(OutboxMessage.order == order_id)
    events = PaymentEvent.select().where(PaymentEvent.order_id == order_id)
    return {
        "status": order.status,
        "paid": order.paid_at is not None,
        "flagged": order.flagged,
        "entitlements": sorted(entitlement.status for entitlement in entitlements),
        "outbox": sorted((row.channel, row.template_name) for row in outbox),
        "events": sorted((event.processed, event.outcome) for event in events),
    }


def _is_paid(order_id: str) -> bool:
    return Order.get_by_id(order_id).status == "PAID"


def test_a_worker_killed_mid_message_has_it_run_again_with_the_same_outcome(
    db, web, sandbox_api, tmp_path, environment
):
    crashed_order = open_payment()["order_id"]
    _set_faults(sandbox_api, status_api={"delay_ms": 8000})  # the worker hangs inside the call
    _pay(sandbox_api, crashed_order)
    with worker_process(environment, tmp_path / "worker-1.log") as first_worker:
        wait_for(
            lambda: PaymentEvent.select().where(PaymentEvent.order_id == crashed_order).exists(),
            timeout=30,
            message="the first worker to be inside the message",
        )
        _kill_hard(first_worker)
    killed_at = time.monotonic()
    _set_faults(sandbox_api)
    assert not _is_paid(crashed_order)
    with worker_process(environment, tmp_path / "worker-2.log"):
        wait_for(
            lambda: _is_paid(crashed_order),
            timeout=REDELIVERY_LIMIT_SECONDS,
            interval=0.25,
            message="the killed worker's message to run again",
        )
        redelivered_after = time.monotonic() - killed_at
        calm_order = open_payment()["order_id"]
        _pay(sandbox_api, calm_order)
        wait_for(lambda: _is_paid(calm_order), timeout=20, message="the no-crash payment")
        wait_for(
            lambda: PaymentEvent.select().where(~PaymentEvent.processed).count() == 0,
            message="every event processed",
        )
    assert redelivered_after < REDELIVERY_LIMIT_SECONDS
    assert _outcome(crashed_order) == _outcome(calm_order)
    assert _outcome(crashed_order)["entitlements"] == ["ACTIVE"]


# --- PostgreSQL down ------------------------------------------------------------------------------


@pytest.fixture
def own_postgres(clean):
    """A throwaway embedded PostgreSQL only this test's worker uses, so it can be stopped.

    Its folder is outside pytest's tmp root on purpose: every pytest start resets that root to
    mode 0700, which would lock the server's own user out of a restart.
    """
    from local.embedded import start_postgres
    from schema.migrate import migrate

    data_dir = Path(tempfile.mkdtemp(prefix="bfa-test-pg-"))
    server = start_postgres(data_dir)
    migrate(server.url)
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def _fetch_one(url: str, sql: str, *params) -> tuple | None:
    connection = psycopg2.connect(url, connect_timeout=3)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    finally:
        connection.close()


def _order_status(url: str, order_id: str) -> str | None:
    row = _fetch_one(url, "SELECT status FROM orders WHERE order_id = %s", order_id)
    return row[0] if row else None


def _database_answers(url: str) -> bool:
    try:
        _fetch_one(url, "SELECT 1")
    except psycopg2.OperationalError:
        return False
    return True


def test_postgres_down_the_web_still_answers_and_the_order_is_paid_once_it_is_back(
    own_postgres, sandbox_api, system, tmp_path, environment
):
    from local.embedded import start_postgres

    database_url = own_postgres.url
    broker = system["broker"]
    with (
        worker_process(environment, tmp_path / "worker.log", DATABASE_URL=database_url),
        web_process(environment, tmp_path / "web.log", DATABASE_URL=database_url) as web_url,
        httpx.Client(base_url=web_url, timeout=10) as web,
    ):
        order_id = web.post("/api/checkout", json=VALID_CHECKOUT).json()["order_id"]
        wait_for(
            lambda: _order_status(database_url, order_id) == "PENDING_PAYMENT",
            timeout=30,
            message="the order and its payment link",
        )
        own_postgres.stop()
        assert not _database_answers(database_url)
        late_checkout = web.post("/api/checkout", json=VALID_CHECKOUT)
        notification = unsent_settlement(sandbox_api, order_id)
        webhook = web.post("/webhooks/midtrans", json=notification)
        assert (late_checkout.status_code, webhook.status_code) == (202, 200)
        wait_for(
            lambda: broker.client.hlen(f"{broker.namespace}:webhooks.DQ.msgs"),
            timeout=20,
            message="the notification to fail and wait for a retry",
        )
        restarted = start_postgres(own_postgres.data_dir)
        assert restarted.url == database_url
        late_order_id = late_checkout.json()["order_id"]
        wait_for(
            lambda: (
                _order_status(database_url, order_id) == "PAID"
                and _order_status(database_url, late_order_id) == "PENDING_PAYMENT"
            ),
            timeout=45,
            interval=0.25,
            message="the payment and the late checkout once PostgreSQL is back",
        )
    entitlements = _fetch_one(
        database_url, "SELECT count(*) FROM entitlements WHERE order_id = %s", order_id
    )
    events = _fetch_one(database_url, "SELECT count(*), bool_and(processed) FROM payment_events")
    assert entitlements == (1,)
    assert events == (1, True)
