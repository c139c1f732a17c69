"""`backup` and `restore`: a pg_dump archive plus a manifest that proves the restore is whole.

The manifest's table fingerprints are taken in the same snapshot as the dump (pg_dump
--snapshot), so a backup of a live system still matches its manifest exactly.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_REPEATABLE_READ

from admin import postgres_tools as pg
from admin.backup_folder import (
    DUMP_FILE,
    SECRETS_FILE,
    BackupError,
    build_manifest,
    new_backup_folder,
    read_manifest,
    table_mismatches,
    verified_manifest,
    write_manifest,
    write_secrets,
)
from admin.context import AdminContext
from admin.restic import ResticError, keep_snapshot_time, store_snapshot
from config.settings import PROJECT_ROOT, OffsiteSettings, Settings
from messaging.contract import last_backup_key
from models.order_rows import counted
from models.wib import wib_text


def register(subparsers: argparse._SubParsersAction) -> None:
    backup = subparsers.add_parser("backup", help="dump the database into a timestamped folder")
    backup.add_argument(
        "--dir",
        type=Path,
        default=PROJECT_ROOT / "backups",
        help="parent folder of the backup (default: backups/)",
    )
    backup.add_argument(
        "--include-secrets",
        action="store_true",
        help="also write secrets.env with the database URL and API keys",
    )
    backup.set_defaults(handler=run_backup)
    restore = subparsers.add_parser(
        "restore", help="restore a backup folder into an empty database"
    )
    restore.add_argument("backup_dir", type=Path, metavar="DIR")
    restore.add_argument(
        "--database",
        metavar="NAME",
        help="restore into this database on the same server (created if missing)",
    )
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.set_defaults(handler=run_restore)


def run_backup(args: argparse.Namespace, admin: AdminContext) -> int:
    settings = admin.settings
    secrets = secret_settings(settings) if args.include_secrets else None
    try:
        folder = create_backup(settings.database_url, args.dir, secrets)
    except (BackupError, pg.ToolError, psycopg2.Error) as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return 1
    manifest = read_manifest(folder)
    for table, digest in manifest["tables"].items():
        print(f"  {table}: {counted(digest['rows'], 'row')}")
    admin.enqueuer.redis.set(last_backup_key(), int(time.time()))  # for the backup_overdue alarm
    print(f"backup written to {folder} ({manifest['dump']['bytes']} bytes)")
    if settings.offsite.enabled:
        return _store_offsite(settings.offsite, folder, admin)
    return 0


def _store_offsite(offsite: OffsiteSettings, folder: Path, admin: AdminContext) -> int:
    """The folder as a restic snapshot (encrypted, off the machine), retention applied."""
    try:
        snapshot_id = store_snapshot(offsite, folder)
    except ResticError as error:
        print(f"off-site copy failed: {error}", file=sys.stderr)
        return 1
    keep_snapshot_time(admin.enqueuer.redis, datetime.now(UTC))
    print(f"off-site snapshot {snapshot_id[:8]} stored in the restic repository")
    return 0


def create_backup(database_url: str, parent: Path, secrets: dict[str, str] | None = None) -> Path:
    """Dumps the database and writes the manifest last: a folder without one is incomplete,
    and a failed backup leaves no folder behind."""
    folder = new_backup_folder(parent)
    try:
        manifest = _dump(database_url, folder)
        if secrets is not None:
            write_secrets(folder / SECRETS_FILE, secrets)
            manifest.update(includes_secrets=True, secrets_file=SECRETS_FILE)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    write_manifest(folder, manifest)
    return folder


def _dump(database_url: str, folder: Path) -> dict:
    """pg_dump and the table fingerprints from one exported snapshot; returns the manifest."""
    with pg.connected(database_url) as connection:
        connection.set_session(isolation_level=ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
        pg.disable_session_timeouts(connection)
        major = pg.server_major(connection)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
        pg_dump = pg.find_tool("pg_dump", major)
        arguments = ["--format=custom", f"--snapshot={snapshot}", f"--file={folder / DUMP_FILE}"]
        pg.run_tool(pg_dump, arguments, database_url)
        # pg_dump creates its file with the umask's mode (often 0644): owner-only, like the
        # folder, so a copy made with its modes kept (cp -p, rsync -a) stays private.
        (folder / DUMP_FILE).chmod(0o600)
        tables = pg.table_digests(connection)
        migrations = _applied_migrations(connection)
    return build_manifest(
        pg.database_name(database_url),
        server_version,
        pg.tool_major(pg_dump),
        folder / DUMP_FILE,
        tables,
        migrations,
    )


def _applied_migrations(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return []
        cursor.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [row[0] for row in cursor.fetchall()]


def secret_settings(settings: Settings) -> dict[str, str]:
    """The settings needed to bring the shop back on a new machine, by environment name."""
    values = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "MIDTRANS_SERVER_KEY": settings.midtrans.server_key,
        "MIDTRANS_CLIENT_KEY": settings.midtrans.client_key,
        "SMTP_USER": settings.smtp.user,
        "SMTP_PASSWORD": settings.smtp.password,
        "WHATSAPP_TOKEN": settings.whatsapp.token,
        "ADMIN_TOKEN": settings.admin_token,
    }
    return {name: value or "" for name, value in values.items()}


def run_restore(args: argparse.Namespace, admin: AdminContext) -> int:
    configured_url = admin.settings.database_url
    target_url = (
        pg.with_database(configured_url, args.database) if args.database else configured_url
    )
    try:
        manifest = verified_manifest(args.backup_dir)
        _refuse_non_empty(configured_url, target_url)
        if not (args.yes or _confirmed(args.backup_dir, manifest, target_url)):
            print("restore cancelled", file=sys.stderr)
            return 1
        mismatches = restore_backup(args.backup_dir, manifest, configured_url, target_url)
    except (BackupError, pg.ToolError, psycopg2.Error) as error:
        print(f"restore failed: {error}", file=sys.stderr)
        return 1
    return _report_restore(manifest, target_url, mismatches)


def restore_backup(folder: Path, manifest: dict, server_url: str, target_url: str) -> list[str]:
    """Restores into `target_url` (created if missing); returns the tables that differ."""
    _create_database_if_missing(server_url, pg.database_name(target_url))
    with pg.connected(target_url) as connection:
        major = pg.server_major(connection)
    pg_restore = pg.find_tool("pg_restore", major)
    pg.run_tool(
        pg_restore,
        [
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            str(folder / manifest["dump"]["file"]),
        ],
        target_url,
    )
    with pg.connected(target_url) as connection:
        restored = pg.table_digests(connection)
    return table_mismatches(manifest["tables"], restored)


def _refuse_non_empty(server_url: str, target_url: str) -> None:
    """Restoring over live data would mix two histories: only empty databases are targets."""
    if not _database_exists(server_url, pg.database_name(target_url)):
        return
    with pg.connected(target_url) as connection:
        tables = pg.table_names(connection)
    if tables:
        raise BackupError(
            f"database {pg.database_name(target_url)!r} is not empty "
            f"({len(tables)} tables): restore into a new one with --database NAME"
        )


def _database_exists(server_url: str, name: str) -> bool:
    with pg.connected(server_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return cursor.fetchone() is not None


def _create_database_if_missing(server_url: str, name: str) -> None:
    if _database_exists(server_url, name):
        return
    # CREATE DATABASE cannot run inside a transaction
    with pg.connected(server_url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _confirmed(folder: Path, manifest: dict, target_url: str) -> bool:
    orders = manifest["tables"].get("orders", {}).get("rows", "?")
    print(
        f"Restore {folder} (taken {wib_text(manifest['created_at'])}, {orders} orders) into "
        f"database {pg.database_name(target_url)!r}? Type 'yes' to continue: ",
        end="",
        flush=True,
    )
    try:
        return input().strip().lower() == "yes"
    except EOFError:
        return False


def _report_restore(manifest: dict, target_url: str, mismatches: list[str]) -> int:
    name = pg.database_name(target_url)
    if mismatches:
        for line in mismatches:
            print(f"MISMATCH {line}", file=sys.stderr)
        print(f"restore into {name!r} does NOT match the backup", file=sys.stderr)
        return 1
    for table, digest in manifest["tables"].items():
        print(f"  {table}: {counted(digest['rows'], 'row')}, contents match")
    print(f"restored into {name!r}; point DATABASE_URL at it and restart the services")
    return 0
