"""The off-site copy of a backup folder: a restic snapshot, kept by a retention policy, and
restored by the drill. restic (Debian's package) does the encryption and speaks every backend;
each call here has a timeout, so a hung network mount fails the backup instead of hanging it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import redis

from config.settings import OffsiteSettings
from messaging.contract import offsite_snapshot_key

TAG = "bfa-backup"  # our snapshots, should the repository hold others too
RETENTION = ("--keep-daily", "14", "--keep-weekly", "8", "--keep-monthly", "12")
BACKUP_TIMEOUT_SECONDS = 3600  # an upload of the dump over a slow line
QUICK_TIMEOUT_SECONDS = 600  # listing snapshots, forget + prune, restoring one dump
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


class ResticError(Exception):
    """restic failed or timed out; the message is restic's own last words."""


def restic(offsite: OffsiteSettings, arguments: list[str], timeout: float) -> str:
    """Runs restic on the configured repository; returns its standard output."""
    binary = shutil.which("restic") or "/usr/bin/restic"
    environment = os.environ | {
        "RESTIC_REPOSITORY": offsite.repository,
        "RESTIC_PASSWORD_FILE": offsite.password_file,
    }
    try:
        finished = subprocess.run(
            [binary, *arguments],
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ResticError(f"restic {arguments[0]} timed out after {timeout:.0f} s") from None
    except OSError as error:
        raise ResticError(f"restic could not run: {error}") from None
    if finished.returncode != 0:
        last_words = " ".join(finished.stderr.strip().splitlines()[-3:])
        raise ResticError(f"restic {arguments[0]} failed: {last_words or finished.returncode}")
    return finished.stdout


def store_snapshot(offsite: OffsiteSettings, folder: Path) -> str:
    """The backup folder as a new snapshot, then the retention policy applied (forget + prune);
    returns the snapshot's id."""
    output = restic(
        offsite, ["backup", "--json", "--tag", TAG, str(folder)], BACKUP_TIMEOUT_SECONDS
    )
    summary = [line for line in output.splitlines() if '"summary"' in line]
    snapshot_id = json.loads(summary[-1]).get("snapshot_id", "") if summary else ""
    restic(offsite, ["forget", "--tag", TAG, *RETENTION, "--prune"], QUICK_TIMEOUT_SECONDS)
    return snapshot_id


def newest_snapshot(offsite: OffsiteSettings) -> dict | None:
    """The newest of our snapshots as restic lists it (`id`, `time`, `paths`), or None."""
    output = restic(offsite, ["snapshots", "--json", "--tag", TAG], QUICK_TIMEOUT_SECONDS)
    snapshots = json.loads(output or "[]") or []
    return max(snapshots, key=snapshot_time, default=None)


def snapshot_time(snapshot: dict) -> datetime:
    """restic's time (nanoseconds, an offset) as an aware datetime."""
    return datetime.fromisoformat(_FRACTION.sub(r"\1", snapshot["time"])).astimezone(UTC)


def keep_snapshot_time(client: redis.Redis, taken: datetime) -> None:
    """The newest off-site snapshot's time, for the alarm check (offsite_backup_overdue)."""
    client.set(offsite_snapshot_key(), int(taken.timestamp()))


def restore_snapshot(offsite: OffsiteSettings, snapshot_id: str, target: Path) -> Path:
    """Restores the snapshot under `target`; returns the backup folder it held."""
    restic(offsite, ["restore", snapshot_id, "--target", str(target)], QUICK_TIMEOUT_SECONDS)
    manifests = sorted(target.rglob("manifest.json"))
    if not manifests:
        raise ResticError(f"snapshot {snapshot_id} holds no backup folder (no manifest.json)")
    return manifests[0].parent
