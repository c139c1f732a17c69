"""Applies schema/NNNN_*.sql in order, each in its own transaction, once, under an advisory lock."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg2

SCHEMA_DIR = Path(__file__).resolve().parent
# Any constant works; it only has to be the same for every process that migrates this database.
_MIGRATION_LOCK_KEY = 7_001_002_003
CONNECT_TIMEOUT_SECONDS = 10

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)"""


class MigrationError(Exception):
    """An applied migration file was changed afterwards, or a file failed to apply."""


def migration_files(schema_dir: Path = SCHEMA_DIR) -> list[Path]:
    """The numbered SQL files in the order they apply."""
    return sorted(schema_dir.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _applied(cursor) -> dict[str, str]:
    cursor.execute("SELECT version, checksum FROM schema_migrations")
    return dict(cursor.fetchall())


def _apply(connection, path: Path) -> None:
    with connection, connection.cursor() as cursor:
        cursor.execute(path.read_text())
        cursor.execute(
            "INSERT INTO schema_migrations (version, checksum) VALUES (%s, %s)",
            (path.stem, _checksum(path)),
        )


def pending_migrations(database_url: str, schema_dir: Path = SCHEMA_DIR) -> list[str]:
    """Versions not yet applied (empty when the database is current)."""
    connection = psycopg2.connect(database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
            applied = _applied(cursor) if cursor.fetchone()[0] else {}
        return [path.stem for path in migration_files(schema_dir) if path.stem not in applied]
    finally:
        connection.close()


def migrate(database_url: str, schema_dir: Path = SCHEMA_DIR) -> list[str]:
    """Applies pending migrations; returns the versions applied (none the second time).

    The advisory lock belongs to the session, so `database_url` must be a direct connection
    (MIGRATION_DATABASE_URL), never PgBouncer in transaction mode."""
    connection = psycopg2.connect(database_url, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    connection.autocommit = False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")  # a role's default must not cut DDL short
            cursor.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
        try:
            return _apply_pending(connection, schema_dir)
        finally:
            with connection.cursor() as cursor:
                connection.rollback()
                cursor.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_KEY,))
            connection.commit()
    finally:
        connection.close()


def _apply_pending(connection, schema_dir: Path) -> list[str]:
    with connection, connection.cursor() as cursor:
        cursor.execute(_CREATE_LEDGER)
        applied = _applied(cursor)
    done = []
    for path in migration_files(schema_dir):
        if path.stem in applied:
            if applied[path.stem] != _checksum(path):
                raise MigrationError(f"{path.name} changed after it was applied")
            continue
        try:
            _apply(connection, path)
        except psycopg2.Error as error:
            raise MigrationError(f"{path.name} failed: {error}") from error
        done.append(path.stem)
    return done
