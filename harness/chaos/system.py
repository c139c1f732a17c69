"""The system under test, run the way production runs it: its own embedded PostgreSQL and Redis
(restartable on the same folders), the sandbox in this process, and the web, the workers and the
scheduler as child processes, each in its own process group with an explicit environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config.settings import PROJECT_ROOT, SANDBOX_SERVER_KEY, load_settings
from harness.sandbox.server import SandboxConfig, SandboxHandle, start_sandbox
from local.embedded import start_postgres, start_redis, stop_postgres, stop_redis
from schema.migrate import migrate

PYTHON = sys.executable
WEB_COMMAND = [PYTHON, "-m", "web.server"]
SCHEDULER_COMMAND = [PYTHON, "-m", "tasks.scheduler"]
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
SANDBOX_HTTP_THREADS = 48  # a hung Status API holds one thread per call
STOP_GRACE_SECONDS = 15
RESTART_DELAY_SECONDS = 1.0  # what a supervisor with RestartSec=1 does


def worker_command(threads: int) -> list[str]:
    return [PYTHON, "-m", "dramatiq", "tasks.bare_worker", "-p", "1", "-t", str(threads)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Tuning:
    """Settings a run gives the system: shorter waits than production so it heals in minutes."""

    worker_processes: int = 2
    worker_threads: int = 4
    retry_schedule: str = "5,10,20,40"
    breaker_reset_seconds: int = 3
    stuck_after_seconds: int = 45
    whatsapp_status_grace_seconds: int = 30

    def environment(self) -> dict[str, str]:
        return {
            "CHECKOUT_RATE_LIMIT_PER_MINUTE": "1000000",
            "UNPAID_MESSAGES_PER_HOUR": "1000000",
            "LOG_LEVEL": "warning",
            "LOG_FORMAT": "pretty",
            "NOTIFICATION_RETRY_SCHEDULE_SECONDS": self.retry_schedule,
            "NOTIFICATION_BREAKER_RESET_SECONDS": str(self.breaker_reset_seconds),
            "NOTIFICATION_STUCK_AFTER_SECONDS": str(self.stuck_after_seconds),
            "WHATSAPP_STATUS_GRACE_SECONDS": str(self.whatsapp_status_grace_seconds),
            "MIDTRANS_RATE_PER_SECOND": "500",
            "EMAIL_RATE_PER_SECOND": "200",
            "WHATSAPP_RATE_PER_SECOND": "200",
        }


@dataclass
class ManagedProcess:
    """One child in its own process group; `wanted` says whether it should be running."""

    name: str
    command: list[str]
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    wanted: bool = False
    unplanned_exits: list[dict] = field(default_factory=list)

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=self.env,
            )
        self.wanted = True

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill_hard(self) -> None:
        """SIGKILL for the whole group (the dramatiq master and its worker): no ack, no requeue."""
        self.wanted = False
        if self.running():
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.wanted = False
        if not self.running():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def exited_unasked(self) -> bool:
        return self.wanted and not self.running()


class System:
    """Start, stop and restart every part; `supervise` restarts a part that died unasked."""

    def __init__(self, work_dir: Path, tuning: Tuning) -> None:
        self.work_dir = work_dir
        self.tuning = tuning
        self.logs_dir = work_dir / "logs"
        self.web_port = free_port()
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.database_url = ""
        self.redis_url = ""
        self.sandbox: SandboxHandle | None = None
        self.web: ManagedProcess | None = None
        self.scheduler: ManagedProcess | None = None
        self.workers: list[ManagedProcess] = []
        self._lock = threading.Lock()
        self._stop_supervising = threading.Event()

    @property
    def postgres_dir(self) -> Path:
        return self.work_dir / "postgres"

    @property
    def redis_dir(self) -> Path:
        return self.work_dir / "redis"

    @property
    def sandbox_url(self) -> str:
        return self.sandbox.base_url

    def start(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = start_postgres(self.postgres_dir).url
        self.redis_url = start_redis(self.redis_dir).url
        migrate(self.database_url)
        self.sandbox = start_sandbox(
            SandboxConfig(
                http_port=0,
                smtp_port=0,
                server_key=SANDBOX_SERVER_KEY,
                notification_url=f"{self.web_url}/webhooks/midtrans",
                http_threads=SANDBOX_HTTP_THREADS,
                # Meta's callbacks, which close the double send of a worker killed after Meta
                # accepted a message (WHATSAPP_STATUS_GRACE_SECONDS).
                whatsapp_status_callbacks=("sent", "delivered"),
            )
        )
        env = self.environment()
        load_settings(env)  # a bad value stops the run here, with the setting's name
        self.web = ManagedProcess("web", WEB_COMMAND, self.logs_dir / "web.log", env)
        self.scheduler = ManagedProcess(
            "scheduler", SCHEDULER_COMMAND, self.logs_dir / "scheduler.log", env
        )
        command = worker_command(self.tuning.worker_threads)
        self.workers = [
            ManagedProcess(f"worker-{n}", command, self.logs_dir / f"worker-{n}.log", env)
            for n in range(1, self.tuning.worker_processes + 1)
        ]
        for part in (self.web, self.scheduler, *self.workers):
            part.start()
        self._wait_for_web()
        threading.Thread(target=self._supervise, name="chaos-supervisor", daemon=True).start()

    def environment(self) -> dict[str, str]:
        """Everything the parts need, explicitly: nothing is left to this shell or a .env."""
        inherited = {name: os.environ[name] for name in INHERITED if name in os.environ}
        return {
            **inherited,
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PORT": str(self.web_port),
            "WEB_HOST": "127.0.0.1",
            "PUBLIC_BASE_URL": self.web_url,
            "MIDTRANS_SERVER_KEY": SANDBOX_SERVER_KEY,
            "MIDTRANS_IS_PRODUCTION": "false",
            "MIDTRANS_VERIFY_WITH_STATUS_API": "true",
            "MIDTRANS_SNAP_BASE_URL": f"{self.sandbox.base_url}/snap/v1",
            "MIDTRANS_API_BASE_URL": self.sandbox.base_url,
            "SMTP_HOST": self.sandbox.smtp_host,
            "SMTP_PORT": str(self.sandbox.smtp_port),
            "SMTP_TLS": "none",
            "SMTP_USER": "",
            "SMTP_PASSWORD": "",
            "WHATSAPP_API_URL": f"{self.sandbox.base_url}/v21.0",
            "PAYMENT_EXPIRY_MINUTES": "1440",
            "VAR_DIR": str(self.work_dir / "var"),
            **self.tuning.environment(),
        }

    def _wait_for_web(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.web_url}/health/live", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"the web did not answer within {timeout:.0f} s; see {self.logs_dir}")

    def _supervise(self) -> None:
        while not self._stop_supervising.wait(0.5):
            with self._lock:
                for part in self._parts():
                    if part.exited_unasked():
                        part.unplanned_exits.append(
                            {"at": time.time(), "returncode": part.process.returncode}
                        )
                        part.start()

    def _parts(self) -> list[ManagedProcess]:
        return [part for part in (self.web, self.scheduler, *self.workers) if part is not None]

    def kill_worker(self, index: int) -> float:
        """kill -9 of one worker's process group; the wall-clock time of the kill."""
        with self._lock:
            self.workers[index].kill_hard()
            return time.time()

    def restart_worker(self, index: int) -> None:
        with self._lock:
            self.workers[index].start()

    def restart_redis(self, down_seconds: float) -> None:
        stop_redis(self.redis_dir)
        time.sleep(down_seconds)
        restarted = start_redis(self.redis_dir)
        assert restarted.url == self.redis_url, "Redis came back on another address"

    def restart_postgres(self, down_seconds: float) -> None:
        stop_postgres(self.postgres_dir)
        time.sleep(down_seconds)
        restarted = start_postgres(self.postgres_dir)
        assert restarted.url == self.database_url, "PostgreSQL came back on another address"

    def unplanned_exits(self) -> dict[str, list[dict]]:
        return {part.name: part.unplanned_exits for part in self._parts() if part.unplanned_exits}

    def stop(self) -> None:
        self._stop_supervising.set()
        with self._lock:
            for part in self._parts():
                part.stop()
        if self.sandbox is not None:
            self.sandbox.stop()
        stop_redis(self.redis_dir)
        stop_postgres(self.postgres_dir)
