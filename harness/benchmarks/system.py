"""The system under test, started by the benchmark itself: PostgreSQL and Redis (embedded by
default, or DATABASE_URL / REDIS_URL), then the sandbox, the web, the workers and the scheduler
as separate processes, each given an explicit environment, exactly as `./run.sh` runs them.

With DATABASE_URL the benchmark creates (and drops afterwards) its own database on that server;
with REDIS_URL it flushes that Redis database: point it at one you can flush.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import psycopg2
import redis

from config.settings import PROJECT_ROOT, SANDBOX_SERVER_KEY, Settings, load_settings
from local.embedded import start_postgres, start_redis
from local.launcher import part_commands
from messaging.broker_state import scheduler_heartbeat, worker_heartbeats
from schema.migrate import migrate
from web.server import THREADS as BARE_APP_THREADS  # the yardstick gets the web's threads

PYTHON = sys.executable
PROJECT_VAR = PROJECT_ROOT / "var"
STOP_GRACE_SECONDS = 20
# Raised for the run, so a rate limit meant for production never sets the figure.
RAISED_LIMITS = {
    "CHECKOUT_RATE_LIMIT_PER_MINUTE": "1000000",
    "UNPAID_MESSAGES_PER_HOUR": "1000000",
    "MIDTRANS_RATE_PER_SECOND": "1000",
    "EMAIL_RATE_PER_SECOND": "1000",
    "WHATSAPP_RATE_PER_SECOND": "1000",
}
# JSON log lines of our processes, and the sandbox's plain logging lines.
ERROR_MARKERS = ('"level": "ERROR"', '"level": "CRITICAL"', " ERROR ", " CRITICAL ")
EXPECTED_ERROR = "Notification for an unknown order"
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "XDG_RUNTIME_DIR")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raise_open_files_limit() -> int:
    """Every process of the run may hold as many connections as the machine allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _is_local(url: str) -> bool:
    """Whether the server's processes can be seen here (to measure their CPU and memory)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return parts.scheme == "unix" or host in ("", "localhost", "127.0.0.1", "::1")


@dataclass
class Services:
    """The PostgreSQL database and Redis the run uses, and how to give them back."""

    database_url: str
    redis_url: str
    embedded: bool
    stoppers: list[Callable[[], None]] = field(default_factory=list)

    def postgres_process(self) -> psutil.Process | None:
        """The postmaster, found through a backend of ours, when it runs on this machine."""
        if not self.embedded and not _is_local(self.database_url):
            return None
        connection = psycopg2.connect(self.database_url, connect_timeout=5)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = psutil.Process(cursor.fetchone()[0])
                return backend.parent()
        except psutil.Error:
            return None
        finally:
            connection.close()

    def redis_process(self) -> psutil.Process | None:
        if not self.embedded and not _is_local(self.redis_url):
            return None
        client = redis.Redis.from_url(self.redis_url)
        try:
            return psutil.Process(client.info("server")["process_id"])
        except psutil.Error:
            return None
        finally:
            client.close()

    def redis_durability(self) -> dict[str, str]:
        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        try:
            return {name: client.config_get(name)[name] for name in ("appendonly", "appendfsync")}
        finally:
            client.close()

    def stop(self) -> None:
        for stop in reversed(self.stoppers):
            stop()
        self.stoppers.clear()


def _with_database(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _recreate_database(server_url: str, name: str) -> None:
    admin = psycopg2.connect(server_url, connect_timeout=10)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {name}")
    admin.close()


def _drop_database(server_url: str, name: str) -> None:
    admin = psycopg2.connect(server_url, connect_timeout=10)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def start_services(work_dir: Path, database_url: str | None, redis_url: str | None) -> Services:
    """A fresh, migrated database and an empty Redis; embedded servers under `work_dir` when
    no URL is given (stopped again by Services.stop)."""
    stoppers: list[Callable[[], None]] = []
    if redis_url is None:
        embedded_redis = start_redis(work_dir / "redis")
        redis_url = embedded_redis.url
        stoppers.append(embedded_redis.stop)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    if database_url is None:
        postgres = start_postgres(work_dir / "postgres")
        stoppers.append(postgres.stop)
        name, server_url = "bfa_bench", postgres.url
    else:
        name, server_url = f"bfa_bench_{os.getpid()}", database_url
    _recreate_database(server_url, name)
    stoppers.append(lambda: _drop_database(server_url, name))
    bench_database = _with_database(server_url, name)
    migrate(bench_database)
    return Services(bench_database, redis_url, database_url is None, stoppers)


def system_environment(services: Services, run_dir: Path) -> dict[str, str]:
    """Every setting that matters given explicitly: nothing is taken from `.env` or the shell
    that could point the run at real providers or change what is measured."""
    web_port, sandbox_port, smtp_port = free_port(), free_port(), free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    passed = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    return {
        **passed,
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "WEB_HOST": "127.0.0.1",
        "PORT": str(web_port),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
        "TRUSTED_PROXY": "",
        "MIDTRANS_SERVER_KEY": SANDBOX_SERVER_KEY,
        "MIDTRANS_CLIENT_KEY": "",
        "MIDTRANS_IS_PRODUCTION": "false",
        "MIDTRANS_VERIFY_WITH_STATUS_API": "true",
        "MIDTRANS_SNAP_BASE_URL": f"{sandbox}/snap/v1",
        "MIDTRANS_API_BASE_URL": sandbox,
        "SANDBOX_HOST": "127.0.0.1",
        "SANDBOX_PORT": str(sandbox_port),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_TLS": "none",
        "SMTP_USER": "",
        "SMTP_PASSWORD": "",
        "WHATSAPP_API_URL": f"{sandbox}/v21.0",
        "WHATSAPP_TOKEN": "sandbox-whatsapp-token",
        "WHATSAPP_PHONE_NUMBER_ID": "100000000000001",
        "ADMIN_TOKEN": "",
        "LOG_LEVEL": "warning",
        "LOG_FORMAT": "json",
        "VAR_DIR": str(run_dir),
        **RAISED_LIMITS,
        "PROMETHEUS_MULTIPROC_DIR": str(run_dir / "prometheus"),
        "dramatiq_prom_db": str(run_dir / "prometheus-dramatiq"),
        "dramatiq_prom_host": "127.0.0.1",
        "dramatiq_prom_port": str(free_port()),
    }


def expected_worker_processes(worker_args: list[str]) -> int:
    """How many worker processes the dramatiq master forks for these arguments."""
    for flag in ("-p", "--processes"):
        if flag in worker_args:
            return int(worker_args[worker_args.index(flag) + 1])
    return os.cpu_count() or 1


class System:
    """The project's processes for one run; `start(name)` and `stop(name)` by part name."""

    def __init__(self, services: Services, run_dir: Path, worker_args: list[str]) -> None:
        self.services = services
        self.run_dir = run_dir
        self.worker_args = worker_args
        self.env = system_environment(services, run_dir)
        self.settings: Settings = load_settings(self.env)
        for folder in ("logs", "prometheus", "prometheus-dramatiq"):
            (run_dir / folder).mkdir(parents=True, exist_ok=True)
        self.bare_port = free_port()
        self.commands = {
            **part_commands(self.settings, worker_args),
            "bare": [PYTHON, "-m", "harness.benchmarks.bare_app", str(self.bare_port)],
        }
        self.commands["bare"].append(str(BARE_APP_THREADS))
        self.processes: dict[str, subprocess.Popen] = {}
        self.redis = redis.Redis.from_url(services.redis_url)

    @property
    def web_url(self) -> str:
        return self.settings.public_base_url

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.sandbox_port}"

    @property
    def bare_url(self) -> str:
        return f"http://127.0.0.1:{self.bare_port}"

    def start(self, *names: str) -> None:
        for name in names:
            log = open(self.run_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - child owns it
            self.processes[name] = subprocess.Popen(
                self.commands[name],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
        for name in names:
            self._wait_ready(name)

    def _wait_ready(self, name: str, timeout: float = 60.0) -> None:
        ready = {
            "web": lambda: _answers(f"{self.web_url}/health/live"),
            "sandbox": lambda: _answers(f"{self.sandbox_url}/_sandbox/midtrans/faults"),
            "bare": lambda: _answers(self.bare_url, any_status=True),
            "worker": lambda: (
                len(worker_heartbeats(self.redis)) >= expected_worker_processes(self.worker_args)
            ),
            "scheduler": lambda: scheduler_heartbeat(self.redis)["alive"],
        }[name]
        deadline = time.monotonic() + timeout
        while not ready():
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited at start; see {self.run_dir}/logs/{name}.log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} was not ready within {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        self.redis.close()

    def process(self, name: str) -> psutil.Process | None:
        running = self.processes.get(name)
        if running is None or running.poll() is not None:
            return None
        try:
            return psutil.Process(running.pid)
        except psutil.NoSuchProcess:
            return None

    def error_lines(self) -> dict[str, int]:
        """ERROR and CRITICAL lines each part logged, less the intake phase's expected ones
        (its notifications for unknown orders are flagged at ERROR by design)."""
        counts = {}
        for log in sorted((self.run_dir / "logs").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()
            counts[log.stem] = sum(
                1
                for line in lines
                if any(marker in line for marker in ERROR_MARKERS) and EXPECTED_ERROR not in line
            )
        return counts


def _answers(url: str, any_status: bool = False) -> bool:
    try:
        status = httpx.get(url, timeout=1).status_code
    except httpx.TransportError:
        return False
    return any_status or status == 200
