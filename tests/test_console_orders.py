"""Finding orders in the console and reading one order's story; bad queries are a clear 400,
never a 500, and personal data searched for is never logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import falcon.inspect
import falcon.testing
import pytest
from loguru import logger

from models.base import utcnow
from tests.conftest import ADMIN_TOKEN, wait_for
from tests.factories import VALID_CHECKOUT, insert_order


def _found(admin, **params) -> list[str]:
    response = admin.get("/api/admin/orders", params=params)
    assert response.status_code == 200, response.text
    return [order["order_id"] for order in response.json()["orders"]]


def test_search_by_order_id_email_or_phone_and_filter_by_status_and_date(admin):
    # Both on the 30th in UTC; the console's days are WIB (UTC+7) days.
    just_after_midnight_wib = datetime(2026, 1, 30, 17, 30, tzinfo=UTC)  # 00:30 WIB, 31st
    insert_order("BFA-SRCH-A", "PAID", email="Siti@Example.com", created_at=just_after_midnight_wib)
    insert_order(
        "BFA-SRCH-B",
        "PENDING_PAYMENT",
        phone="+6281299990000",
        created_at=just_after_midnight_wib - timedelta(hours=1),
    )  # 23:30 WIB, 30th
    insert_order("BFA-OTHER-C", "EXPIRED", created_at=just_after_midnight_wib + timedelta(days=3))

    assert _found(admin, q="BFA-SRCH-A") == ["BFA-SRCH-A"]
    assert _found(admin, q="BFA-SRCH") == ["BFA-SRCH-A", "BFA-SRCH-B"]
    assert _found(admin, q="siti@example.COM") == ["BFA-SRCH-A"]
    assert _found(admin, q="0812-9999-0000") == ["BFA-SRCH-B"]
    assert _found(admin, q="6281299990000") == ["BFA-SRCH-B"]
    assert _found(admin, status="expired") == ["BFA-OTHER-C"]
    assert _found(admin, since="2026-01-31", until="2026-01-31") == ["BFA-SRCH-A"]
    assert _found(admin, until="2026-01-30") == ["BFA-SRCH-B"]
    assert _found(admin, q="BFA-SRCH", status="PAID") == ["BFA-SRCH-A"]
    assert _found(admin, q="100%") == []
    assert admin.get("/api/admin/orders", params={"status": "SHIPPED"}).status_code == 400
    assert admin.get("/api/admin/orders", params={"since": "31/01/2026"}).status_code == 400


@pytest.fixture
def bare_console(system, clean):
    """Only the console's routes, without the web's middleware: its own checks must hold."""
    from web.admin import add_admin_routes
    from web.queue import TaskQueue

    app = falcon.App()
    client = system["broker"].client
    add_admin_routes(app, system["settings"], client, TaskQueue(client))
    return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/admin/orders", {"page": "99999999999999999999"}),
        ("/api/admin/orders", {"page": "10001"}),
        ("/api/admin/outbox", {"page": "99999999999999999999"}),
        ("/api/admin/orders", {"q": "BFA\x00"}),
        ("/api/admin/orders", {"since": "2026-13-45"}),
        ("/api/admin/orders", {"until": "9999-12-31"}),
        ("/api/admin/orders", {"until": "2026-01-31junk"}),
        ("/api/admin/orders", {"created_from": "2026-01-01"}),
        ("/api/admin/outbox", {"state": "DLQ"}),
    ],
)
def test_parameters_the_database_cannot_take_or_the_list_does_not_know_are_a_400(
    bare_console, path, params
):
    answer = bare_console.simulate_get(path, params=params)
    assert answer.status_code == 400, answer.text


def test_an_unknown_parameter_is_named_with_the_ones_the_list_takes(admin):
    answer = admin.get("/api/admin/orders", params={"created_from": "2026-13-45"})
    assert answer.status_code == 400
    assert answer.json() == {
        "title": "Parameter 'created_from' tidak dikenal",
        "description": "Daftar ini menerima: q, status, since, until, page.",
    }
    assert admin.get("/api/admin/orders", params={"page": 10_000}).json()["orders"] == []


def test_an_order_id_no_order_can_have_is_not_found(bare_console):
    for order_id in ("BFA\x00", "x" * 51, "a b"):
        assert bare_console.simulate_get(f"/api/admin/orders/{order_id}").status_code == 404


def test_the_reviewers_urls_are_refused_through_the_whole_web_never_a_500(admin):
    for url in (
        "/api/admin/orders?page=99999999999999999999",
        "/api/admin/orders?page=%D9%A1",  # Arabic-Indic 1: int() reads it, the console must not
        "/api/admin/orders?q=%00",
        "/api/admin/orders/%00",
        "/api/admin/orders?created_from=2026-13-45",
    ):
        assert admin.get(url).status_code in (400, 404), url


def test_the_page_shows_why_a_search_was_refused(browser):
    page = browser.get("/admin/orders", params={"since": "2026-13-45"})
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "since harus tanggal seperti 2026-01-31" in page.text and "Keluar" in page.text
    assert "tidak dikenal" in browser.get("/admin/orders?created_from=2026-01-01").text
    missing = browser.get("/admin/orders/BFA-NOPE-1")
    assert missing.status_code == 404 and "Pesanan BFA-NOPE-1 tidak ditemukan" in missing.text


def test_orders_are_paginated_newest_first(admin):
    start = utcnow() - timedelta(days=1)
    for n in range(55):
        insert_order(f"BFA-PAGE-{n:02d}", created_at=start + timedelta(minutes=n))
    first = admin.get("/api/admin/orders").json()
    second = admin.get("/api/admin/orders", params={"page": 2}).json()
    assert (first["total"], first["pages"], len(first["orders"])) == (55, 2, 50)
    assert first["orders"][0]["order_id"] == "BFA-PAGE-54"
    assert [order["order_id"] for order in second["orders"]] == [
        f"BFA-PAGE-{n:02d}" for n in range(4, -1, -1)
    ]


def test_the_orders_page_shows_the_customer_and_keeps_filters_in_the_pager(browser):
    for n in range(51):
        insert_order(f"BFA-HTML-{n:02d}", "PAID", email="rina@example.com")
    page = browser.get("/admin/orders", params={"q": "rina@example.com", "status": "PAID"})
    assert page.status_code == 200
    assert "rina@example.com" in page.text and "+6281234567890" in page.text
    assert "Rp 99.000" in page.text
    assert 'href="/admin/orders?q=rina%40example.com&amp;status=PAID' in page.text
    assert "halaman 1 dari 2" in page.text


def test_personal_data_searched_in_the_console_is_not_logged(browser):
    insert_order("BFA-LOG-1", email="private.person@example.com", phone="+6281277778888")
    lines: list[str] = []
    sink = logger.add(
        lambda message: lines.append(str(message)),
        level="DEBUG",
        filter=lambda record: record["name"] != "httpx._client",
    )  # the test's own
    try:
        for query in ("private.person@example.com", "081277778888"):
            assert "BFA-LOG-1" in browser.get("/admin/orders", params={"q": query}).text
        browser.get("/admin/orders/BFA-LOG-1")
    finally:
        logger.remove(sink)
    assert lines, "the requests were logged"
    logged = "\n".join(lines)
    assert "private.person" not in logged and "77778888" not in logged


def test_the_timeline_tells_what_happened_after_a_real_checkout_and_payment(
    http, sandbox_api, worker, admin, browser
):
    order_id = http.post("/api/checkout", json=VALID_CHECKOUT).json()["order_id"]
    wait_for(
        lambda: (
            admin.get(f"/api/admin/orders/{order_id}").status_code == 200
            and admin.get(f"/api/admin/orders/{order_id}").json()["order"]["status"]
            == "PENDING_PAYMENT"
        ),
        message="payment link",
    )
    sandbox_api.post(
        f"/_sandbox/midtrans/transactions/{order_id}/transition",
        json={"transaction_status": "settlement", "payment_type": "bank_transfer"},
    ).raise_for_status()
    story = wait_for(
        lambda: (
            lambda body: body if body["entitlement"] and body["order"]["status"] == "PAID" else None
        )(admin.get(f"/api/admin/orders/{order_id}").json()),
        message="access granted",
    )

    assert story["order"]["status"] == "PAID"
    assert story["order"]["customer_email"] == VALID_CHECKOUT["email"]
    assert [attempt["kind"] for attempt in story["attempts"]] == ["SNAP_CREATED", "VERIFIED"]
    verified = story["attempts"][-1]
    assert (verified["transaction_status"], verified["payment_type"]) == (
        "settlement",
        "bank_transfer",
    )
    assert verified["detail"] == "gross_amount 99000.00" and verified["transaction_id"]
    assert story["order"]["last_checked_at"] == verified["created_at"]  # the latest check
    page = browser.get(f"/admin/orders/{order_id}").text
    assert "VERIFIED" in page and "bank_transfer" in page
    settlement = story["notifications"][-1]
    assert settlement["transaction_status"] == "settlement" and settlement["processed"]
    assert settlement["raw"]["order_id"] == order_id
    assert settlement["raw"]["signature_key"].endswith("***")
    changes = [(e["old_status"], e["new_status"]) for e in story["audit"] if e["new_status"]]
    assert changes[0] == (None, "CREATED") and changes[-1] == ("PENDING_PAYMENT", "PAID")
    assert story["entitlement"]["status"] == "ACTIVE"
    assert story["entitlement"]["access_token"].endswith("***")
    templates = {(m["channel"], m["template_name"]) for m in story["outbox"]}
    assert {
        ("EMAIL", "payment_success"),
        ("WHATSAPP", "payment_success"),
    } <= templates
    kinds = [moment["kind"] for moment in story["timeline"]]
    assert kinds.index("payment attempt") < kinds.index("access granted")

    page = browser.get(f"/admin/orders/{order_id}").text
    assert "settlement" in page and "SNAP_CREATED" in page and "payment_success" in page
    assert VALID_CHECKOUT["email"] in page and "ACTIVE" in page
