"""Server-side pricing: whole rupiah, one discount at most, Snap items that add up exactly."""

from datetime import UTC, datetime, timedelta

import pytest

from models.base import utcnow
from models.catalog import DiscountCode, Package
from models.checkout import price_for, usable_discount
from models.pricing import (
    MINIMUM_PAYABLE_IDR,
    Discount,
    Price,
    format_idr,
    midtrans_time,
    price_order,
)
from tests.factories import extra_package


@pytest.mark.parametrize(
    ("discount", "expected"),
    [
        (None, Price(99000, 0, 99000)),
        (Discount("HEMAT10", 10, None), Price(99000, 9900, 89100)),
        (Discount("HEMAT33", 33, None), Price(99000, 32670, 66330)),
        (Discount("POTONG", None, 25000), Price(99000, 25000, 74000)),
        (Discount("GRATIS", 100, None), Price(99000, 99000 - MINIMUM_PAYABLE_IDR, 1000)),
        (Discount("BESAR", None, 500000), Price(99000, 98000, 1000)),
    ],
)
def test_price_order_applies_one_discount_never_below_the_minimum(discount, expected):
    assert price_order(99000, discount) == expected


def test_a_percentage_is_rounded_down_to_whole_rupiah():
    price = price_order(99999, Discount("HEMAT15", 15, None))
    assert price.discount_amount == 14999  # 14999.85 rounded down: the customer never overpays
    assert isinstance(price.final_amount, int)


@pytest.mark.parametrize(
    "discount", [None, Discount("HEMAT33", 33, None), Discount("POTONG", None, 25000)]
)
def test_snap_items_sum_to_the_final_amount_in_integers(discount):
    price = price_order(99000, discount)
    items = price.snap_items(
        "ai-movie-course", "Buat Film Pakai AI", discount.code if discount else None
    )
    assert sum(item["price"] * item["quantity"] for item in items) == price.final_amount
    assert all(isinstance(item["price"], int) and item["quantity"] == 1 for item in items)
    assert all(1 <= len(item["name"]) <= 50 for item in items)


def test_a_discount_is_a_negative_item_named_after_its_code():
    items = price_order(99000, Discount("HEMAT10", 10, None)).snap_items(
        "ai-movie-course", "Buat Film Pakai AI", "HEMAT10"
    )
    assert items == [
        {"id": "ai-movie-course", "name": "Buat Film Pakai AI", "price": 99000, "quantity": 1},
        {"id": "discount-HEMAT10", "name": "Diskon HEMAT10", "price": -9900, "quantity": 1},
    ]


def test_long_names_are_cut_to_what_midtrans_accepts():
    items = price_order(99000, None).snap_items("ai-movie-course", "K" * 80, None)
    assert items[0]["name"] == "K" * 50


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (99000, "Rp 99.000"),
        (1000, "Rp 1.000"),
        (500, "Rp 500"),
        (1250000, "Rp 1.250.000"),
    ],
)
def test_format_idr_uses_indonesian_thousands_separators(amount, text):
    assert format_idr(amount) == text


def test_midtrans_time_is_jakarta_time_with_offset():
    moment = datetime(2024, 12, 31, 20, 30, 5, tzinfo=UTC)
    assert midtrans_time(moment) == "2025-01-01 03:30:05 +0700"


@pytest.fixture
def package(db) -> Package:
    return Package.get_by_id("ai-movie-course")


def _code(code: str, **columns) -> DiscountCode:
    if "amount_off" not in columns:
        columns.setdefault("percent_off", 20)
    return DiscountCode.create(code=code, created_at=utcnow(), **columns)


def test_the_seeded_package_costs_99000(package):
    assert (package.name, package.price_idr, package.active) == ("Buat Film Pakai AI", 99000, True)
    assert price_for(package, None) == Price(99000, 0, 99000)


def test_discount_codes_are_found_in_any_case(package):
    _code("HEMAT20")
    found = usable_discount("hemat20", package.package_id)
    assert found.code == "HEMAT20"
    assert price_for(package, found) == Price(99000, 19800, 79200)


def test_amount_off_codes_price_in_whole_rupiah(package):
    found = _code("POTONG25", amount_off=25000, percent_off=None)
    assert price_for(package, found) == Price(99000, 25000, 74000)


@pytest.mark.parametrize(
    "columns",
    [
        {"active": False},
        {"valid_until": utcnow() - timedelta(seconds=1)},
    ],
    ids=["inactive", "expired"],
)
def test_unusable_codes_give_no_discount(package, columns):
    _code("HEMAT20", **columns)
    assert usable_discount("HEMAT20", package.package_id) is None


def test_a_code_for_another_package_gives_no_discount(package):
    with extra_package("other-course", "Kursus Lain", active=True) as other:
        _code("KHUSUS", package=other.package_id)
        assert usable_discount("KHUSUS", package.package_id) is None
        assert usable_discount("KHUSUS", other.package_id).code == "KHUSUS"


def test_no_code_and_unknown_codes_give_no_discount(package):
    assert usable_discount(None, package.package_id) is None
    assert usable_discount("", package.package_id) is None
    assert usable_discount("NOSUCH", package.package_id) is None
