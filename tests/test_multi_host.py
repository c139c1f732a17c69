"""Several hosts on one machine: two web processes and two worker groups, each with its own
VAR_DIR, share one PostgreSQL and one Redis. Customers check out on either web; Midtrans' signed
settlement reaches both webs, twice each. Every order ends PAID exactly once, with one course
access and one payment_success message per channel, delivered once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from config.settings import PROJECT_ROOT
from models.db import connection
from models.entitlements import Entitlement
from models.orders import Order
from models.outbox import OutboxMessage
from tests.conftest import free_port, wait_for
from tests.factories import VALID_CHECKOUT, unsent_settlement
from tests.webhook_helpers import WEBHOOK, _paid_transitions

ORDERS = 8
INHERITED = ("PATH", "HOME", "LANG", "TMPDIR")


def start_part(name: str, command: list[str], env: dict[str, str], logs: Path):
    with open(logs / f"{name}.log", "wb") as log:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def part_environment(environment: dict, var_dir: Path, **extra: str) -> dict[str, str]:
    inherited = {name: os.environ[name] for name in INHERITED if name in os.environ}
    return {
        **inherited,
        **environment,
        "LOG_LEVEL": "warning",
        "PYTHONUNBUFFERED": "1",
        "VAR_DIR": str(var_dir),
        "dramatiq_prom_db": str(var_dir / "prometheus-dramatiq"),
        **extra,
    }


@pytest.fixture
def hosts(environment, clean, tmp_path):
    """The base URLs of the two webs, once both answer; every part is stopped afterwards."""
    logs = tmp_path / "logs"
    logs.mkdir()
    parts, webs = [], []
    for n in (1, 2):
        port = free_port()
        env = part_environment(environment, tmp_path / f"web-{n}", PORT=str(port))
        parts.append(start_part(f"web-{n}", [sys.executable, "-m", "web.server"], env, logs))
        webs.append(f"http://127.0.0.1:{port}")
        worker = [sys.executable, "-m", "dramatiq", "tasks.bare_worker", "-p", "1", "-t", "4"]
        env = part_environment(environment, tmp_path / f"worker-{n}")
        parts.append(start_part(f"worker-{n}", worker, env, logs))
    try:
        for web in webs:
            wait_for(lambda web=web: _answers(web), timeout=60, message=f"{web} to answer")
        yield webs
    finally:
        for part in parts:
            os.killpg(part.pid, signal.SIGTERM)
        for part in parts:
            part.wait(timeout=30)


def _answers(web: str) -> bool:
    try:
        return httpx.get(f"{web}/health/live", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def checkout(web: str) -> dict:
    response = httpx.post(f"{web}/api/checkout", json=VALID_CHECKOUT, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def payment_link(web: str, order: dict) -> str | None:
    return httpx.get(f"{web}{order['status_url']}", timeout=10).json().get("redirect_url")


def notify_both_webs_twice(webs: list[str], body: dict) -> list[int]:
    with ThreadPoolExecutor(4) as pool:
        answers = pool.map(
            lambda web: httpx.post(f"{web}{WEBHOOK}", json=body, timeout=10).status_code,
            webs * 2,
        )
        return list(answers)


def delivered(sandbox_api) -> Counter:
    mails = sandbox_api.get("/_sandbox/mail").json()
    messages = sandbox_api.get("/_sandbox/whatsapp").json()
    return Counter(
        [("EMAIL", mail["subject"]) for mail in mails]
        + [("WHATSAPP", message["template"]) for message in messages]
    )


def all_sent(order_ids: list[str]) -> bool:
    with connection():
        sent = OutboxMessage.select().where(
            OutboxMessage.order.in_(order_ids)
            & (OutboxMessage.template_name == "payment_success")
            & (OutboxMessage.status == "SENT")
        )
        return sent.count() == 2 * len(order_ids)


def test_orders_are_paid_exactly_once_across_two_webs_and_two_worker_groups(hosts, sandbox_api):
    orders = [checkout(hosts[n % 2]) for n in range(ORDERS)]
    for n, order in enumerate(orders):  # the payment link, read back through the other web
        other_web = hosts[(n + 1) % 2]
        wait_for(lambda o=order, w=other_web: payment_link(w, o), message="Snap link")
    for order in orders:
        body = unsent_settlement(sandbox_api, order["order_id"])
        assert notify_both_webs_twice(hosts, body) == [200, 200, 200, 200]
    order_ids = [order["order_id"] for order in orders]
    wait_for(lambda: all_sent(order_ids), timeout=60, message="every payment_success sent")

    with connection():
        for order_id in order_ids:
            assert Order.get_by_id(order_id).status == "PAID"
            assert _paid_transitions(order_id) == 1
            assert Entitlement.select().where(Entitlement.order == order_id).count() == 1
            channels = OutboxMessage.select(OutboxMessage.channel).where(
                (OutboxMessage.order == order_id)
                & (OutboxMessage.template_name == "payment_success")
            )
            assert sorted(row.channel for row in channels) == ["EMAIL", "WHATSAPP"]
    sent = delivered(sandbox_api)  # what reached the providers: each message once
    assert sent[("WHATSAPP", "payment_success")] == ORDERS
    assert sum(count for (channel, _), count in sent.items() if channel == "EMAIL") == ORDERS
