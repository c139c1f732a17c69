"""Moving the old server's SQLite orders into PostgreSQL: messy rows are mapped or reported,
paid customers keep their access, and a second run imports nothing."""

import base64
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from config.settings import SANDBOX_SERVER_KEY
from models.audit import AuditEntry
from models.entitlements import Entitlement
from models.orders import Order
from models.outbox import OutboxMessage
from tests.conftest import PROJECT_ROOT, declared_actor, wait_for
from tests.factories import midtrans_transition
from tests.notification_helpers import mails

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


def test_orders_paid_in_the_old_system_get_receipt_numbers_without_gaps(
    db, messy_file, capsys, admin_cli
):
    run_import(admin_cli, capsys, messy_file)
    paid = Order.select().where(Order.status.in_(("PAID", "REFUNDED")))
    numbers = [order.receipt_number for order in paid]
    assert paid.count() > 1 and all(numbers)
    by_year: dict[str, list[int]] = {}
    for number in numbers:
        _, year, sequence = number.split("/")
        by_year.setdefault(year, []).append(int(sequence))
    assert all(sorted(got) == list(range(1, len(got) + 1)) for got in by_year.values())
    audit = AuditEntry.select().where(AuditEntry.actor == "admin:import")
    assert audit.count() == 8
    assert {entry.action for entry in audit} == {"legacy_import"}


def test_second_run_imports_nothing(db, messy_file, capsys, admin_cli):
    _, first = run_import(admin_cli, capsys, messy_file)
    assert "queued for Status API verification: 4" in first
    before = Order.select().count()
    audit = AuditEntry.select().count()
    code, output = run_import(admin_cli, capsys, messy_file)
    assert code == 1  # the same rows still fail
    assert_reported(
        output,
        "imported: 0",
        "brought forward: 0",
        "unchanged: 8",
        "skipped: 1",
        "flagged: 0",
        "queued for Status API verification: 0",
    )
    assert Order.select().count() == before and AuditEntry.select().count() == audit
    assert Entitlement.select().count() == 4
    assert OutboxMessage.select().count() == 0


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
    reconcile_order = declared_actor("reconcile_order")

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


# Re-runs until the cutover: the old system keeps taking payments between two imports.


def sari_row(status: str, order_id: str = "OLD-SARI", amount: int = 99000) -> tuple:
    return (order_id, "Sari", "sari@example.com", "081234567891", amount, status, None)


def import_rows(admin_cli, capsys, path, *rows) -> str:
    """(Re)writes the old database with these rows, as the old server would hold them now,
    and imports it; the summary."""
    path.unlink(missing_ok=True)
    _, output = run_import(admin_cli, capsys, legacy_file(path, FULL_COLUMNS, rows))
    return output


def audit_actions(order_id: str) -> list[str]:
    entries = AuditEntry.select().where(AuditEntry.order_id == order_id).order_by(AuditEntry.id)
    return [entry.action for entry in entries]


def test_an_order_paid_in_the_old_system_since_the_last_run_is_brought_forward(
    db, worker, tmp_path, capsys, admin_cli, sandbox_api
):
    path = tmp_path / "orders.db"
    import_rows(admin_cli, capsys, path, sari_row("pending"))
    assert Order.get_by_id("OLD-SARI").status == "PENDING_PAYMENT"

    output = import_rows(admin_cli, capsys, path, sari_row("paid"))
    assert_reported(
        output,
        "imported: 0",
        "brought forward: 1",
        "row 1 (id OLD-SARI): PENDING_PAYMENT -> PAID",
        "queued for Status API verification: 1",
    )
    order = Order.get_by_id("OLD-SARI")
    entitlement = Entitlement.get(Entitlement.order == "OLD-SARI")
    assert order.status == "PAID" and order.paid_at is not None
    assert entitlement.status == "ACTIVE"
    assert "legacy_brought_forward" in audit_actions("OLD-SARI")
    # The customer never had an access link: the success message brings it, once.
    wait_for(lambda: len(mails(sandbox_api)) == 1, message="the payment-success mail")
    assert entitlement.access_token in mails(sandbox_api)[0]["text"]
    # The verification found nothing at Midtrans (the old server's own gateway took it).
    wait_for(lambda: "legacy_unknown_at_midtrans" in audit_actions("OLD-SARI"))

    audit_before = AuditEntry.select().count()
    outbox_before = OutboxMessage.select().count()
    again = import_rows(admin_cli, capsys, path, sari_row("paid"))
    assert_reported(
        again,
        "brought forward: 0",
        "unchanged: 1",
        "queued for Status API verification: 0",
        "not known to Midtrans, left as imported: 1",
        "  OLD-SARI: PAID in the old system",
    )
    assert AuditEntry.select().count() == audit_before
    assert OutboxMessage.select().count() == outbox_before
    assert Entitlement.select().count() == 1
    assert len(mails(sandbox_api)) == 1


def test_dry_run_shows_what_a_re_run_would_bring_forward(db, tmp_path, capsys, admin_cli):
    path = tmp_path / "orders.db"
    import_rows(admin_cli, capsys, path, sari_row("pending"))
    path.unlink()
    legacy_file(path, FULL_COLUMNS, [sari_row("paid")])
    code, output = run_import(admin_cli, capsys, path, "--dry-run")
    assert code == 0
    assert_reported(
        output,
        "would be brought forward: 1",
        "row 1 (id OLD-SARI): PENDING_PAYMENT -> PAID",
        "would be queued for Status API verification: 1",
        "dry run: nothing was written",
    )
    assert Order.get_by_id("OLD-SARI").status == "PENDING_PAYMENT"
    assert Entitlement.select().count() == 0 and OutboxMessage.select().count() == 0


def test_the_summary_as_json_holds_the_ids_and_reasons_a_script_needs(
    db, messy_file, capsys, admin_cli
):
    code = admin_cli(["import-legacy", str(messy_file), "--dry-run", "--json"])
    output, errors = capsys.readouterr()
    summary = json.loads(output)
    assert code == 1 and "import-legacy" in errors  # the progress line stays on stderr
    assert summary["dry_run"] is True
    assert len(summary["imported"]) == 8 and "ORD-2" in summary["imported"]
    assert sorted(summary["granted"]) == sorted(summary["queued_for_verification"])
    assert {"row": "row 10 (id ORD-10)", "detail": "status: unknown 'wat'"} in summary["failed"]
    assert {"row": "row 6 (id ORD-1)", "detail": "duplicate id in the file"} in summary["skipped"]
    assert len(summary["flagged"]) == 2 and summary["brought_forward"] == []
    assert Order.select().count() == 0


def test_an_order_we_have_paid_stays_paid_when_the_old_system_still_says_pending(
    db, tmp_path, capsys, admin_cli
):
    path = tmp_path / "orders.db"
    import_rows(admin_cli, capsys, path, sari_row("paid"))
    output = import_rows(admin_cli, capsys, path, sari_row("pending"))
    assert "brought forward: 0" in output and "unchanged: 1" in output
    assert Order.get_by_id("OLD-SARI").status == "PAID"
    assert Entitlement.get(Entitlement.order == "OLD-SARI").status == "ACTIVE"
    assert audit_actions("OLD-SARI") == ["legacy_import"]


def test_a_pending_order_expired_by_reconciliation_comes_back_when_paid_in_the_old_system(
    db, tmp_path, capsys, admin_cli
):
    reconcile_order = declared_actor("reconcile_order")

    path = tmp_path / "orders.db"
    old_pending = ("OLD-SARI", "Sari", "sari@example.com", "081234567891", 99000, "pending", 0)
    import_rows(admin_cli, capsys, path, old_pending)
    reconcile_order("OLD-SARI")  # Midtrans never saw it: expired here, paid in the old system
    assert Order.get_by_id("OLD-SARI").status == "EXPIRED"
    output = import_rows(admin_cli, capsys, path, sari_row("paid"))
    assert "row 1 (id OLD-SARI): EXPIRED -> PAID" in output
    order = Order.get_by_id("OLD-SARI")
    assert order.status == "PAID" and order.flagged  # a late payment: the state machine flags it
    assert Entitlement.get(Entitlement.order == "OLD-SARI").status == "ACTIVE"


def midtrans_knows(sandbox_api, order_id: str, amount: int, *statuses: str) -> None:
    """The gateway holds a transaction for this id, taken through these statuses."""
    auth = base64.b64encode(f"{SANDBOX_SERVER_KEY}:".encode()).decode()
    sandbox_api.post(
        "/snap/v1/transactions",
        headers={"Authorization": f"Basic {auth}"},
        json={"transaction_details": {"order_id": order_id, "gross_amount": amount}},
    ).raise_for_status()
    for status in statuses:
        midtrans_transition(sandbox_api, order_id, transaction_status=status, notify=False)


def test_imported_paid_orders_the_gateway_disagrees_with_are_flagged(
    db, worker, tmp_path, capsys, admin_cli, sandbox_api
):
    midtrans_knows(sandbox_api, "OLD-OK", 99000, "settlement")
    midtrans_knows(sandbox_api, "OLD-REFUNDED", 99000, "settlement", "refund")
    midtrans_knows(sandbox_api, "OLD-CHEAPER", 49000, "settlement")
    rows = [sari_row("paid", order_id) for order_id in ("OLD-OK", "OLD-REFUNDED", "OLD-CHEAPER")]
    output = import_rows(admin_cli, capsys, tmp_path / "orders.db", *rows)
    assert "queued for Status API verification: 3" in output
    wait_for(lambda: "legacy_verified" in audit_actions("OLD-OK"), message="verification")
    wait_for(lambda: Order.select().where(Order.flagged).count() == 2, message="flags")
    reasons = {
        entry.order_id: entry.details["reason"]
        for entry in AuditEntry.select().where(AuditEntry.action == "legacy_disagrees")
    }
    assert reasons == {
        "OLD-REFUNDED": "legacy PAID, Midtrans says 'refund'",
        "OLD-CHEAPER": "legacy amount 99000, Midtrans says 49000.00",
    }
    assert not Order.get_by_id("OLD-OK").flagged
    # Flagged for a person, not acted on: the old system's customers keep their access.
    assert {order.status for order in Order.select()} == {"PAID"}
    assert Entitlement.select().where(Entitlement.status == "ACTIVE").count() == 3


def test_an_imported_paid_order_unknown_to_midtrans_is_never_expired(
    db, worker, tmp_path, capsys, admin_cli
):
    reconcile_order = declared_actor("reconcile_order")

    old_paid = ("OLD-SARI", "Sari", "sari@example.com", "081234567891", 99000, "paid", 0)
    import_rows(admin_cli, capsys, tmp_path / "orders.db", old_paid)
    wait_for(lambda: "legacy_unknown_at_midtrans" in audit_actions("OLD-SARI"))
    reconcile_order("OLD-SARI")  # the Status API answers 404, as in the verification
    order = Order.get_by_id("OLD-SARI")
    assert order.status == "PAID" and not order.flagged
    assert Entitlement.get(Entitlement.order == "OLD-SARI").status == "ACTIVE"
