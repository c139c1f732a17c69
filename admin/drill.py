"""`drill`: proves the off-site backups bring the shop back. Restores the newest restic snapshot
into a scratch database, verifies every table against the backup's manifest (as `restore`
does), drops the scratch database and reports; the result is kept in Redis for the alarm
check (`backup_drill_failed`). bfa-drill.timer runs it weekly."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import redis
from psycopg2 import sql

from admin import postgres_tools as pg
from admin.backup import restore_backup
from admin.backup_folder import BackupError, verified_manifest
from admin.context import AdminContext
from admin.output import add_json_option, print_json
from admin.restic import (
    ResticError,
    keep_snapshot_time,
    newest_snapshot,
    restore_snapshot,
    snapshot_time,
)
from config.settings import OffsiteSettings, Settings
from messaging.contract import drill_result_key
from models.order_rows import counted

DRILL_RESULT_TTL_SECONDS = 60 * 86_400


def register(subparsers: argparse._SubParsersAction) -> None:
    drill = subparsers.add_parser(
        "drill",
        help="restore the newest off-site (restic) snapshot into a scratch database and verify it",
    )
    add_json_option(drill)
    drill.set_defaults(handler=run_drill)


def run_drill(args: argparse.Namespace, admin: AdminContext) -> int:
    report = drill(admin.settings)
    keep_drill_result(admin.enqueuer.redis, report)
    if args.json:
        print_json(report)
    else:
        _print_report(report)
    return 0 if report["ok"] else 1


def drill(settings: Settings) -> dict:
    """The drill's report: ok, when, the snapshot restored, the tables verified or the error."""
    report = {"ok": False, "at": datetime.now(UTC).isoformat(), "snapshot": None, "tables": {}}
    if not settings.offsite.enabled:
        return report | {"error": "RESTIC_REPOSITORY is not set: there is no off-site backup"}
    try:
        snapshot = _newest(settings.offsite)
        report["snapshot"] = {"id": snapshot["id"], "time": snapshot_time(snapshot).isoformat()}
        mismatches, manifest = _restore_and_verify(settings, snapshot["id"])
    except (ResticError, BackupError, pg.ToolError, psycopg2.Error, OSError) as error:
        return report | {"error": str(error).strip()[:1000]}
    report["tables"] = {table: digest["rows"] for table, digest in manifest["tables"].items()}
    if mismatches:
        return report | {"error": "; ".join(mismatches)}
    return report | {"ok": True, "error": ""}


def _newest(offsite: OffsiteSettings) -> dict:
    snapshot = newest_snapshot(offsite)
    if snapshot is None:
        raise ResticError("the repository holds no backup snapshot")
    return snapshot


def _restore_and_verify(settings: Settings, snapshot_id: str) -> tuple[list[str], dict]:
    """The snapshot restored into a scratch folder and a scratch database, both removed after."""
    scratch_url = pg.with_database(
        settings.database_url, f"bfa_drill_{os.getpid()}_{int(time.time())}"
    )
    with tempfile.TemporaryDirectory(prefix="bfa-drill-") as target:
        folder = restore_snapshot(settings.offsite, snapshot_id, Path(target))
        manifest = verified_manifest(folder)
        try:
            return restore_backup(folder, manifest, settings.database_url, scratch_url), manifest
        finally:
            _drop_database(settings.database_url, pg.database_name(scratch_url))


def _drop_database(server_url: str, name: str) -> None:
    with pg.connected(server_url, autocommit=True) as connection, connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def keep_drill_result(client: redis.Redis, report: dict) -> None:
    """For the alarm check: the report, and the newest snapshot's time when one was seen."""
    client.set(drill_result_key(), json.dumps(report), ex=DRILL_RESULT_TTL_SECONDS)
    if report["snapshot"]:
        keep_snapshot_time(client, datetime.fromisoformat(report["snapshot"]["time"]))


def _print_report(report: dict) -> None:
    snapshot = report["snapshot"]
    if snapshot:
        print(f"snapshot {snapshot['id'][:8]} taken {snapshot['time']}")
    for table, rows in report["tables"].items():
        print(f"  {table}: {counted(rows, 'row')}")
    if report["ok"]:
        print("drill passed: the newest off-site backup restores and matches its manifest")
    else:
        print(f"drill FAILED: {report['error']}", file=sys.stderr)
