"""The pictures the person on call looks at: provider calls timed by outcome in the worker's
exporter, circuit breakers and alarms as gauges, paid orders and revenue counted from the
database, and alert rules and a Grafana dashboard that use only metrics the shop exports."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from types import SimpleNamespace

import dramatiq.middleware.prometheus
import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from integrations.errors import ProviderUnavailable, RetryableProviderError
from integrations.guard import provider_guard
from integrations.http import Client, Timeout, send
from messaging.contract import CIRCUITS, NAMESPACE
from models.base import utcnow
from models.orders import Order
from tests.conftest import (
    PROJECT_ROOT,
    declared_actor,
    free_port,
    start_afresh,
    wait_for,
)
from tests.factories import VALID_CHECKOUT, insert_order
from tests.notification_helpers import inject
from tests.webhook_helpers import _pay

PROMETHEUS = PROJECT_ROOT / "deploy" / "prometheus"
DASHBOARD = PROJECT_ROOT / "deploy" / "grafana" / "bfa-dashboard.json"
# Made by Prometheus itself for every scrape target, not by the shop.
PROMETHEUS_OWN = {"up"}
CALLS = "bfa_provider_call_seconds_count"


def samples(text: str) -> dict[tuple, float]:
    """Every sample of a Prometheus text page as {(name, sorted labels...): value}."""
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def web_samples(web: str) -> dict[tuple, float]:
    return samples(httpx.get(f"{web}/metrics", timeout=10).text)


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, *sorted(labels.items())), 0)


def calls(found: dict, provider: str, call: str, outcome: str) -> float:
    return value(found, CALLS, provider=provider, call=call, outcome=outcome)


def grown(before: dict, after: dict, provider: str, call: str, outcome: str) -> float:
    return calls(after, provider, call, outcome) - calls(before, provider, call, outcome)


def exported_names(text: str) -> set[str]:
    """The metric and sample names a page declares (`# TYPE`) or has samples of."""
    declared = re.findall(r"^# TYPE (\S+) (\S+)", text, re.M)
    names = {name for name, _ in declared}
    names |= {f"{name}_total" for name, kind in declared if kind == "counter"}
    names |= {
        f"{name}_{part}"
        for name, kind in declared
        if kind == "histogram"
        for part in ("bucket", "count", "sum")
    }
    return names | set(re.findall(r"^([a-zA-Z_:][\w:]*)[{ ]", text, re.M))


PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "group_left", "group_right"}


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left once strings, label matchers,
    ranges, grouping clauses, Grafana's variables and function calls are taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)
    names = re.findall(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def dashboard_expressions() -> list[str]:
    def walk(panels: list[dict]):
        for panel in panels:
            yield from (target["expr"] for target in panel.get("targets", []))
            yield from walk(panel.get("panels", []))

    return list(walk(json.loads(DASHBOARD.read_text())["panels"]))


def rule_expressions() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS / "bfa.rules.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


@pytest.fixture(scope="module")
def shop_run(system, sandbox, web, environment, tmp_path_factory):
    """A customer pays through a real `dramatiq tasks.worker` (the production worker command
    with its exporter) while WhatsApp fails once; what the web's /metrics and the worker's
    exporter show afterwards, as text."""
    start_afresh(system, sandbox)
    folder = tmp_path_factory.mktemp("worker-exporter")
    exporter = f"http://127.0.0.1:{free_port()}"
    env = {
        "PATH": "/usr/bin:/bin",
        **environment,
        "LOG_LEVEL": "warning",
        "dramatiq_prom_host": "127.0.0.1",
        "dramatiq_prom_port": exporter.rsplit(":", 1)[1],
        "dramatiq_prom_db": str(folder / "prometheus"),
    }
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as sandbox_api:
        inject(sandbox_api, "whatsapp", fail_next=1, status=503)
        with open(folder / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "dramatiq", "tasks.worker", "-p", "1", "-t", "2"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            worker_text = _pay_and_scrape(web, sandbox_api, exporter)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
    return SimpleNamespace(worker=worker_text, web=httpx.get(f"{web}/metrics").text)


def _pay_and_scrape(web: str, sandbox_api, exporter: str) -> str:
    order = httpx.post(f"{web}/api/checkout", json=VALID_CHECKOUT, timeout=10).json()
    status_url = f"{web}{order['status_url']}"
    wait_for(lambda: httpx.get(status_url).json()["redirect_url"], 60, message="payment link")
    _pay(sandbox_api, order["order_id"])
    wait_for(lambda: httpx.get(status_url).json()["status"] == "PAID", 60, message="paid")

    def worker_page() -> str | None:
        try:
            text = httpx.get(exporter, timeout=5).text
        except httpx.TransportError:
            return None
        return text if calls(samples(text), "whatsapp", "send", "error") else None

    return wait_for(worker_page, 60, message="the failed WhatsApp send in the exporter")


def test_a_payment_link_and_a_failing_whatsapp_send_show_in_the_workers_exporter(shop_run):
    found = samples(shop_run.worker)
    assert calls(found, "midtrans", "snap_create", "ok") == 1
    assert calls(found, "midtrans", "transaction_status", "ok") >= 1  # the notification checked
    assert calls(found, "whatsapp", "send", "error") == 1  # the sandbox answered 503 once
    snap = {"provider": "midtrans", "call": "snap_create", "outcome": "ok"}
    assert value(found, "bfa_provider_call_seconds_sum", **snap) > 0
    assert value(found, "bfa_provider_call_seconds_bucket", **snap, le="+Inf") == 1


def test_a_paid_order_counts_once_in_orders_paid_and_revenue(shop_run):
    found = samples(shop_run.web)
    assert found[("bfa_orders_paid_total",)] == 1
    assert found[("bfa_revenue_rupiah_total",)] == 99000


def test_paid_orders_and_revenue_come_from_the_database_so_every_web_process_agrees(web, db):
    insert_order("BFA-MON-1", "PAID")
    insert_order("BFA-MON-2", "PAID")
    insert_order("BFA-MON-3", "PENDING_PAYMENT")
    half_price = Order.update(discount_amount=49500, final_amount=49500)
    half_price.where(Order.order_id == "BFA-MON-2").execute()
    found = web_samples(web)
    assert found[("bfa_orders_paid_total",)] == 2
    assert found[("bfa_revenue_rupiah_total",)] == 99000 + 49500


def guard_for(system, provider: str, fail_max: int):
    """The provider's guard as the worker builds it, on the test Redis."""
    return provider_guard(
        system["broker"].client,
        provider,
        fail_max=fail_max,
        reset_seconds=60,
        per_second=100,
        namespace=NAMESPACE,
    )


def test_an_open_circuit_shows_in_the_breaker_gauge_and_the_calls_it_refuses(web, clean, system):
    guard = guard_for(system, "whatsapp", fail_max=2)

    def outage() -> str:
        raise RetryableProviderError("POST /messages: HTTP 503")

    before = web_samples(web)
    assert {before[("bfa_breaker_state", ("circuit", name))] for name in CIRCUITS} == {0}
    for _ in range(2):  # the second failure opens the circuit
        with pytest.raises(RetryableProviderError):
            guard.call(outage)
    with pytest.raises(ProviderUnavailable):
        guard.call(outage)  # refused without calling WhatsApp
    after = web_samples(web)
    assert after[("bfa_breaker_state", ("circuit", "whatsapp"))] == 2
    assert after[("bfa_breaker_state", ("circuit", "midtrans_snap"))] == 0
    assert grown(before, after, "whatsapp", "send", "error") == 2
    assert grown(before, after, "whatsapp", "send", "breaker_open") == 1


def test_a_provider_that_hangs_counts_as_a_timeout_and_one_that_refuses_as_an_error(
    web, clean, system
):
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    hanging = Client(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=Timeout.of(0.3))
    refusing = Client(f"http://127.0.0.1:{free_port()}", timeout=Timeout.of(0.3))
    guard = guard_for(system, "email", fail_max=10)
    before = web_samples(web)
    try:
        for client in (hanging, refusing):
            with pytest.raises(RetryableProviderError):
                guard.call(send, client, "GET", "/")
    finally:
        silent.close()
    after = web_samples(web)
    assert grown(before, after, "email", "send", "timeout") == 1
    assert grown(before, after, "email", "send", "error") == 1


def test_an_alarm_shows_as_active_until_the_check_finds_it_cleared(web, db):
    check_alarms = declared_actor("check_alarms")
    insert_order("BFA-MON-ALARM", "PAID", created_at=utcnow() - timedelta(minutes=10))
    active = ("bfa_alarm_active", ("name", "paid_without_access"))
    assert active not in web_samples(web)
    check_alarms()
    assert web_samples(web)[active] == 1
    Order.delete().where(Order.order_id == "BFA-MON-ALARM").execute()
    check_alarms()
    assert active not in web_samples(web)


def test_metric_names_are_read_out_of_promql_without_labels_functions_or_variables():
    expression = (
        'histogram_quantile(0.95, sum by (le, route) (rate(x_bucket{a="b c"}[$__rate_interval])))'
        " / on () group_left sum(y_total offset 1h) and on () (hour() >= 2) or vector(0)"
    )
    assert metric_names(expression) == {"x_bucket", "y_total"}


def dramatiq_declared_names() -> set[str]:
    """The metrics Dramatiq's exporter declares: a labelled counter (message errors, say) shows
    on its page only once a sample exists, which a run without an actor error never makes."""
    source = inspect.getsource(dramatiq.middleware.prometheus)
    names = set(re.findall(r'"(dramatiq_[a-z_]+)"', source))
    histograms = {name for name in names if name.endswith("_milliseconds")}
    return names | {f"{name}_{part}" for name in histograms for part in ("bucket", "count", "sum")}


def test_the_dashboard_and_the_alert_rules_use_only_metrics_the_shop_exports(shop_run):
    exported = exported_names(shop_run.web) | exported_names(shop_run.worker)
    exported |= dramatiq_declared_names()
    dashboard = set().union(*map(metric_names, dashboard_expressions()))
    rules = set().union(*map(metric_names, rule_expressions()))
    assert dashboard - exported - PROMETHEUS_OWN == set()
    assert rules - exported - PROMETHEUS_OWN == set()
    pictured = {  # what the issue asks to see: orders, money, latency, queues, deliveries, alarms
        "bfa_orders_paid_total",
        "bfa_revenue_rupiah_total",
        "bfa_provider_call_seconds_bucket",
        "bfa_http_request_duration_seconds_bucket",
        "bfa_queue_messages",
        "dramatiq_messages_total",
        "bfa_outbox_messages",
        "bfa_alarm_active",
        "bfa_breaker_state",
    }
    assert pictured <= dashboard
    assert {"bfa_workers_alive", "bfa_alarm_active", "bfa_orders_paid_total"} <= rules


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (.ci/run)")
def test_the_alert_rules_and_the_scrape_config_pass_promtool_and_its_rule_tests():
    for command in (
        ["check", "rules", "bfa.rules.yml"],
        ["check", "config", "prometheus.yml"],
        ["test", "rules", "bfa.rules.test.yml"],
    ):
        checked = subprocess.run(
            ["promtool", *command],
            cwd=PROMETHEUS,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_workers_threads_making_their_first_provider_calls_together_all_count():
    """Eight threads of a fresh worker process call providers at the same moment."""
    counted = subprocess.run(
        [sys.executable, "-c", FIRST_CALLS_TOGETHER],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert counted.returncode == 0, counted.stderr
    assert counted.stdout.split() == ["16.0", "0"]


FIRST_CALLS_TOGETHER = """
import threading
from loguru import logger
from integrations.call_metrics import TimedCall
warnings = []
logger.add(warnings.append, level="WARNING")
start = threading.Barrier(16)
def call():
    start.wait()
    TimedCall("whatsapp", "send", lambda: "wamid.1")()
threads = [threading.Thread(target=call) for _ in range(16)]
for thread in threads: thread.start()
for thread in threads: thread.join()
from prometheus_client import REGISTRY
labels = {"provider": "whatsapp", "call": "send", "outcome": "ok"}
print(REGISTRY.get_sample_value("bfa_provider_call_seconds_count", labels), len(warnings))
"""
