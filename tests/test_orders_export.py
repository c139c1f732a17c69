"""The accountant's export and the support view of one order: complete, filtered, and read-only."""

import csv
import json
from datetime import UTC, datetime

import pytest

from models.orders import Order
from tests.factories import insert_order, open_payment, paid_order


@pytest.fixture
def orders(db, sandbox_api):
    """A paid order and one awaiting payment whose customer typed a spreadsheet formula."""
    paid = paid_order(sandbox_api, payment_type="qris")
    pending = open_payment(name='=HYPERLINK("http://evil.example","x")', email="sari@example.com")
    return {"paid": paid["order_id"], "pending": pending["order_id"]}


def order_statuses() -> dict[str, str]:
    return {order.order_id: order.status for order in Order.select()}


def test_csv_export_lists_every_order_for_the_accountant(orders, tmp_path, capsys, admin_cli):
    output = tmp_path / "orders.csv"
    assert admin_cli(["orders", "export", "--format", "csv", "--output", str(output)]) == 0
    rows = {row["order_id"]: row for row in csv.DictReader(output.open())}
    assert set(rows) == {orders["paid"], orders["pending"]}
    paid = rows[orders["paid"]]
    assert (paid["status"], paid["final_amount"], paid["customer_phone"]) == (
        "PAID",
        "99000",
        "+6281234567890",
    )
    assert paid["paid_at"].endswith("+07:00")
    assert rows[orders["pending"]]["customer_name"].startswith("'=HYPERLINK")
    assert output.stat().st_mode & 0o077 == 0
    assert "exported 2 orders; PAID total Rp 99.000" in capsys.readouterr().err


def test_json_export_filters_by_status_and_date(orders, capsys, admin_cli):
    assert admin_cli(["orders", "export", "--format", "json", "--status", "paid"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [row["order_id"] for row in exported] == [orders["paid"]]
    assert exported[0]["final_amount"] == 99000 and exported[0]["flagged"] is False
    assert admin_cli(["orders", "export", "--format", "json", "--since", "2099-12-31"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert admin_cli(["orders", "export", "--format", "json", "--since", "2000-01-01"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_an_existing_export_file_is_overwritten_and_made_private(orders, tmp_path, admin_cli):
    output = tmp_path / "orders.csv"
    output.write_text("last month's export\n")
    output.chmod(0o644)
    assert admin_cli(["orders", "export", "--format", "csv", "--output", str(output)]) == 0
    assert output.stat().st_mode & 0o077 == 0
    assert "last month" not in output.read_text() and orders["paid"] in output.read_text()


def test_an_unknown_status_is_named_plainly(db, capsys, admin_cli):
    with pytest.raises(SystemExit) as exit_info:
        admin_cli(["orders", "export", "--format", "csv", "--status", "lunas"])
    errors = capsys.readouterr().err
    assert exit_info.value.code == 2 and "'LUNAS'" in errors
    assert "'PAID'" in errors and "OrderStatus" not in errors


def test_bad_date_is_a_usage_error(db, capsys, admin_cli):
    with pytest.raises(SystemExit) as exit_info:
        admin_cli(["orders", "export", "--format", "csv", "--since", "yesterday"])
    assert exit_info.value.code == 2
    assert "not a date" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["orders", "export", "--format", "csv", "--since", "9999-12-31"],
        ["discounts", "create", "ZZ1", "--percent", "10", "--until", "9999-12-31"],
        ["discounts", "create", "ZZ1", "--percent", "10", "--from", "0001-01-01T00:00"],
        ["person", "exposure", "--since", "0001-01-01"],
    ],
)
def test_a_date_beyond_the_shops_years_is_a_usage_error_not_a_traceback(
    db, capsys, admin_cli, command
):
    with pytest.raises(SystemExit) as exit_info:
        admin_cli(command)
    assert exit_info.value.code == 2
    assert "must be from 2000-01-01 to 2099-12-31" in capsys.readouterr().err


def test_show_tells_an_orders_whole_story(orders, capsys, admin_cli):
    assert admin_cli(["orders", "show", orders["paid"]]) == 0
    shown = capsys.readouterr().out
    assert "status     PAID" in shown
    assert "access     ACTIVE" in shown
    assert "settlement -> " in shown
    assert "EMAIL payment_success" in shown and "WHATSAPP payment_success" in shown
    assert "midtrans:webhook" in shown
    assert admin_cli(["orders", "show", "NO-SUCH-ORDER"]) == 1
    assert "'NO-SUCH-ORDER': no order matches" in capsys.readouterr().err


def test_show_finds_an_order_by_any_unique_part_and_lists_an_ambiguous_one(db, capsys, admin_cli):
    created = datetime(2026, 12, 1, 2, 1, tzinfo=UTC)  # 09:01 WIB
    insert_order("BFA-20261201-7K3M-Q9TZ-X2F4-8HNB", created_at=created)
    insert_order("BFA-20261201-7K3M-AAAA-BBBB-CCCC", created_at=created)

    assert admin_cli(["orders", "show", "q9tz-x2f4"]) == 0
    shown = capsys.readouterr().out
    assert "order      BFA-20261201-7K3M-Q9TZ-X2F4-8HNB" in shown
    assert "created    1 Des 2026 09:01 WIB" in shown
    assert admin_cli(["orders", "show", "Q9TZ", "--json"]) == 0
    story = json.loads(capsys.readouterr().out)
    assert story["order"]["created_at"] == "2026-12-01T09:01:00+07:00"  # WIB, not the DB zone

    assert admin_cli(["orders", "show", "7k3m"]) == 1
    listed = capsys.readouterr()
    assert listed.out == ""
    assert "BFA-20261201-7K3M-Q9TZ-X2F4-8HNB" in listed.err
    assert "BFA-20261201-7K3M-AAAA-BBBB-CCCC" in listed.err


def test_orders_commands_change_nothing(orders, tmp_path, capsys, admin_cli):
    before = order_statuses()
    admin_cli(["orders", "export", "--format", "csv", "--output", str(tmp_path / "x.csv")])
    admin_cli(["orders", "show", orders["pending"]])
    assert order_statuses() == before
