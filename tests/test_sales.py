"""Sales at a glance: `./run.sh admin sales` counts what Midtrans reported paid and refunded,
per method, over whole days in Jakarta, from orders made through the real payment flow."""

import csv
import io
import json
from datetime import datetime, timedelta

import httpx

from models.base import SHOP_TIMEZONE, utcnow
from models.orders import Order
from models.sales import daily_revenue, period_of
from tests.conftest import declared_actor
from tests.factories import midtrans_transition, open_payment, paid_order


def midtrans_reports(sandbox_api, order_id: str, transaction_status: str, payment_type: str):
    """Midtrans moves the transaction and its notification is processed (inline)."""
    answer = midtrans_transition(
        sandbox_api,
        order_id,
        transaction_status=transaction_status,
        payment_type=payment_type,
        notify=False,
    )
    declared_actor("process_notification")(answer["notification"])


def a_day_of_sales(sandbox_api) -> dict:
    """Two QRIS and one GoPay payment today, one QRIS refunded in full, a cancelled card payment,
    a checkout never paid, and a GoPay payment made eight days ago."""
    orders = {
        "qris": paid_order(sandbox_api, payment_type="qris")["order_id"],
        "refunded": paid_order(sandbox_api, payment_type="qris")["order_id"],
        "gopay": paid_order(sandbox_api, payment_type="gopay")["order_id"],
        "cancelled": open_payment()["order_id"],
        "open": open_payment()["order_id"],
        "old": paid_order(sandbox_api, payment_type="gopay")["order_id"],
    }
    midtrans_reports(sandbox_api, orders["refunded"], "refund", "qris")
    midtrans_reports(sandbox_api, orders["cancelled"], "cancel", "credit_card")
    eight_days_ago = utcnow() - timedelta(days=8)
    Order.update(created_at=eight_days_ago, paid_at=eight_days_ago).where(
        Order.order_id == orders["old"]
    ).execute()
    return orders


def sales_json(admin_cli, capsys, *argv: str) -> dict:
    assert admin_cli(["sales", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_todays_sales_count_paid_refunded_and_failed_orders_by_method(
    db, sandbox_api, admin_cli, capsys
):
    orders = a_day_of_sales(sandbox_api)
    assert Order.get_by_id(orders["refunded"]).status == "REFUNDED"
    assert Order.get_by_id(orders["cancelled"]).status == "FAILED"
    today = sales_json(admin_cli, capsys, "--days", "1")
    assert (today["paid_orders"], today["gross_revenue"]) == (3, 3 * 99000)
    assert (today["refunded_orders"], today["refunded_amount"]) == (1, 99000)
    assert (today["checkouts"], today["checkouts_paid"]) == (5, 3)
    assert today["conversion_percent"] == 60.0
    assert today["by_method"] == {
        "gopay": {"paid_orders": 1, "gross_revenue": 99000},
        "qris": {"paid_orders": 2, "gross_revenue": 2 * 99000},
    }
    assert today["from"].endswith("T00:00:00+07:00")


def test_a_longer_period_includes_older_sales_and_the_text_report_reads_in_rupiah(
    db, sandbox_api, admin_cli, capsys
):
    a_day_of_sales(sandbox_api)
    assert sales_json(admin_cli, capsys, "--days", "7")["paid_orders"] == 3
    month = sales_json(admin_cli, capsys, "--days", "30")
    assert month["by_method"]["gopay"] == {"paid_orders": 2, "gross_revenue": 2 * 99000}
    assert admin_cli(["sales", "--days", "30"]) == 0
    report = capsys.readouterr().out
    assert "paid orders      4  Rp 396.000" in report
    assert "refunded orders  1  Rp 99.000" in report


def test_a_day_is_a_calendar_day_in_jakarta():
    late_evening_utc = datetime(2026, 12, 6, 18, 30, tzinfo=SHOP_TIMEZONE).astimezone()
    period = period_of(1, late_evening_utc)
    assert period.start == datetime(2026, 12, 6, tzinfo=SHOP_TIMEZONE)
    assert period.end == datetime(2026, 12, 7, tzinfo=SHOP_TIMEZONE)
    week = period_of(7, datetime(2026, 12, 7, 0, 30, tzinfo=SHOP_TIMEZONE))
    assert week.start == datetime(2026, 12, 1, tzinfo=SHOP_TIMEZONE)


def test_the_daily_revenue_has_every_day_even_without_sales(db, sandbox_api):
    a_day_of_sales(sandbox_api)
    days = daily_revenue(30)
    assert len(days) == 30 and days[-1][1] == 3 * 99000
    assert days[-9][1] == 99000 and sum(total for _, total in days) == 4 * 99000


def test_zero_days_is_a_usage_error(db, admin_cli, capsys):
    try:
        admin_cli(["sales", "--days", "0"])
    except SystemExit as exit_info:
        assert exit_info.code == 2
    assert "must be from 1 to 366" in capsys.readouterr().err


def test_the_console_sales_page_shows_the_figures_and_an_accessible_chart(
    db, sandbox_api, browser, admin
):
    a_day_of_sales(sandbox_api)
    page = browser.get("/admin/sales")
    assert page.status_code == 200
    text = page.text
    assert "Penjualan" in text and "Rp 297.000" in text and "Rp 396.000" in text
    assert "3 dari 5 (60.0%)" in text and "qris" in text and "gopay" in text
    assert 'role="img" aria-labelledby="chart-title chart-desc"' in text
    assert '<title id="chart-title">Pendapatan per hari, 30 hari terakhir (WIB)</title>' in text
    assert "total Rp 396.000, tertinggi Rp 297.000" in text
    assert text.count("<rect ") == 30 and "<script" not in text
    twin = admin.get("/api/admin/sales").json()
    assert [period["paid_orders"] for period in twin["periods"]] == [3, 3, 4]


def test_the_csv_download_holds_the_money_trail_without_contacts(db, sandbox_api, browser):
    orders = a_day_of_sales(sandbox_api)
    download = browser.get("/admin/sales.csv", params={"days": 7})
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "penjualan-7-hari.csv" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    by_id = {row["order_id"]: row for row in rows}
    assert set(by_id) == {
        orders[name] for name in ("qris", "refunded", "gopay", "cancelled", "open")
    }
    assert by_id[orders["refunded"]]["status"] == "REFUNDED"
    assert (by_id[orders["gopay"]]["amount"], by_id[orders["gopay"]]["method"]) == (
        "99000",
        "gopay",
    )
    assert by_id[orders["open"]]["paid_at_wib"] == ""
    assert list(rows[0]) == [
        "order_id",
        "created_at_wib",
        "paid_at_wib",
        "status",
        "amount",
        "method",
        "package",
    ]
    assert "@" not in download.text and "+62" not in download.text
    assert browser.get("/admin/sales.csv", params={"days": 5}).status_code == 400
    assert browser.get("/admin/sales.csv", params={"days": "\u0661"}).status_code == 400  # ١


def test_the_sales_pages_need_the_operator(console, db):
    with httpx.Client(base_url=console, timeout=10) as stranger:
        for path in ("/admin/sales", "/admin/sales.csv"):
            assert stranger.get(path).status_code == 303
        assert stranger.get("/api/admin/sales").status_code == 401
