"""The customer's whole path in a real browser: form, Midtrans pay page, paid, course access.

Headless Chromium from Debian's `chromium` package, driven by Playwright for Python. Without
/usr/bin/chromium the test is skipped on a workstation, but never under CI (CI=true).
"""

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ADMIN_TOKEN, running_worker
from tests.factories import VALID_CHECKOUT, insert_order

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STEP_TIMEOUT_MS = 20_000


@pytest.fixture
def browser_page():
    """A fresh page in headless Chromium; the browser closes after the test."""
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(locale="id-ID").new_page()
        page.set_default_timeout(STEP_TIMEOUT_MS)
        yield page
        browser.close()


def screenshot(page, name: str) -> None:
    """Saves what the customer or operator sees for the README when SCREENSHOTS names a folder
    (`SCREENSHOTS=docs/screenshots ./run.sh test tests/test_browser.py`)."""
    folder = os.environ.get("SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def fill_checkout_form(page, discount_code: str = "") -> None:
    """The customer's details as a person types them into the form; then "Bayar Sekarang"."""
    page.fill("#name", VALID_CHECKOUT["name"])
    page.fill("#email", VALID_CHECKOUT["email"])
    page.fill("#phone", VALID_CHECKOUT["phone"])
    if discount_code:
        page.click("#discount summary")
        page.fill("#discount_code", discount_code)
    page.click("#pay-button")


def test_a_customer_pays_and_opens_the_course(browser_page, web, worker, sandbox):
    page = browser_page
    page.goto(f"{web}/")
    fill_checkout_form(page)

    page.wait_for_url(re.compile(re.escape(sandbox.base_url) + r"/snap/v4/redirection/"))
    assert page.inner_text("#gross-amount").replace(".", "").endswith("99000")
    page.click("#pay-settle_va")

    page.wait_for_url(re.compile(re.escape(web) + r"/finish\?"))
    page.wait_for_selector("#order-status[data-status=PAID]")
    assert page.inner_text("#order-amount") == "Rp 99.000"
    access_link = page.wait_for_selector("#access-link")
    assert access_link.get_attribute("href").startswith(f"{web}/access/")
    access_link.click()

    page.wait_for_url(re.compile(re.escape(web) + r"/access/"))
    page.wait_for_selector("#access-state[data-state=active]")
    assert "Budi Santoso" in page.inner_text("#access-title")
    screenshot(page, "access-page")


def test_right_after_paying_the_finish_page_never_offers_to_pay_again(
    browser_page, web, db, sandbox_api
):
    from tests.factories import open_payment, order_token_for

    request = open_payment()  # PENDING_PAYMENT: the settlement is not processed yet
    page = browser_page
    page.goto(
        f"{web}/finish?order_id={request['order_id']}&token={order_token_for(request)}"
        "&status_code=200&transaction_status=settlement"
    )
    page.wait_for_selector("#order-status[data-view=CONFIRMING]")
    assert "sedang dikonfirmasi" in page.inner_text("#order-status-title")
    assert page.query_selector("#continue-payment-link") is None

    page.goto(f"{web}/finish")  # no order at all: a way back to the shop
    page.wait_for_selector("#order-status[data-view=NO_ORDER]")
    assert page.get_attribute("#shop-link", "href") == "/"


def test_a_discount_used_up_meanwhile_is_told_before_the_payment_page(
    browser_page, web, db, system, sandbox
):
    from models.base import utcnow
    from models.catalog import DiscountCode
    from models.orders import Order
    from tests.notification_helpers import reported_pending

    DiscountCode.create(code="TERAKHIR", percent_off=10, max_uses=1, created_at=utcnow())
    page = browser_page
    page.goto(f"{web}/")
    fill_checkout_form(page, discount_code="terakhir")
    page.wait_for_selector("#checkout-status[data-kind=busy]")  # accepted, not yet an order
    other = insert_order("BFA-TEST-OTHER-BUYER")  # the code's last use goes to someone else,
    Order.update(discount_code="TERAKHIR").where(Order.order_id == other).execute()
    reported_pending(other)  # who starts paying with it
    with running_worker(system["broker"], worker_threads=1):
        link = page.wait_for_selector("#continue-full-price")
    notice = page.inner_text("#checkout-status")
    assert "TERAKHIR" in notice and "Rp 99.000" in notice
    assert page.url.startswith(web)  # not sent on to pay more than the form led them to expect
    link.click()
    page.wait_for_url(re.compile(re.escape(sandbox.base_url) + r"/snap/v4/redirection/"))
    assert page.inner_text("#gross-amount").replace(".", "").endswith("99000")


PHONE = {"width": 390, "height": 844}


def _overflowing_width(page) -> int:
    """How far the page is wider than the phone's screen (0 when nothing is cut off)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("template_name", ["payment_success", "payment_instructions"])
def test_the_email_fits_a_phone_screen(browser_page, template_name):
    from models.messages import render_email

    payload = {
        "order_id": "BFA-20261201-7K3M9Q2XW4Z8R5T1VB",
        "customer_name": "Budi Santoso",
        "amount_text": "Rp 99.000",
        "package_id": "ai-movie-course",
        "payment_url": "https://app.midtrans.com/snap/v4/redirection/" + "a1b2c3d4" * 6,
        "expires_at": "2026-12-01T07:30:00+00:00",
        "access_token": "t" * 43,
    }
    email = render_email(template_name, payload, "https://kursus.buatfilm.example.id")
    page = browser_page
    page.set_viewport_size(PHONE)
    page.set_content(email.html)
    assert _overflowing_width(page) == 0
    button = page.get_by_role("link").first.bounding_box()
    assert button["x"] >= 0 and button["x"] + button["width"] <= PHONE["width"]


def _on_first_screen(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


def test_on_a_phone_the_first_screen_shows_the_price_and_a_way_to_the_form(
    browser_page, web, clean
):
    page = browser_page
    page.set_viewport_size(PHONE)
    page.goto(f"{web}/")
    assert _on_first_screen(page, ".price-amount") and _on_first_screen(page, "#to-form")
    assert _overflowing_width(page) == 0
    screenshot(page, "shop-phone")
    page.click("#to-form")
    page.wait_for_function("document.querySelector('#name').getBoundingClientRect().top < 844")
    assert _on_first_screen(page, "#name")
    footer = page.inner_text(".site-footer")
    assert "Syarat dan Ketentuan" in footer and "WhatsApp" in footer


def test_the_console_orders_table_fits_a_phone_in_indonesian_and_wib(browser_page, console, clean):
    paid_at = datetime(2026, 12, 1, 2, 1, tzinfo=UTC)  # 09:01 WIB
    insert_order(
        "BFA-20261201-7K3M-Q9TZ-X2F4-8HNB",
        "PAID",
        email="a.very.long.customer.address@example-company.co.id",
        created_at=paid_at,
    )
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{console}/admin/login")
    page.fill("#token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.goto(f"{console}/admin/orders?q=q9tz")

    assert page.inner_text("h1").startswith("Pesanan")
    row = page.inner_text("table.stack tbody")
    assert "BFA-20261201-7K3M-Q9TZ-X2F4-8HNB" in row and "1 Des 2026 09:01 WIB" in row
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    link = page.locator("table.stack a").first.bounding_box()
    assert link["x"] >= 0 and link["x"] + link["width"] <= 390
    screenshot(page, "console-orders-phone")
