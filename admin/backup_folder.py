"""What a backup folder holds and how it is checked: the dump, the manifest that proves a
restore whole, and the optional secrets file. Files only; the database work is in backup.py.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from admin.postgres_tools import TableDigest

DUMP_FILE = "database.dump"
MANIFEST_FILE = "manifest.json"
SECRETS_FILE = "secrets.env"
MANIFEST_FORMAT = 1


class BackupError(Exception):
    """The backup or restore cannot go on; the message tells the operator why."""


def new_backup_folder(parent: Path) -> Path:
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


def build_manifest(
    database_name: str,
    server_version: str,
    pg_dump_major: int | None,
    dump: Path,
    tables: dict[str, TableDigest],
    migrations: list[str],
) -> dict:
    """What was saved and how to check it; never credentials (the database only by name)."""
    return {
        "format": MANIFEST_FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"name": database_name, "server_version": server_version},
        "schema_version": migrations[-1] if migrations else None,
        "migrations": migrations,
        "dump": {
            "file": dump.name,
            "bytes": dump.stat().st_size,
            "sha256": file_sha256(dump),
            "pg_dump_major": pg_dump_major,
        },
        "tables": {
            name: {"rows": digest.rows, "sha256": digest.sha256} for name, digest in tables.items()
        },
        "includes_secrets": False,
    }


def write_manifest(folder: Path, manifest: dict) -> None:
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")


def write_secrets(path: Path, secrets: dict[str, str]) -> None:
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


def verified_manifest(folder: Path) -> dict:
    """The manifest, once the dump's checksum proves the archive is the one it describes."""
    manifest = read_manifest(folder)
    dump = folder / manifest["dump"]["file"]
    if not dump.is_file():
        raise BackupError(f"{dump} is missing")
    if file_sha256(dump) != manifest["dump"]["sha256"]:
        raise BackupError(f"{dump} does not match the manifest checksum: the backup is damaged")
    return manifest


def table_mismatches(expected: dict[str, dict], restored: dict[str, TableDigest]) -> list[str]:
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
