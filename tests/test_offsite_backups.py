"""Backups off the machine, encrypted and proven: `admin backup` leaves a restic snapshot in a
real (local folder) restic repository, `admin drill` restores the newest one into a scratch
database and verifies it, and the alarm check speaks when the drill fails or the newest
off-site snapshot is too old. Real PostgreSQL, Redis and restic (Debian's)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from admin.cli import main as admin_main
from messaging.contract import offsite_snapshot_key
from models.alarms import drill_failed, offsite_snapshot_overdue
from tests.conftest import declared_actor, the_worker, with_settings
from tests.notification_helpers import queued_order

pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed")


@pytest.fixture
def offsite(tmp_path) -> dict[str, str]:
    """A fresh restic repository in a folder, as `restic init` makes one, and its password."""
    password_file = tmp_path / "restic-password"
    password_file.write_text("a long drill password\n")
    repository = tmp_path / "repository"
    subprocess.run(
        ["restic", "init", "--repo", str(repository), "--password-file", str(password_file)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return {"repository": str(repository), "password_file": str(password_file)}


def admin(settings, offsite: dict, *argv: str) -> int:
    return admin_main(list(argv), with_settings(settings, offsite=offsite))


def snapshots(offsite: dict) -> list[dict]:
    listed = subprocess.run(
        ["restic", "snapshots", "--json", "--repo", offsite["repository"]]
        + ["--password-file", offsite["password_file"]],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(listed.stdout)


def alarms_with(settings, offsite: dict) -> list[str]:
    """The alarm check, run by the worker configured with this repository."""
    services = the_worker().services
    the_worker().services = dataclasses.replace(
        services, settings=with_settings(services.settings, offsite=offsite)
    )
    return [alarm["name"] for alarm in declared_actor("check_alarms")()]


def drill_databases(settings) -> list[str]:
    connection = psycopg2.connect(settings.database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'bfa_drill_%'")
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def test_a_backup_leaves_an_encrypted_snapshot_in_the_restic_repository(
    db, settings, offsite, tmp_path, broker
):
    assert admin(settings, offsite, "backup", "--dir", str(tmp_path / "backups")) == 0
    [snapshot] = snapshots(offsite)
    assert "bfa-backup" in snapshot["tags"]
    assert abs(int(broker.client.get(offsite_snapshot_key())) - time.time()) < 60


def test_the_drill_restores_the_newest_snapshot_verifies_every_table_and_drops_the_scratch(
    db, settings, offsite, tmp_path, capsys
):
    queued_order("payment_success")
    assert admin(settings, offsite, "backup", "--dir", str(tmp_path / "backups")) == 0
    capsys.readouterr()

    assert admin(settings, offsite, "drill", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["tables"]["orders"] == 1
    assert report["tables"]["notification_outbox"] == 2
    assert report["snapshot"]["id"] == snapshots(offsite)[0]["id"]
    assert drill_databases(settings) == []
    alarms = alarms_with(settings, offsite)
    assert "backup_drill_failed" not in alarms
    assert "offsite_backup_overdue" not in alarms


def test_a_damaged_repository_fails_the_drill_and_raises_the_alarm(
    db, settings, offsite, tmp_path, capsys
):
    assert admin(settings, offsite, "backup", "--dir", str(tmp_path / "backups")) == 0
    for pack in (tmp_path / "repository" / "data").rglob("*"):
        if pack.is_file():
            pack.chmod(0o600)
            pack.write_bytes(b"\0" * pack.stat().st_size)  # the disk rotted
    capsys.readouterr()

    assert admin(settings, offsite, "drill") == 1
    assert "drill FAILED" in capsys.readouterr().err
    assert drill_databases(settings) == []
    assert "backup_drill_failed" in alarms_with(settings, offsite)


def test_a_missing_repository_fails_the_drill_and_raises_the_alarm(db, settings, tmp_path, capsys):
    gone = {"repository": str(tmp_path / "nowhere"), "password_file": str(tmp_path / "none")}
    assert admin(settings, gone, "drill", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and "restic" in report["error"]
    assert "backup_drill_failed" in alarms_with(settings, gone)


def test_an_off_site_snapshot_older_than_26_hours_raises_the_alarm(db, settings, offsite, broker):
    broker.client.set(offsite_snapshot_key(), int(time.time()) - 27 * 3600)
    assert "offsite_backup_overdue" in alarms_with(settings, offsite)
    broker.client.set(offsite_snapshot_key(), int(time.time()) - 25 * 3600)
    assert "offsite_backup_overdue" not in alarms_with(settings, offsite)


def test_the_off_site_alarms_speak_english_and_indonesian():
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    overdue = offsite_snapshot_overdue(now, now - timedelta(hours=27))
    assert overdue.message.startswith("no off-site backup snapshot for over 26 hours")
    assert overdue.pesan.startswith("tidak ada cadangan di luar server lebih dari 26 jam")
    failed = drill_failed({"ok": False, "at": now.isoformat(), "error": "restic restore failed"})
    assert "restore drill" in failed.message and "restic restore failed" in failed.message
    assert failed.pesan.startswith("uji pemulihan cadangan 7 Des 2026 10:00 WIB gagal")
    assert drill_failed({"ok": True}) is None
