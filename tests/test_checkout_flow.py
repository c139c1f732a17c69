"""The customer's first step: the form is accepted and leads to a Midtrans payment link."""

from models.orders import Order
from tests.conftest import wait_for
from tests.factories import VALID_CHECKOUT


def _order_status(http, body):
    return http.get(body["status_url"]).json()


def test_checkout_leads_to_a_payment_link(http, worker):
    response = http.post("/api/checkout", json=VALID_CHECKOUT)
    assert response.status_code == 202
    body = response.json()
    assert body["order_id"].startswith("BFA-") and body["order_token"]
    status = wait_for(
        lambda: _order_status(http, body) if _order_status(http, body)["redirect_url"] else None,
        message="payment link",
    )
    assert status["status"] == "PENDING_PAYMENT"
    assert status["amount"] == 99000
    assert "/snap/v4/redirection/" in status["redirect_url"]


def test_status_is_processing_before_the_worker_writes_the_order(http, db):
    body = http.post("/api/checkout", json=VALID_CHECKOUT).json()
    status = http.get(body["status_url"]).json()
    assert status["status"] == "processing"
    assert Order.select().count() == 0  # the web wrote nothing to the database


def test_wrong_token_is_404(http, worker):
    body = http.post("/api/checkout", json=VALID_CHECKOUT).json()
    assert http.get(f"/api/orders/{body['order_id']}?token=nope").status_code == 404
    wait_for(lambda: _order_status(http, body)["status"] == "PENDING_PAYMENT")
    assert http.get(f"/api/orders/{body['order_id']}?token=nope").status_code == 404
    assert http.get(f"/api/orders/{body['order_id']}").status_code == 404


def _payment_link(http, body) -> dict:
    return wait_for(
        lambda: _order_status(http, body) if _order_status(http, body)["redirect_url"] else None,
        message="payment link",
    )


def test_the_status_names_the_discount_the_order_was_priced_with(http, db, system):
    from models.base import utcnow
    from models.catalog import DiscountCode
    from tests.conftest import running_worker

    DiscountCode.create(code="TERAKHIR", percent_off=10, max_uses=1, created_at=utcnow())
    applied = http.post("/api/checkout", json={**VALID_CHECKOUT, "discount_code": "terakhir"})
    late = http.post("/api/checkout", json={**VALID_CHECKOUT, "discount_code": "TERAKHIR"})
    assert (applied.status_code, late.status_code) == (202, 202)  # both usable when the web asked
    # The worker writes the first order, which holds the last use, before the second one: the
    # last use went elsewhere between the form and the order.
    with running_worker(system["broker"], worker_threads=1):
        applied_status = _payment_link(http, applied.json())
        late_status = _payment_link(http, late.json())
    assert applied_status["discount_code"] == "TERAKHIR"
    assert (applied_status["amount"], applied_status["discount_amount"]) == (89100, 9900)
    assert late_status["discount_code"] is None  # the page tells the customer before Snap does
    assert (late_status["amount"], late_status["discount_amount"]) == (99000, 0)
