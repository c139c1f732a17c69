"""`./run.sh admin discounts`: the shop owner creates, lists and disables codes; checkout honours
their window and usage cap; every change is audited; the console shows them read-only."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from models.audit import AuditEntry
from models.base import utcnow
from models.catalog import DiscountCode
from models.checkout import DISCOUNT_HOLD_MINUTES, usable_discount
from models.orders import Order
from tests.factories import checkout_request, insert_order
from tests.notification_helpers import reported_pending

PACKAGE = "ai-movie-course"


def _checkout_with(code: str) -> Order:
    """An order the worker priced from a checkout naming `code`."""
    from models.checkout import insert_order as insert_priced_order

    request = checkout_request(discount_code=code)
    insert_priced_order(request, expiry_minutes=60)
    return Order.get_by_id(request["order_id"])


def _age(order: Order, minutes: int) -> None:
    """As if the order had been checked out `minutes` ago."""
    Order.update(created_at=utcnow() - timedelta(minutes=minutes)).where(
        Order.order_id == order.order_id
    ).execute()


def test_a_checkout_holds_the_last_use_of_a_code_only_for_the_hold(db):
    DiscountCode.create(code="SATU", percent_off=10, max_uses=1, created_at=utcnow())
    first = _checkout_with("SATU")
    assert first.discount_code == "SATU"
    assert _checkout_with("SATU").discount_code is None  # the first checkout holds the use
    _age(first, DISCOUNT_HOLD_MINUTES + 1)  # nobody picked a method on Snap within the hold
    second = _checkout_with("SATU")
    assert second.discount_code == "SATU"  # the lapsed hold freed the use
    reported_pending(second.order_id)  # this customer starts paying
    _age(second, DISCOUNT_HOLD_MINUTES + 1)
    assert _checkout_with("SATU").discount_code is None  # an attempted order keeps its use


def test_unpaid_checkouts_do_not_use_up_a_limited_code_for_longer_than_the_hold(db):
    DiscountCode.create(code="SERATUS", percent_off=10, max_uses=2, created_at=utcnow())
    unpaid = [_checkout_with("SERATUS") for _ in range(2)]
    assert _checkout_with("SERATUS").discount_code is None
    for order in unpaid:
        _age(order, DISCOUNT_HOLD_MINUTES + 1)
    assert usable_discount("SERATUS", PACKAGE) is not None
    reported_pending(unpaid[0].order_id)  # one customer picks a method
    Order.update(status="PAID", paid_at=utcnow()).where(
        Order.order_id == unpaid[1].order_id
    ).execute()
    assert usable_discount("SERATUS", PACKAGE) is None
    assert _checkout_with("SERATUS").discount_code is None
    Order.update(status="EXPIRED").where(Order.order_id == unpaid[0].order_id).execute()
    assert _checkout_with("SERATUS").discount_code == "SERATUS"  # the lapsed attempt freed it


def run(admin_cli, capsys, *argv: str) -> tuple[int, str, str]:
    code = admin_cli(list(argv))
    output, errors = capsys.readouterr()
    return code, output, errors


def test_a_capped_code_is_used_up_and_a_disabled_one_stops(db, capsys, admin_cli):
    assert (
        run(
            admin_cli,
            capsys,
            "discounts",
            "create",
            "hemat10",
            "--percent",
            "10",
            "--max-uses",
            "1",
        )[0]
        == 0
    )
    assert usable_discount("HEMAT10", PACKAGE).percent_off == 10
    checked_out_earlier = utcnow() - timedelta(minutes=DISCOUNT_HOLD_MINUTES + 1)
    order_id = insert_order("BFA-DISC-1", created_at=checked_out_earlier)
    Order.update(discount_code="HEMAT10").where(Order.order_id == order_id).execute()
    assert usable_discount("hemat10", PACKAGE) is not None  # its hold lapsed without an attempt
    reported_pending(order_id)
    assert usable_discount("hemat10", PACKAGE) is None  # its one use is being paid
    code, output, _ = run(admin_cli, capsys, "discounts", "list")
    assert code == 0 and "HEMAT10" in output and "used 1/1" in output

    Order.update(status="EXPIRED").where(Order.order_id == order_id).execute()
    assert usable_discount("HEMAT10", PACKAGE) is not None  # an expired order frees it
    assert run(admin_cli, capsys, "discounts", "disable", "hemat10")[:2] == (
        0,
        "disabled HEMAT10\n",
    )
    assert usable_discount("HEMAT10", PACKAGE) is None
    code, _, errors = run(admin_cli, capsys, "discounts", "disable", "HEMAT10")
    assert code == 1 and "no active discount code" in errors
    actions = [entry.action for entry in AuditEntry.select().order_by(AuditEntry.id)]
    assert actions == ["discount_created", "discount_disabled", "discount_disable_refused"]


def test_a_code_works_only_inside_its_window(db, capsys, admin_cli):
    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    run(admin_cli, capsys, "discounts", "create", "NANTI", "--amount", "20000", "--from", tomorrow)
    assert usable_discount("NANTI", PACKAGE) is None
    code, output, _ = run(admin_cli, capsys, "discounts", "list", "--json")
    assert code == 0 and '"amount_off": 20000' in output and '"uses": 0' in output


def test_until_a_day_means_through_that_whole_day_in_jakarta(db, capsys, admin_cli):
    code, _, errors = run(
        admin_cli,
        capsys,
        *("discounts", "create", "HARBOLNAS", "--percent", "12"),
        *("--from", "2026-12-12", "--until", "2026-12-12"),
    )
    assert (code, errors) == (0, "")
    [listed] = json.loads(run(admin_cli, capsys, "discounts", "list", "--json")[1])
    assert listed["valid_from"] == "2026-12-12T00:00:00+07:00"
    assert listed["valid_until"] == "2026-12-13T00:00:00+07:00"
    until_six = ("--until", "2026-12-12T18:00")  # a date-time is taken as it is
    run(admin_cli, capsys, "discounts", "create", "JAM", "--percent", "5", *until_six)
    listed = json.loads(run(admin_cli, capsys, "discounts", "list", "--json")[1])
    assert {row["code"]: row["valid_until"] for row in listed}["JAM"] == "2026-12-12T18:00:00+07:00"


def test_refusals_are_one_line_on_stderr(db, capsys, admin_cli):
    run(admin_cli, capsys, "discounts", "create", "SAMA", "--percent", "5")
    code, output, errors = run(admin_cli, capsys, "discounts", "create", "sama", "--percent", "5")
    assert code == 1 and output == "" and "exists already" in errors
    code, _, errors = run(
        admin_cli,
        capsys,
        "discounts",
        "create",
        "X2",
        "--percent",
        "5",
        "--from",
        "2026-12-10",
        "--until",
        "2026-12-01",
    )
    assert code == 1 and "after its start" in errors
    for argv in (
        ["discounts", "create", "BOTH", "--percent", "5", "--amount", "100"],
        ["discounts", "create", "ZERO", "--percent", "0"],
        ["discounts", "create", "NONE"],
    ):
        with pytest.raises(SystemExit) as exit_code:
            admin_cli(argv)
        assert exit_code.value.code == 2


def test_the_console_lists_codes_made_on_the_command_line(db, admin, browser, capsys, admin_cli):
    run(admin_cli, capsys, "discounts", "create", "KONSOL", "--percent", "15", "--max-uses", "50")
    listed = admin.get("/api/admin/discounts").json()["discounts"]
    assert [(d["code"], d["percent_off"], d["uses"], d["max_uses"]) for d in listed] == [
        ("KONSOL", 15, 0, 50)
    ]
    page = browser.get("/admin/discounts").text
    assert "KONSOL" in page and "Kode diskon" in page
    assert 'action="/admin/discounts/KONSOL/disable"' in page
