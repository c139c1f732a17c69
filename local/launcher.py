"""`./run.sh [all|web|worker|scheduler|migrate|sandbox|admin]`: one entry point for every part.

`all` starts embedded PostgreSQL/Redis when their URLs are unset, migrates, starts the sandbox when
MIDTRANS_SERVER_KEY is unset, then the web, the workers and the scheduler; it restarts a part that
dies, and Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import closing

import psycopg2
from loguru import logger

from config.logs import configure_logging
from config.settings import SANDBOX_ADMIN_TOKEN, Settings, SettingsError, load_settings
from local.service_urls import ServiceUrls, resolve_service_urls
from messaging.redis import redis_client
from schema.migrate import CONNECT_TIMEOUT_SECONDS, migrate

PYTHON = sys.executable
ONE_SHOT_PARTS = ("admin", "migrate")  # commands that end, unlike the services


def part_commands(settings: Settings, worker_args: list[str]) -> dict[str, list[str]]:
    """The processes `all` runs, by name."""
    bin_dir = os.path.dirname(PYTHON)
    commands = {
        "web": [PYTHON, "-m", "web.server"],
        "worker": [os.path.join(bin_dir, "dramatiq"), "tasks.worker", *worker_args],
        "scheduler": [PYTHON, "-m", "tasks.scheduler"],
    }
    if settings.uses_sandbox:
        commands = {"sandbox": [PYTHON, "-m", "harness.sandbox"], **commands}
    return commands


def child_environment(settings: Settings, urls: ServiceUrls) -> dict[str, str]:
    """The environment every part gets: the settings' own plus the resolved service URLs."""
    env = {
        **os.environ,
        "DATABASE_URL": urls.database_url,
        "REDIS_URL": urls.redis_url,
        "PUBLIC_BASE_URL": settings.public_base_url,
    }
    # Metrics locations: the operator's values win (e.g. two workers on one host).
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.var_dir / "prometheus"))
    env.setdefault("dramatiq_prom_db", str(settings.var_dir / "prometheus-dramatiq"))
    env.setdefault("dramatiq_prom_host", "127.0.0.1")
    return env


def _clear_metrics_dirs(env: dict[str, str], keys: tuple[str, ...]) -> None:
    """Prometheus multiprocess files from a previous run would report stale numbers."""
    import shutil

    for key in keys:
        shutil.rmtree(env[key], ignore_errors=True)
        os.makedirs(env[key], exist_ok=True)


def _migrate(settings: Settings, urls: ServiceUrls) -> None:
    """On MIGRATION_DATABASE_URL, a direct connection, when DATABASE_URL goes through PgBouncer."""
    applied = migrate(settings.migration_database_url or urls.database_url)
    logger.info("Migrations applied: {}", ", ".join(applied) if applied else "none pending")


def run_all(settings: Settings, worker_args: list[str]) -> int:
    # Imported here: the supervisor needs psutil from the local lock, which production lacks.
    from local.supervisor import Supervisor

    urls = resolve_service_urls(settings)
    try:
        _migrate(settings, urls)
        env = child_environment(settings, urls)
        _clear_metrics_dirs(env, ("PROMETHEUS_MULTIPROC_DIR", "dramatiq_prom_db"))
        supervisor = Supervisor(settings.var_dir / "launcher.pids", env)
        supervisor.start(part_commands(settings, worker_args))
        _wait_until_serving(settings)
        _print_urls(settings)
        return supervisor.wait()
    finally:
        urls.stop_embedded()
        logger.info("Stopped")


def _wait_until_serving(settings: Settings, timeout: float = 30.0) -> None:
    """The URLs are printed once the web answers, so the first click works."""
    import time
    import urllib.request

    wildcard = settings.web_host in ("", "0.0.0.0", "::")  # noqa: S104 - comparing, not binding
    host = "127.0.0.1" if wildcard else settings.web_host
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{host}:{settings.port}/health/live", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    logger.warning("The web did not answer within {:.0f} s; check its log lines above", timeout)


def _print_urls(settings: Settings) -> None:
    lines = [
        f"Shop:        {settings.public_base_url}/",
        f"Admin:       {settings.public_base_url}/admin",
        f"Health:      {settings.public_base_url}/health",
    ]
    if settings.uses_sandbox:
        lines.append(
            f"Sandbox:     http://127.0.0.1:{settings.sandbox_port}/_sandbox/ "
            f"(payments, mail, WhatsApp)"
        )
    if settings.admin_token == SANDBOX_ADMIN_TOKEN:  # one the owner chose is never printed
        lines.append(f"Admin token: {settings.admin_token} (sandbox default; set ADMIN_TOKEN)")
    print("\n".join(["", *lines, "Press Ctrl-C to stop.", ""]), flush=True)


def run_one(settings: Settings, part: str, args: list[str]) -> int:
    """Runs one part in the foreground with service URLs resolved (embedded if unset)."""
    if part in ONE_SHOT_PARTS:
        return run_one_shot(settings, part, args)
    urls = resolve_service_urls(settings)
    env = child_environment(settings, urls)
    command = {**part_commands(settings, args), "sandbox": [PYTHON, "-m", "harness.sandbox"]}[part]
    if part == "worker":  # the dramatiq master's files only; web instances may share theirs
        _clear_metrics_dirs(env, ("dramatiq_prom_db",))
    os.execve(command[0], command, env)
    return 1  # not reached


def run_one_shot(settings: Settings, part: str, args: list[str]) -> int:
    """`admin` and `migrate` end when their work is done, and so do the embedded servers they had
    to start: `./run.sh admin verify` on a stopped checkout used to leave PostgreSQL and Redis
    running for good. A server that ran before is left alone, and so is one that another process
    (a `./run.sh` or a worker started meanwhile) is connected to when the command ends."""
    running_before = _embedded_running(settings)
    urls = resolve_service_urls(settings)
    try:
        if part == "migrate":
            _migrate(settings, urls)
            return 0
        return _run_in_foreground(
            [PYTHON, "-m", "admin.cli", *args], child_environment(settings, urls)
        )
    finally:
        _stop_unused_embedded(settings, urls, running_before)


def _run_in_foreground(command: list[str], env: dict[str, str]) -> int:
    """Ctrl-C reaches the command itself (it asks, or stops cleanly); the launcher waits for it
    so that it can tidy up afterwards."""
    child = subprocess.Popen(command, env=env)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    return code if code >= 0 else 128 - code


def _embedded_running(settings: Settings) -> set[str]:
    """Which embedded servers this checkout uses and that already run."""
    if settings.database_url and settings.redis_url:
        return set()
    # Imported here: the embedded servers' packages load only when one is used.
    from local.embedded import postgres_pid, redis_pid

    running = set()
    if not settings.database_url and postgres_pid(settings.var_dir / "postgres"):
        running.add("postgres")
    if not settings.redis_url and redis_pid(settings.var_dir / "redis"):
        running.add("redis")
    return running


def _stop_unused_embedded(settings: Settings, urls: ServiceUrls, running_before: set[str]) -> None:
    if settings.database_url and settings.redis_url:
        return
    # Imported here: the embedded servers' packages load only when one is used.
    from local.embedded import stop_postgres, stop_redis

    if not settings.redis_url and "redis" not in running_before and _redis_unused(urls.redis_url):
        stop_redis(settings.var_dir / "redis")
    if (
        not settings.database_url
        and "postgres" not in running_before
        and _postgres_unused(urls.database_url)
    ):
        stop_postgres(settings.var_dir / "postgres")


def _redis_unused(url: str) -> bool:
    with redis_client(url) as client:
        return len(client.client_list()) <= 1  # this connection only


def _postgres_unused(url: str) -> bool:
    connection = psycopg2.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    with closing(connection), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] == 0


def main(argv: list[str]) -> int:
    part, args = (argv[0], argv[1:]) if argv else ("all", [])
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if part == "all":
        return run_all(settings, args)
    if part in ("web", "worker", "scheduler", "migrate", "sandbox", "admin"):
        return run_one(settings, part, args)
    print(f"Unknown part {part!r}; see ./run.sh help", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
