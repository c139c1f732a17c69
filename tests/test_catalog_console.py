"""The owner sets a package's price and creates or disables discount codes from the command
line or the console: one operation each, audited with who, old and new; the console only
queues (the web writes nothing) and a worker carries it out; a new price applies to orders
made after it, never to one already made."""

from __future__ import annotations

import json

import pytest

from admin.context import cli_actor
from models.audit import AuditEntry
from models.base import SHOP_TIMEZONE
from models.catalog import DiscountCode, Package
from models.db import connection
from models.orders import Order
from tests.conftest import running_worker
from tests.console_helpers import csrf_token
from tests.factories import open_payment


def audited(action: str) -> list[AuditEntry]:
    with connection():
        return list(AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.id))


def price_of(package_id: str) -> int:
    with connection():
        return Package.get_by_id(package_id).price_idr


def discount(code: str) -> DiscountCode | None:
    with connection():
        return DiscountCode.get_or_none(DiscountCode.code == code)


def run_queued_admin_actions(system) -> None:
    """A worker carries out what the buttons queued (the maintenance queue only), then stops."""
    with running_worker(system["broker"], queues={"maintenance"}, worker_threads=1):
        system["broker"].join("maintenance", timeout=10_000)


# --- the command line -------------------------------------------------------------------------


def test_a_new_price_applies_to_new_orders_only(db, admin_cli, capsys):
    waiting = open_payment()["order_id"]
    assert admin_cli(["packages", "set-price", "ai-movie-course", "149000"]) == 0
    assert "ai-movie-course: Rp 99.000 -> Rp 149.000 for new orders" in capsys.readouterr().out
    later = open_payment()["order_id"]
    amounts = {order.order_id: order.final_amount for order in Order.select()}
    assert amounts == {waiting: 99000, later: 149000}
    [entry] = audited("package_price_set")
    assert (entry.actor, entry.details) == (
        cli_actor(),
        {"package_id": "ai-movie-course", "old": 99000, "new": 149000},
    )


def test_setting_the_same_price_twice_changes_nothing_more(db, admin_cli, capsys):
    assert admin_cli(["packages", "set-price", "ai-movie-course", "129000", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "done"
    assert admin_cli(["packages", "set-price", "ai-movie-course", "129000"]) == 0
    assert "costs Rp 129.000 already" in capsys.readouterr().out
    assert len(audited("package_price_set")) == 1
    assert len(audited("package_price_unchanged")) == 1


def test_an_unknown_package_is_refused_and_audited(db, admin_cli, capsys):
    assert admin_cli(["packages", "set-price", "tidak-ada", "99000"]) == 1
    assert "no package 'tidak-ada'" in capsys.readouterr().err
    assert [entry.actor for entry in audited("package_price_refused")] == [cli_actor()]


@pytest.mark.parametrize("price", ["1", "999", "100000001"])
def test_a_price_the_shop_would_refuse_is_a_usage_error_with_the_shops_range(
    db, admin_cli, capsys, price
):
    with pytest.raises(SystemExit) as exit_info:
        admin_cli(["packages", "set-price", "ai-movie-course", price])
    assert exit_info.value.code == 2
    assert "must be from 1000 to 100000000" in capsys.readouterr().err
    assert price_of("ai-movie-course") == 99000


# --- the console ------------------------------------------------------------------------------


def test_the_console_price_button_is_queued_and_done_by_a_worker(browser, system):
    page = browser.get("/admin/discounts")
    assert 'action="/admin/packages/ai-movie-course/price"' in page.text
    answer = browser.post(
        "/admin/packages/ai-movie-course/price",
        data={"csrf_token": csrf_token(browser, "/admin/discounts"), "price": "Rp 119.000"},
    )
    assert answer.status_code == 202 and "Diantrekan: harga ai-movie-course" in answer.text
    assert price_of("ai-movie-course") == 99000  # the web wrote nothing
    run_queued_admin_actions(system)
    assert price_of("ai-movie-course") == 119000
    [entry] = audited("package_price_set")
    assert (entry.actor, entry.details["old"], entry.details["new"]) == ("admin:web", 99000, 119000)
    assert "package_price_set" in browser.get("/admin/discounts").text


def test_the_console_refuses_a_bad_price_before_queueing(admin, system):
    assert admin.post(
        "/api/admin/packages/ai-movie-course/price", data={"price": "abc"}
    ).json() == {
        "ok": False,
        "message": "Harga harus rupiah utuh, misalnya 99000",
    }
    assert (
        admin.post("/api/admin/packages/tidak-ada/price", data={"price": "99000"}).status_code
        == 404
    )
    same = admin.post("/api/admin/packages/ai-movie-course/price", data={"price": "99000"})
    assert same.status_code == 409
    assert system["broker"].client.llen("dramatiq:maintenance") == 0


ARABIC_12345 = "\u0661\u0662\u0663\u0664\u0665"  # ١٢٣٤٥, which int() reads as 12345


def test_numbers_in_other_scripts_digits_are_refused_by_the_console_and_the_command_line(
    admin, system, admin_cli, capsys
):
    price = admin.post("/api/admin/packages/ai-movie-course/price", data={"price": ARABIC_12345})
    assert price.status_code == 422 and "rupiah utuh" in price.json()["message"]
    for form in ({"percent_off": "\u0662\u0660"}, {"amount_off": ARABIC_12345}):
        code = admin.post("/api/admin/discounts/create", data={"code": "ARAB", **form})
        assert code.status_code == 422, form
    with pytest.raises(SystemExit) as exit_info:
        admin_cli(["packages", "set-price", "ai-movie-course", ARABIC_12345])
    assert exit_info.value.code == 2 and "not a whole number" in capsys.readouterr().err
    assert system["broker"].client.llen("dramatiq:maintenance") == 0
    assert price_of("ai-movie-course") == 99000


def test_the_console_creates_and_disables_a_code_through_a_worker(admin, system):
    created = admin.post(
        "/api/admin/discounts/create",
        data={"code": "lebaran", "percent_off": "20", "valid_until": "2099-12-31", "max_uses": "5"},
    )
    assert created.status_code == 202, created.text
    assert discount("LEBARAN") is None  # queued, not written by the web
    run_queued_admin_actions(system)
    code = discount("LEBARAN")
    assert (code.percent_off, code.max_uses, code.active) == (20, 5, True)
    assert code.valid_until.astimezone(SHOP_TIMEZONE).isoformat() == "2100-01-01T00:00:00+07:00"
    again = admin.post("/api/admin/discounts/create", data={"code": "LEBARAN", "percent_off": "5"})
    assert again.status_code == 409

    assert admin.post("/api/admin/discounts/LEBARAN/disable").status_code == 202
    assert admin.post("/api/admin/discounts/LEBARAN/disable").status_code == 202  # a double click
    run_queued_admin_actions(system)
    assert discount("LEBARAN").active is False
    assert [entry.actor for entry in audited("discount_created")] == ["admin:web"]
    assert [entry.actor for entry in audited("discount_disabled")] == ["admin:web"]
    assert [entry.actor for entry in audited("discount_disable_refused")] == ["admin:web"]
    assert admin.post("/api/admin/discounts/LEBARAN/disable").status_code == 409
    too_long = "A" * 5000  # no code or package has it
    for path in (
        f"/api/admin/discounts/{too_long}/disable",
        f"/api/admin/packages/{too_long}/price",
    ):
        assert admin.post(path, data={"price": "99000"}).status_code == 404


def test_the_console_refuses_a_code_that_does_not_add_up(admin, system):
    for form, problem in (
        ({"code": "X", "percent_off": "5"}, "Kode harus 2-32"),
        ({"code": "DUA"}, "Isi salah satu"),
        ({"code": "DUA", "percent_off": "5", "amount_off": "1000"}, "Isi salah satu"),
        ({"code": "DUA", "percent_off": "101"}, "1 sampai 100"),
        ({"code": "DUA", "amount_off": "5000", "valid_from": "31-12-2026"}, "2026-12-31"),
        ({"code": "DUA", "amount_off": "5000", "valid_until": "9999-12-31"}, "antara 2000-01-01"),
        ({"code": "DUA", "amount_off": "5000", "valid_from": "0001-01-01"}, "antara 2000-01-01"),
        ({"code": "DUA", "amount_off": "5000", "package_id": "tidak-ada"}, "tidak ada"),
    ):
        answer = admin.post("/api/admin/discounts/create", data=form)
        assert answer.status_code == 422 and problem in answer.json()["message"], form
    assert system["broker"].client.llen("dramatiq:maintenance") == 0
