"""Embedded PostgreSQL and Redis, for ./run.sh and tests when DATABASE_URL / REDIS_URL are unset.

For process managers:

    python -m local.embedded start|stop|status <var_dir>

uses `<var_dir>/postgres` and `<var_dir>/redis`. `start` prints `export DATABASE_URL=...` and
`export REDIS_URL=...` lines for `eval`; `status` exits 0 only when both servers run, else 3.
"""

import argparse
import shlex
import sys
from pathlib import Path

from local.embedded_postgres import (
    EmbeddedPostgres,
    postgres_pid,
    start_postgres,
    stop_postgres,
)
from local.embedded_redis import EmbeddedRedis, redis_pid, start_redis, stop_redis
from local.server_process import EmbeddedServerError

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "postgres_pid",
    "redis_pid",
    "start_postgres",
    "start_redis",
    "stop_postgres",
    "stop_redis",
]


def _start(var_dir: Path) -> int:
    postgres = start_postgres(var_dir / "postgres")
    redis_server = start_redis(var_dir / "redis")
    print(f"export DATABASE_URL={shlex.quote(postgres.url)}")
    print(f"export REDIS_URL={shlex.quote(redis_server.url)}")
    return 0


def _stop(var_dir: Path) -> int:
    stop_redis(var_dir / "redis")
    stop_postgres(var_dir / "postgres")
    return 0


def _status(var_dir: Path) -> int:
    pids = {"postgres": postgres_pid(var_dir / "postgres"), "redis": redis_pid(var_dir / "redis")}
    for name, pid in pids.items():
        print(f"{name}: running (pid {pid})" if pid else f"{name}: stopped")
    return 0 if all(pids.values()) else 3


COMMANDS = {"start": _start, "stop": _stop, "status": _status}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.embedded", description=__doc__)
    parser.add_argument("command", choices=COMMANDS)
    parser.add_argument("var_dir", type=Path)
    arguments = parser.parse_args(argv)
    try:
        return COMMANDS[arguments.command](arguments.var_dir)
    except EmbeddedServerError as error:
        print(f"embedded {arguments.command} failed: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
