"""`backup` and `restore`: a pg_dump archive plus a manifest that proves the restore is whole.

The manifest's table fingerprints are taken in the same snapshot as the dump (pg_dump
--snapshot), so a backup of a live system still matches its manifest exactly.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_REPEATABLE_READ

from admin import postgres_tools as pg
from runtime.settings import PROJECT_ROOT, Settings, load_settings

DUMP_FILE = "database.dump"
MANIFEST_FILE = "manifest.json"
SECRETS_FILE = "secrets.env"
MANIFEST_FORMAT = 1


class BackupError(Exception):
    """The backup or restore cannot go on; the message tells the operator why."""


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


def run_backup(args: argparse.Namespace) -> int:
    settings = _settings()
    secrets = secret_settings(settings) if args.include_secrets else None
    try:
        folder = create_backup(settings.database_url, args.dir, secrets)
    except (BackupError, pg.ToolError, psycopg2.Error) as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return 1
    manifest = read_manifest(folder)
    for table, digest in manifest["tables"].items():
        print(f"  {table}: {digest['rows']} rows")
    print(f"backup written to {folder} ({manifest['dump']['bytes']} bytes)")
    return 0


def create_backup(database_url: str, parent: Path, secrets: dict[str, str] | None = None) -> Path:
    """Dumps the database and writes the manifest last: a folder without one is incomplete,
    and a failed backup leaves no folder behind."""
    folder = _new_backup_folder(parent)
    try:
        manifest = _dump(database_url, folder)
        if secrets is not None:
            _write_secrets(folder / SECRETS_FILE, secrets)
            manifest.update(includes_secrets=True, secrets_file=SECRETS_FILE)
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def _dump(database_url: str, folder: Path) -> dict:
    """pg_dump and the table fingerprints from one exported snapshot; returns the manifest."""
    with pg.connected(database_url) as connection:
        connection.set_session(isolation_level=ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
        major = pg.server_major(connection)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
        pg_dump = pg.find_tool("pg_dump", major)
        arguments = ["--format=custom", f"--snapshot={snapshot}", f"--file={folder / DUMP_FILE}"]
        pg.run_tool(pg_dump, arguments, database_url)
        tables = pg.table_digests(connection)
        migrations = _applied_migrations(connection)
    return _manifest(database_url, server_version, pg_dump, folder / DUMP_FILE, tables, migrations)


def _new_backup_folder(parent: Path) -> Path:
    """`<parent>/20250101T120000Z`, readable by its owner only (it holds personal data)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(100):
        folder = parent / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return folder
    raise BackupError(f"could not create a new folder under {parent}")


def _applied_migrations(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return []
        cursor.execute("SELECT version FROM schema_migrations ORDER BY version")
        return [row[0] for row in cursor.fetchall()]


def _manifest(
    database_url: str,
    server_version: str,
    pg_dump: Path,
    dump: Path,
    tables: dict[str, pg.TableDigest],
    migrations: list[str],
) -> dict:
    """What was saved and how to check it; never credentials (the URL is reduced to its name)."""
    return {
        "format": MANIFEST_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"name": pg.database_name(database_url), "server_version": server_version},
        "schema_version": migrations[-1] if migrations else None,
        "migrations": migrations,
        "dump": {
            "file": dump.name,
            "bytes": dump.stat().st_size,
            "sha256": file_sha256(dump),
            "pg_dump_major": pg.tool_major(pg_dump),
        },
        "tables": {
            name: {"rows": digest.rows, "sha256": digest.sha256} for name, digest in tables.items()
        },
        "includes_secrets": False,
    }


def secret_settings(settings: Settings) -> dict[str, str]:
    """The settings needed to bring the shop back on a new machine, by environment name."""
    values = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "MIDTRANS_SERVER_KEY": settings.midtrans_server_key,
        "MIDTRANS_CLIENT_KEY": settings.midtrans_client_key,
        "SMTP_USER": settings.smtp_user,
        "SMTP_PASSWORD": settings.smtp_password,
        "WHATSAPP_TOKEN": settings.whatsapp_token,
        "ADMIN_TOKEN": settings.admin_token,
    }
    return {name: value or "" for name, value in values.items()}


def _write_secrets(path: Path, secrets: dict[str, str]) -> None:
    """A .env-style file only its owner can read, created that way (never chmod-ed later)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(descriptor, "w") as secrets_file:
        secrets_file.writelines(f"{name}={json.dumps(value)}\n" for name, value in secrets.items())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as dump:
        for block in iter(lambda: dump.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        raise BackupError(f"{folder} has no {MANIFEST_FILE}: not a complete backup") from None
    if manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{folder}: unknown manifest format {manifest.get('format')!r}")
    return manifest


def run_restore(args: argparse.Namespace) -> int:
    configured_url = _settings().database_url
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


def verified_manifest(folder: Path) -> dict:
    """The manifest, once the dump's checksum proves the archive is the one it describes."""
    manifest = read_manifest(folder)
    dump = folder / manifest["dump"]["file"]
    if not dump.is_file():
        raise BackupError(f"{dump} is missing")
    if file_sha256(dump) != manifest["dump"]["sha256"]:
        raise BackupError(f"{dump} does not match the manifest checksum: the backup is damaged")
    return manifest


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


def table_mismatches(expected: dict[str, dict], restored: dict[str, pg.TableDigest]) -> list[str]:
    """One line per table whose rows or contents differ from the manifest."""
    problems = []
    for table, digest in expected.items():
        found = restored.get(table)
        if found is None:
            problems.append(f"{table}: missing after restore")
        elif found.rows != digest["rows"]:
            problems.append(f"{table}: {found.rows} rows, expected {digest['rows']}")
        elif found.sha256 != digest["sha256"]:
            problems.append(f"{table}: contents differ from the backup")
    return problems


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
        f"Restore {folder} ({manifest['created_at']}, {orders} orders) into database "
        f"{pg.database_name(target_url)!r}? Type 'yes' to continue: ",
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
        print(f"  {table}: {digest['rows']} rows, contents match")
    print(f"restored into {name!r}; point DATABASE_URL at it and restart the services")
    return 0


def _settings() -> Settings:
    settings = load_settings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL must be set (./run.sh admin sets it for the embedded one)")
    return settings
