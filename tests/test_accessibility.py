"""An automated accessibility audit: axe-core (through axe-playwright-python) in headless
Chromium over every page a customer or the operator sees, with real content (a paid order, its
access page and receipt, a discount code, an outbox row). No page may have a serious or
critical violation (axe's impact levels: https://github.com/dequelabs/axe-core/blob/develop/doc/API.md#results-object).
"""

from __future__ import annotations

import pytest

from models.entitlements import Entitlement
from tests.conftest import ADMIN_TOKEN
from tests.console_helpers import CONSOLE_PAGES, make_outbox_row
from tests.factories import order_token_for, paid_order
from tests.test_browser import browser_page  # noqa: F401 - the fixture, shared

BLOCKING_IMPACTS = ("serious", "critical")
LEGAL_PAGES = ("/syarat", "/pengembalian-dana", "/privasi")


def blocking_violations(page, url: str) -> list[str]:
    """axe's serious and critical findings on `url`, one readable line each."""
    from axe_playwright_python.sync_playwright import Axe

    page.goto(url)
    page.wait_for_load_state("networkidle")
    results = Axe().run(page)
    return [
        f"{url}: {violation['id']} ({violation['impact']}) {violation['help']}: "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


@pytest.fixture
def a_paid_order(db, sandbox_api) -> dict:
    """A paid order with its access link, so the finish and access pages show real content."""
    request = paid_order(sandbox_api, payment_type="qris")
    access_token = Entitlement.get(Entitlement.order == request["order_id"]).access_token
    return {**request, "access_token": access_token}


def test_the_customer_pages_have_no_serious_accessibility_violation(
    browser_page,  # noqa: F811 - the fixture imported above
    web,
    a_paid_order,
):
    order_id = a_paid_order["order_id"]
    finish = f"/finish?order_id={order_id}&token={order_token_for(a_paid_order)}"
    access = f"/access/{a_paid_order['access_token']}"
    pages = ("/", finish, access, f"{access}/kuitansi", "/lupa-tautan", *LEGAL_PAGES)
    found = [line for path in pages for line in blocking_violations(browser_page, web + path)]
    assert found == [], "\n".join(found)


def test_the_console_pages_have_no_serious_accessibility_violation(
    browser_page,  # noqa: F811 - the fixture imported above
    console,
    a_paid_order,
    admin_cli,
):
    order_id = a_paid_order["order_id"]
    make_outbox_row(order_id, "DLQ", template="access_link")
    assert admin_cli(["discounts", "create", "AKSES", "--percent", "10"]) == 0
    page = browser_page
    found = blocking_violations(page, f"{console}/admin/login")
    page.fill("#token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    for path in (*CONSOLE_PAGES, f"/admin/orders/{order_id}", f"/admin/orders/{order_id}/person"):
        found += blocking_violations(page, console + path)
    assert found == [], "\n".join(found)
