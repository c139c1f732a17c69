"""Moving the old server's SQLite orders into PostgreSQL: messy rows are mapped or reported,
paid customers keep their access, and a second run imports nothing."""

import os
import sqlite3
import subprocess
import sys

import pytest

from models.audit import AuditEntry
from models.entitlements import Entitlement
from models.orders import Order
from models.outbox import OutboxMessage
from tests.conftest import PROJECT_ROOT

FULL_COLUMNS = ("id", "customerName", "email", "phone", "amount", "status", "created_at")
MESSY_ROWS = [
    (
        "ORD-1",
        "Budi Santoso",
        "budi@example.com",
        "081234567890",
        99000,
        "paid",
        "2024-01-05 10:00:00",
    ),
    ("ORD-2", "Sari", "Sari@Example.COM", "+62 812-3456-7891", "99000", "Pending", 1704441600000),
    ("ORD-3", None, "tono@example.com", 6281234567892, 99000.0, "SETTLEMENT", None),
    ("ORD-4", "Bad Phone", "bad@example.com", "12345", 99000, "PAID", None),
    ("ORD-5", "Bad Mail", "not-an-email", "081234567893", 99000, "paid", None),
    ("ORD-1", "Budi again", "budi@example.com", "081234567890", 99000, "PAID", None),
    (
        "ORD 7/x",
        "Weird Id",
        "weird@example.com",
        "081234567894",
        "Rp 99.000",
        "Cancelled",
        "2024-02-01T08:00:00Z",
    ),
    ("ORD-8", "Refunded", "refund@example.com", "081234567895", 99000, "refund", None),
    ("ORD-9", "Expired", "late@example.com", "081234567896", 99000, "expired", None),
    ("ORD-10", "Odd", "odd@example.com", "081234567897", 99000, "wat", None),
    (None, "No Id", "noid@example.com", "081234567898", 99000, "PAID", None),
    ("ORD-12", "No Amount", "noamount@example.com", "081234567899", None, "PAID", None),
    ("ORD-13", "One Rupiah", "cheap@example.com", "081234567800", 1, "PAID", None),
    ("ORD-14", "No Amount", "gone@example.com", "081234567801", None, "expired", None),
]
IMPORTABLE = {"ORD-1", "ORD-2", "ORD-3", "ORD-8", "ORD-9", "ORD-12", "ORD-13"}  # + "ORD 7/x"


def legacy_file(path, columns, rows):
    """An old-style SQLite database with an untyped `orders` table, as the Node server kept."""
    with sqlite3.connect(path) as source:
        source.execute(f"CREATE TABLE orders ({', '.join(columns)})")
        placeholders = ", ".join("?" * len(columns))
        insert = f"INSERT INTO orders VALUES ({placeholders})"  # noqa: S608 - only "?" marks
        source.executemany(insert, rows)
    return path


@pytest.fixture
def messy_file(tmp_path):
    return legacy_file(tmp_path / "orders.db", FULL_COLUMNS, MESSY_ROWS)


def run_import(admin_cli, capsys, *args) -> tuple[int, str]:
    code = admin_cli(["import-legacy", *map(str, args)])
    return code, capsys.readouterr().out


def assert_reported(output: str, *lines: str) -> None:
    """Every expected summary line is printed; a failure names all the missing ones at once."""
    missing = [line for line in lines if line not in output]
    assert missing == [], output


def test_dry_run_reports_everything_and_writes_nothing(db, messy_file, capsys, admin_cli):
    code, output = run_import(admin_cli, capsys, messy_file, "--dry-run")
    assert code == 1
    assert_reported(
        output,
        "would import: 8",
        "PAID orders would be granted course access: 4",
        "flagged: 2",
        "dry run: nothing was written",
    )
    assert Order.select().count() == 0
    assert AuditEntry.select().count() == 0


def test_import_maps_statuses_contacts_and_ids(db, messy_file, capsys, admin_cli):
    code, output = run_import(admin_cli, capsys, messy_file)
    assert code == 1
    orders = {order.order_id: order for order in Order.select()}
    renamed = [order_id for order_id in orders if order_id.startswith("ORD-7-x-")]
    assert set(orders) == IMPORTABLE | set(renamed) and len(renamed) == 1
    assert {order_id: orders[order_id].status for order_id in IMPORTABLE} == {
        "ORD-1": "PAID",
        "ORD-2": "PENDING_PAYMENT",
        "ORD-3": "PAID",
        "ORD-8": "REFUNDED",
        "ORD-9": "EXPIRED",
        "ORD-12": "PAID",
        "ORD-13": "PAID",
    }
    assert orders[renamed[0]].status == "FAILED" and orders[renamed[0]].final_amount == 99000
    assert orders["ORD-2"].customer_email == "Sari@example.com"
    assert orders["ORD-2"].customer_phone == "+6281234567891"
    assert orders["ORD-3"].customer_phone == "+6281234567892"
    assert orders["ORD-3"].customer_name == "Pelanggan"
    assert orders["ORD-1"].created_at.isoformat() == "2024-01-05T10:00:00+00:00"
    assert orders["ORD-2"].created_at.isoformat() == "2024-01-05T08:00:00+00:00"
    assert all(order.source == "legacy" for order in orders.values())
    assert "imported: 8" in output


def test_failed_and_duplicate_rows_are_reported_with_reasons(db, messy_file, capsys, admin_cli):
    _, output = run_import(admin_cli, capsys, messy_file)
    assert_reported(
        output,
        "failed: 5",
        "row 14 (id ORD-14): amount: missing",
        "row 4 (id ORD-4): phone:",
        "row 5 (id ORD-5): email:",
        "row 10 (id ORD-10): status: unknown 'wat'",
        "row 11: id: missing",
        "row 6 (id ORD-1): duplicate id in the file",
    )
    assert "081234567893" not in output and "not-an-email" not in output  # no personal data


def test_paid_orders_get_access_without_customer_messages(db, messy_file, capsys, admin_cli):
    run_import(admin_cli, capsys, messy_file)
    granted = {entitlement.order_id: entitlement.status for entitlement in Entitlement.select()}
    assert granted == dict.fromkeys(("ORD-1", "ORD-3", "ORD-12", "ORD-13"), "ACTIVE")
    assert OutboxMessage.select().count() == 0
    audit = AuditEntry.select().where(AuditEntry.actor == "admin:import")
    assert audit.count() == 8
    assert {entry.action for entry in audit} == {"legacy_import"}


def test_second_run_imports_nothing(db, messy_file, capsys, admin_cli):
    run_import(admin_cli, capsys, messy_file)
    before = Order.select().count()
    code, output = run_import(admin_cli, capsys, messy_file)
    assert code == 1  # the same rows still fail
    assert "imported: 0" in output
    assert "skipped: 9" in output and output.count("already present") == 8
    assert "flagged: 0" in output
    assert Order.select().count() == before
    assert Entitlement.select().count() == 4


def test_paid_rows_with_a_wrong_or_missing_amount_are_imported_flagged(
    db, messy_file, capsys, admin_cli
):
    _, output = run_import(admin_cli, capsys, messy_file)
    assert_reported(
        output,
        "PAID orders granted course access: 4",
        "flagged: 2",
        "row 12 (id ORD-12): legacy amount missing; recorded at the course price 99000",
        "row 13 (id ORD-13): legacy amount 1 differs from the course price 99000",
    )
    flagged = {order.order_id: order.final_amount for order in Order.select().where(Order.flagged)}
    assert flagged == {"ORD-12": 99000, "ORD-13": 1}
    entries = AuditEntry.select().where(AuditEntry.flagged).order_by(AuditEntry.order_id)
    assert [(entry.order_id, entry.details["reason"]) for entry in entries] == [
        ("ORD-12", "legacy amount missing; recorded at the course price 99000"),
        ("ORD-13", "legacy amount 1 differs from the course price 99000"),
    ]


def test_a_refund_of_another_amount_is_flagged_and_a_failed_one_is_not(
    db, tmp_path, capsys, admin_cli
):
    columns = ("id", "email", "phone", "status", "amount")
    rows = [
        ("R-1", "a@example.com", "081234567890", "refunded", 50000),
        ("F-1", "b@example.com", "081234567891", "failed", 50000),
    ]
    code, output = run_import(admin_cli, capsys, legacy_file(tmp_path / "orders.db", columns, rows))
    assert code == 0 and "flagged: 1" in output
    assert "legacy amount 50000 differs from the course price 99000" in output
    assert [order.order_id for order in Order.select().where(Order.flagged)] == ["R-1"]


def test_file_with_missing_columns_imports_cleanly(db, tmp_path, capsys, admin_cli):
    columns = ("id", "email", "phone", "status", "amount")
    rows = [
        (17, "a@example.com", "081234567890", "PAID", 99000),
        (18, "b@example.com", "081234567891", "failed", 49500),
    ]
    code, output = run_import(admin_cli, capsys, legacy_file(tmp_path / "orders.db", columns, rows))
    assert code == 0
    assert "imported: 2" in output and "failed: 0" in output
    order = Order.get_by_id("17")
    assert order.customer_name == "Pelanggan" and order.paid_at is not None
    assert Order.get_by_id("18").final_amount == 49500


def test_a_file_without_orders_is_refused(db, tmp_path, capsys, admin_cli):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as source:
        source.execute("CREATE TABLE customers (id)")
    assert admin_cli(["import-legacy", str(path)]) == 2
    assert "no `orders` table" in capsys.readouterr().err
    assert admin_cli(["import-legacy", str(tmp_path / "missing.db")]) == 2


def test_command_line_shows_progress_and_exit_code(db, messy_file, environment):
    completed = subprocess.run(
        [sys.executable, "-m", "admin.cli", "import-legacy", str(messy_file), "--dry-run"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert "import-legacy [" in completed.stderr and "14/14" in completed.stderr
    assert "would import: 8" in completed.stdout


def test_an_imported_pending_order_expires_without_messaging_the_old_customer(
    db, tmp_path, capsys, admin_cli
):
    from tasks.webhooks import reconcile_order

    rows = [
        (
            "OLD-PENDING-1",
            "Sari",
            "sari@example.com",
            "081234567891",
            99000,
            "pending",
            "2024-01-05 10:00:00",
        )
    ]
    code, _ = run_import(admin_cli, capsys, legacy_file(tmp_path / "orders.db", FULL_COLUMNS, rows))
    assert code == 0
    reconcile_order("OLD-PENDING-1")  # the sandbox has no such transaction: never paid
    assert Order.get_by_id("OLD-PENDING-1").status == "EXPIRED"
    assert OutboxMessage.select().where(OutboxMessage.order == "OLD-PENDING-1").count() == 0
