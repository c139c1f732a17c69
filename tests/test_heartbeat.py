"""The dead-man's switch: the scheduler pings HEARTBEAT_URL every minute while the web is ready,
a worker is alive and Redis answers, and `<url>/fail` while it can see one of them down."""

from __future__ import annotations

import threading

import pytest

from integrations.heartbeat import Heartbeat
from messaging.broker_state import worker_heartbeats
from messaging.redis import Enqueuer
from tasks.scheduler import run_scheduler
from tests.conftest import free_port, wait_for
from tests.recorder import recording_server


@pytest.fixture
def monitor():
    """A healthchecks.io check: counts the pings on its path."""
    with recording_server() as server:
        yield server


def first_ping(monitor, heartbeat: Heartbeat, client) -> str:
    """Runs the scheduler until its first minute's ping; the path pinged."""
    stop = threading.Event()
    scheduler = threading.Thread(
        target=run_scheduler, args=(Enqueuer(client), stop, None, heartbeat), daemon=True
    )
    scheduler.start()
    try:
        return monitor.next().path
    finally:
        stop.set()
        scheduler.join(timeout=10)


def test_the_heartbeat_is_pinged_while_the_shop_is_healthy(monitor, web, worker, system):
    client = system["broker"].client
    wait_for(lambda: worker_heartbeats(client), message="the worker's heartbeat")
    heartbeat = Heartbeat(f"{monitor.url}/ping/check-1", web)
    assert first_ping(monitor, heartbeat, client) == "/ping/check-1"


def test_with_no_worker_alive_the_heartbeat_pings_fail(monitor, web, clean, system):
    client = system["broker"].client
    assert not worker_heartbeats(client)
    heartbeat = Heartbeat(f"{monitor.url}/ping/check-1", web)
    assert first_ping(monitor, heartbeat, client) == "/ping/check-1/fail"
    assert heartbeat.problems(client) == ["no worker alive"]


def test_with_the_web_down_the_heartbeat_pings_fail(monitor, worker, system):
    client = system["broker"].client
    wait_for(lambda: worker_heartbeats(client), message="the worker's heartbeat")
    stopped_web = f"http://127.0.0.1:{free_port()}"
    heartbeat = Heartbeat(f"{monitor.url}/ping/check-1?create=0", stopped_web)
    assert heartbeat.beat(client)[0].startswith("web does not answer")
    assert monitor.next().path == "/ping/check-1/fail?create=0"
