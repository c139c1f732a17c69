"""What a customer meets in a browser: an Indonesian page for every error (never raw XML), and
the access page's dates as Jakarta days in Indonesian."""

from __future__ import annotations

from datetime import UTC, datetime

from models.entitlements import Entitlement
from tests.factories import paid_order

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_mistyped_address_in_a_browser_is_an_indonesian_page_with_a_way_back(http, clean):
    page = http.get("/kursus-salah-ketik", headers=BROWSER)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Halaman tidak ditemukan" in page.text and 'href="/"' in page.text
    assert "<?xml" not in page.text


def test_api_clients_and_midtrans_keep_json_errors(http, clean):
    for path in ("/api/orders/BFA-NOPE?token=x", "/kursus-salah-ketik"):
        answer = http.get(path, headers={"Accept": "application/json"})
        assert answer.status_code == 404 and answer.json()["title"]
    refused = http.post("/webhooks/midtrans", content=b"{", headers=BROWSER)
    assert refused.status_code == 400 and refused.headers["content-type"] == "application/json"


def test_the_access_page_shows_the_day_of_payment_in_jakarta(http, db, sandbox_api):
    order_id = paid_order(sandbox_api)["order_id"]
    two_am_on_the_first_in_jakarta = datetime(2026, 11, 30, 19, 1, tzinfo=UTC)
    Entitlement.update(granted_at=two_am_on_the_first_in_jakarta).where(
        Entitlement.order == order_id
    ).execute()
    token = Entitlement.get(Entitlement.order == order_id).access_token
    page = http.get(f"/access/{token}", headers=BROWSER).text
    assert "sejak 1 Desember 2026" in page and "30-11-2026" not in page
    assert '<span class="lesson-number" aria-hidden="true">1</span>Dari ide' in page
