"""A backup restores into a new database with every row of every table intact, checks its own
manifest, and never overwrites a database that holds data."""

import io
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

from admin import postgres_tools as pg
from local.embedded_postgres import BIN_DIR as EMBEDDED_BIN_DIR
from schema.migrate import migration_files
from tests.conftest import PROJECT_ROOT, TABLES, _url_with_database
from tests.factories import open_payment, paid_order

ALL_TABLES = (*TABLES, "packages", "schema_migrations")


@pytest.fixture
def shop_history(db, sandbox_api):
    """A paid order (event, entitlement, outbox rows, audit) and one still awaiting payment."""
    paid_order(sandbox_api)
    open_payment(email="sari@example.com", phone="+6281234567891")


def table_rows(url: str, table: str) -> list[tuple]:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier(table)))
            return cursor.fetchall()
    finally:
        connection.close()


def make_backup(admin_cli, tmp_path, *extra) -> tuple:
    assert admin_cli(["backup", "--dir", str(tmp_path), *extra]) == 0
    (folder,) = tmp_path.iterdir()
    return folder, json.loads((folder / "manifest.json").read_text())


def test_round_trip_restores_every_row(
    shop_history, tmp_path, service_urls, restore_database, admin_cli
):
    folder, manifest = make_backup(admin_cli, tmp_path)
    assert admin_cli(["restore", str(folder), "--database", restore_database, "--yes"]) == 0
    restored_url = _url_with_database(service_urls["database_url"], restore_database)
    for table in ALL_TABLES:
        original = table_rows(service_urls["database_url"], table)
        assert table_rows(restored_url, table) == original, table
        assert manifest["tables"][table]["rows"] == len(original)
    assert manifest["tables"]["orders"]["rows"] == 2
    assert manifest["tables"]["entitlements"]["rows"] == 1
    assert manifest["tables"]["notification_outbox"]["rows"] >= 2
    assert manifest["tables"]["payment_events"]["rows"] == 1


def test_manifest_describes_the_dump_and_holds_no_secrets(
    shop_history, tmp_path, system, admin_cli
):
    folder, manifest = make_backup(admin_cli, tmp_path)
    settings = system["settings"]
    text = (folder / "manifest.json").read_text()
    assert manifest["schema_version"] == migration_files()[-1].stem
    assert manifest["dump"]["bytes"] == (folder / "database.dump").stat().st_size
    assert len(manifest["dump"]["sha256"]) == 64
    assert str(manifest["dump"]["pg_dump_major"]) == manifest["database"]["server_version"][:2]
    assert settings.database_url not in text and settings.midtrans.server_key not in text
    assert settings.admin_token not in text
    assert sorted(path.name for path in folder.iterdir()) == ["database.dump", "manifest.json"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "database.dump").stat().st_mode) == 0o600  # personal data


def test_secrets_only_on_request(db, tmp_path, system, admin_cli):
    folder, manifest = make_backup(admin_cli, tmp_path, "--include-secrets")
    secrets_file = folder / manifest["secrets_file"]
    assert manifest["includes_secrets"] is True
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert system["settings"].midtrans.server_key in secrets_file.read_text()


def test_a_damaged_dump_is_refused(db, tmp_path, service_urls, restore_database, capsys, admin_cli):
    folder, _ = make_backup(admin_cli, tmp_path)
    with (folder / "database.dump").open("ab") as dump:
        dump.write(b"x")
    assert admin_cli(["restore", str(folder), "--database", restore_database, "--yes"]) == 1
    assert "does not match the manifest checksum" in capsys.readouterr().err
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(_url_with_database(service_urls["database_url"], restore_database)).close()


def test_restore_never_overwrites_a_database_with_data(db, tmp_path, capsys, admin_cli):
    folder, _ = make_backup(admin_cli, tmp_path)
    assert admin_cli(["restore", str(folder), "--yes"]) == 1
    assert "is not empty" in capsys.readouterr().err


def test_restore_asks_first(db, tmp_path, restore_database, monkeypatch, capsys, admin_cli):
    folder, _ = make_backup(admin_cli, tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    assert admin_cli(["restore", str(folder), "--database", restore_database]) == 1
    output = capsys.readouterr()
    assert "Type 'yes' to continue" in output.out and "restore cancelled" in output.err
    assert re.search(r"\(taken \d+ \w{3} \d{4} \d\d:\d\d WIB, 0 orders\)", output.out)


def test_a_failed_backup_leaves_no_folder(db, tmp_path, service_urls, environment):
    missing = _url_with_database(service_urls["database_url"], "bfa_no_such_database")
    failed = subprocess.run(
        [sys.executable, "-m", "admin.cli", "backup", "--dir", str(tmp_path)],
        cwd=PROJECT_ROOT,
        env={**os.environ, **environment, "DATABASE_URL": missing},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 1
    assert "backup failed" in failed.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_backup_outlasts_the_servers_idle_in_transaction_timeout(
    shop_history, tmp_path, monkeypatch, admin_cli
):
    """The deploy's server kills sessions idle in a transaction after 60 s; the backup's own
    session holds the exported snapshot open, idle, for as long as pg_dump runs."""
    monkeypatch.setenv("PGOPTIONS", "-c idle_in_transaction_session_timeout=500")
    real_find_tool = pg.find_tool

    def slow_pg_dump(name: str, major: int):
        slow = tmp_path / "tools" / name
        slow.parent.mkdir(exist_ok=True)
        real = real_find_tool(name, major)
        slow.write_text(f'#!/bin/sh\n[ "$1" = --version ] || sleep 2\nexec "{real}" "$@"\n')
        slow.chmod(0o755)
        return slow

    monkeypatch.setattr(pg, "find_tool", slow_pg_dump)
    folder, manifest = make_backup(admin_cli, tmp_path / "backups")
    assert manifest["tables"]["orders"]["rows"] == 2


def test_the_systems_own_client_tools_are_preferred_over_the_embedded_ones():
    """The distribution's pg_dump gets its security updates; the wheel's is the fallback."""
    searched = pg.candidate_bin_dirs(18)
    assert searched[0] == Path("/usr/lib/postgresql/18/bin")
    assert searched[-1] == EMBEDDED_BIN_DIR
