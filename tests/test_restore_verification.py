"""A restore that does not give back what the backup's manifest describes exits 1 and names
each table that differs: the operator must never point the shop at an incomplete copy."""

from __future__ import annotations

import json
import shutil

import pytest

from admin.backup_folder import table_mismatches
from admin.postgres_tools import TableDigest
from models.orders import Order
from tests.factories import insert_order


def backup_into(admin_cli, parent) -> tuple:
    """Runs `admin backup` into an empty folder: the backup folder and its manifest."""
    parent.mkdir()
    assert admin_cli(["backup", "--dir", str(parent)]) == 0
    (folder,) = parent.iterdir()
    return folder, json.loads((folder / "manifest.json").read_text())


def dump_of_one_manifest_of_another(earlier, later, tmp_path):
    """A backup folder whose dump is a later one than its table fingerprints (its checksum is
    right, so only the comparison after the restore can notice): what a backup that did not
    take both from one snapshot would look like."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    later_folder, later_manifest = later
    shutil.copy(later_folder / "database.dump", folder / "database.dump")
    _, earlier_manifest = earlier
    manifest = {**earlier_manifest, "dump": later_manifest["dump"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def restore(admin_cli, folder, database_name: str, capsys) -> tuple[int, str]:
    code = admin_cli(["restore", str(folder), "--database", database_name, "--yes"])
    return code, capsys.readouterr().err


def test_a_restore_with_a_row_more_than_its_manifest_exits_1(
    db, tmp_path, restore_database, capsys, admin_cli
):
    insert_order("BFA-RESTORE-1")
    earlier = backup_into(admin_cli, tmp_path / "earlier")
    insert_order("BFA-RESTORE-2")
    later = backup_into(admin_cli, tmp_path / "later")
    folder = dump_of_one_manifest_of_another(earlier, later, tmp_path)

    code, errors = restore(admin_cli, folder, restore_database, capsys)

    assert code == 1
    assert "MISMATCH orders: 2 rows, expected 1" in errors
    assert "does NOT match the backup" in errors
    assert "MISMATCH packages" not in errors  # only what differs is named


def test_a_restore_whose_rows_changed_but_not_their_number_exits_1(
    db, tmp_path, restore_database, capsys, admin_cli
):
    insert_order("BFA-RESTORE-3")
    earlier = backup_into(admin_cli, tmp_path / "earlier")
    Order.update(status="PAID", paid_at=Order.created_at).where(
        Order.order_id == "BFA-RESTORE-3"
    ).execute()
    later = backup_into(admin_cli, tmp_path / "later")
    folder = dump_of_one_manifest_of_another(earlier, later, tmp_path)

    code, errors = restore(admin_cli, folder, restore_database, capsys)

    assert code == 1
    assert "MISMATCH orders: contents differ from the backup" in errors


def test_a_whole_restore_exits_0_and_says_every_table_matches(
    db, tmp_path, restore_database, capsys, admin_cli
):
    insert_order("BFA-RESTORE-4")
    folder, _ = backup_into(admin_cli, tmp_path / "only")
    code = admin_cli(["restore", str(folder), "--database", restore_database, "--yes"])
    output = capsys.readouterr()
    assert code == 0 and "MISMATCH" not in output.err
    assert "orders: 1 row, contents match" in output.out


EXPECTED = {
    "orders": {"rows": 2, "sha256": "a" * 64},
    "entitlements": {"rows": 1, "sha256": "b" * 64},
    "payment_events": {"rows": 0, "sha256": "c" * 64},
}


@pytest.mark.parametrize(
    "restored, problems",
    [
        (
            {
                "orders": TableDigest(2, "a" * 64),
                "entitlements": TableDigest(1, "b" * 64),
                "payment_events": TableDigest(0, "c" * 64),
            },
            [],
        ),
        (
            {
                "orders": TableDigest(1, "a" * 64),
                "entitlements": TableDigest(1, "f" * 64),
                "payment_events": TableDigest(0, "c" * 64),
            },
            [
                "orders: 1 rows, expected 2",
                "entitlements: contents differ from the backup",
            ],
        ),
        (
            {"orders": TableDigest(2, "a" * 64), "entitlements": TableDigest(1, "b" * 64)},
            ["payment_events: missing after restore"],
        ),
    ],
    ids=["whole", "rows-and-contents", "missing-table"],
)
def test_table_mismatches_names_each_table_that_differs(restored, problems):
    assert table_mismatches(EXPECTED, restored) == problems
