"""The sandbox speaks Midtrans as production clients expect: Snap create, the Status API, signed
notifications from its pay page, and injected faults."""

import httpx
import pytest

from harness.sandbox.server import SandboxHandle
from integrations.signature import signature_is_valid
from tests.standins.conftest import SERVER_KEY, NotificationReceiver, create, pay, snap_body


def test_snap_refuses_missing_or_wrong_server_key(anonymous: httpx.Client) -> None:
    for auth in (None, ("SB-Mid-server-wrong", "")):
        response = anonymous.post("/snap/v1/transactions", json=snap_body(), auth=auth)
        assert response.status_code == 401
        assert "unauthorized" in response.json()["error_messages"][0]


LONG_NAME = "x" * 51


LONG_NAME = "x" * 51
INVALID_BODIES = {
    "missing order_id": {"transaction_details": {"gross_amount": 99000}},
    "order_id too long": snap_body("A" * 51),
    "order_id bad characters": snap_body("ORD 1/2"),
    "fractional amount": {"transaction_details": {"order_id": "ORD-1", "gross_amount": 99000.5}},
    "amount as string": {"transaction_details": {"order_id": "ORD-1", "gross_amount": "99000"}},
    "price not integer": snap_body(item_details=[{"name": "a", "price": 99000.0, "quantity": 1}]),
    "quantity zero": snap_body(item_details=[{"name": "a", "price": 99000, "quantity": 0}]),
    "name too long": snap_body(item_details=[{"name": LONG_NAME, "price": 99000, "quantity": 1}]),
    "items do not add up": snap_body(item_details=[{"name": "a", "price": 90000, "quantity": 1}]),
    "bad email": snap_body(customer_details={"email": "not-an-email"}),
}


@pytest.mark.parametrize("body", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_snap_refuses_what_midtrans_refuses(midtrans: httpx.Client, body: dict) -> None:
    response = midtrans.post("/snap/v1/transactions", json=body)
    assert response.status_code == 400
    assert response.json()["error_messages"]


def test_snap_refuses_bodies_over_16_kb(midtrans: httpx.Client) -> None:
    padded = snap_body(custom_field1="x" * 17_000)
    assert midtrans.post("/snap/v1/transactions", json=padded).status_code == 413


def test_snap_accepts_a_discount_item_and_records_the_request(
    midtrans: httpx.Client, sandbox: SandboxHandle
) -> None:
    items = [
        {"id": "course", "name": "Course", "price": 99000, "quantity": 1},
        {"id": "promo", "name": "Diskon", "price": -9000, "quantity": 1},
    ]
    created = create(midtrans, amount=90000, item_details=items)
    assert created["redirect_url"] == f"{sandbox.base_url}/snap/v4/redirection/{created['token']}"
    recorded = midtrans.get("/_sandbox/midtrans/requests").json()[-1]
    assert recorded["path"] == "/snap/v1/transactions"
    assert recorded["headers"]["authorization"].startswith("Basic ")
    assert recorded["body"]["item_details"] == items


def test_same_order_id_before_payment_gets_a_new_token_and_the_old_page_dies(
    midtrans: httpx.Client,
) -> None:
    first, second = create(midtrans), create(midtrans)
    assert first["token"] != second["token"]
    assert midtrans.get(f"/snap/v4/redirection/{first['token']}").status_code == 404
    assert midtrans.get(f"/snap/v4/redirection/{second['token']}").status_code == 200


def test_same_order_id_after_a_method_was_chosen_is_taken(midtrans: httpx.Client) -> None:
    pay(midtrans, create(midtrans)["token"], "pending")
    response = midtrans.post("/snap/v1/transactions", json=snap_body())
    assert response.status_code == 400
    assert response.json() == {"error_messages": ["transaction_details.order_id sudah digunakan"]}


def test_status_is_404_until_a_method_is_chosen_then_signed(midtrans: httpx.Client) -> None:
    token = create(midtrans)["token"]
    missing = midtrans.get("/v2/ORD-1/status")
    assert missing.status_code == 404
    assert missing.json() == {"status_code": "404", "status_message": "Transaction doesn't exist."}
    pay(midtrans, token, "pending")
    status = midtrans.get("/v2/ORD-1/status").json()
    assert (status["transaction_status"], status["status_code"]) == ("pending", "201")
    assert status["gross_amount"] == "99000.00"
    assert signature_is_valid(status, SERVER_KEY)
    by_transaction_id = midtrans.get(f"/v2/{status['transaction_id']}/status")
    assert by_transaction_id.json()["order_id"] == "ORD-1"


def test_a_dana_payment_is_found_by_its_transaction_id_only(midtrans: httpx.Client) -> None:
    create(midtrans)
    change = {"transaction_status": "pending", "payment_type": "dana", "notify": False}
    outcome = midtrans.post("/_sandbox/midtrans/transactions/ORD-1/transition", json=change)
    transaction_id = outcome.json()["notification"]["transaction_id"]
    assert midtrans.get("/v2/ORD-1/status").status_code == 404
    status = midtrans.get(f"/v2/{transaction_id}/status").json()
    assert (status["order_id"], status["payment_type"]) == ("ORD-1", "dana")
    assert signature_is_valid(status, SERVER_KEY)


def test_refunds_are_listed_in_the_notification_and_the_status(midtrans: httpx.Client) -> None:
    create(midtrans)
    transition = "/_sandbox/midtrans/transactions/ORD-1/transition"
    midtrans.post(transition, json={"transaction_status": "settlement", "notify": False})
    for amount in (20000, "30000.00"):
        change = {"transaction_status": "partial_refund", "refund_amount": amount, "notify": False}
        notification = midtrans.post(transition, json=change).json()["notification"]
    listed = [(r["refund_chargeback_id"], r["refund_amount"]) for r in notification["refunds"]]
    assert listed == [(1, "20000.00"), (2, "30000.00")]
    assert midtrans.get("/v2/ORD-1/status").json()["refunds"] == notification["refunds"]


def test_status_refuses_a_wrong_server_key(anonymous: httpx.Client) -> None:
    response = anonymous.get("/v2/ORD-1/status", auth=("SB-Mid-server-wrong", ""))
    assert response.status_code == 401


def test_pay_page_button_notifies_the_merchant_and_sends_the_customer_to_finish(
    midtrans: httpx.Client, receiver: NotificationReceiver
) -> None:
    token = create(midtrans)["token"]
    page = midtrans.get(f"/snap/v4/redirection/{token}").text
    assert 'id="pay-settle_va"' in page and "ORD-1" in page and "Rp 99.000" in page
    response = pay(midtrans, token, "settle_va")
    assert response.status_code == 303
    assert response.headers["location"] == (
        "http://shop.test/finish?lang=id&order_id=ORD-1&status_code=200"
        "&transaction_status=settlement"
    )
    notification = receiver.next_notification()
    assert signature_is_valid(notification, SERVER_KEY)
    assert notification["va_numbers"][0]["bank"] == "bca"
    scalars = {k: v for k, v in notification.items() if k != "va_numbers"}
    assert all(isinstance(value, str) for value in scalars.values())
    assert notification["settlement_time"] and notification["currency"] == "IDR"


def test_card_button_captures_with_fraud_accept(
    midtrans: httpx.Client, receiver: NotificationReceiver
) -> None:
    pay(midtrans, create(midtrans)["token"], "settle_card")
    notification = receiver.next_notification()
    assert (notification["transaction_status"], notification["fraud_status"]) == (
        "capture",
        "accept",
    )
    assert midtrans.get("/v2/ORD-1/status").json()["payment_type"] == "credit_card"


def test_pay_page_without_finish_url_shows_the_result(midtrans: httpx.Client) -> None:
    token = create(midtrans, callbacks={})["token"]
    pay(midtrans, token, "pending")
    response = pay(midtrans, token, "expire")
    assert response.status_code == 200 and "expire" in response.text
    assert midtrans.get("/v2/ORD-1/status").json()["status_code"] == "202"
    assert midtrans.get("/snap/v4/redirection/unknown-token").status_code == 404


def test_a_snap_page_that_expires_before_a_method_is_picked_notifies_nothing(
    midtrans: httpx.Client, receiver: NotificationReceiver
) -> None:
    token = create(midtrans)["token"]
    response = pay(midtrans, token, "expire")
    assert response.status_code == 200 and 'id="snap-page-expired"' in response.text
    assert midtrans.get("/v2/ORD-1/status").json()["status_code"] == "404"  # no transaction
    assert receiver.received.empty()  # no invented bank_transfer and VA number
    pay(midtrans, token, "pending")  # the page was still usable: the customer picks a method
    assert receiver.next_notification()["transaction_status"] == "pending"


def test_transition_with_fee_imposition_signs_the_notified_amount(
    midtrans: httpx.Client, receiver: NotificationReceiver
) -> None:
    create(midtrans)
    change = {
        "transaction_status": "settlement",
        "payment_type": "qris",
        "gross_amount": "101000.00",
        "original_amount": 99000,
    }
    outcome = midtrans.post("/_sandbox/midtrans/transactions/ORD-1/transition", json=change)
    assert outcome.json()["delivery_status"] == 200
    notification = receiver.next_notification()
    assert notification == outcome.json()["notification"]
    assert notification["gross_amount"] == "101000.00"
    assert signature_is_valid(notification, SERVER_KEY)
    amount_info = notification["extra_info"]["gross_amount_info"]  # where Midtrans' sample has it
    assert amount_info == {"original_amount": "99000.00"}
    stored = midtrans.get("/_sandbox/midtrans/transactions/ORD-1").json()
    assert stored["transaction_status"] == "settlement" and stored["method_chosen"]


def test_transition_without_notify_changes_state_silently(
    midtrans: httpx.Client, receiver: NotificationReceiver
) -> None:
    create(midtrans)
    change = {"transaction_status": "pending", "notify": False}
    outcome = midtrans.post("/_sandbox/midtrans/transactions/ORD-1/transition", json=change)
    assert outcome.json()["delivery_status"] is None
    assert receiver.received.empty()
    unknown = midtrans.post("/_sandbox/midtrans/transactions/NOPE/transition", json=change)
    assert unknown.status_code == 404
    bad = midtrans.post("/_sandbox/midtrans/transactions/ORD-1/transition", json={})
    assert bad.status_code == 400


def test_raw_notification_is_signed_over_its_own_fields_without_changing_state(
    midtrans: httpx.Client, receiver: NotificationReceiver
) -> None:
    create(midtrans)
    body = {
        "order_id": "ORD-1",
        "status_code": "200",
        "gross_amount": "99000.00",
        "transaction_status": "settlement",
    }
    outcome = midtrans.post("/_sandbox/midtrans/notify", json={"body": body, "sign": True})
    assert outcome.json()["delivery_status"] == 200
    assert signature_is_valid(receiver.next_notification(), SERVER_KEY)
    assert midtrans.get("/v2/ORD-1/status").status_code == 404


def test_snap_fault_fails_the_next_call_then_recovers(midtrans: httpx.Client) -> None:
    midtrans.post("/_sandbox/midtrans/faults", json={"snap": {"fail_next": 1, "status": 503}})
    failed = midtrans.post("/snap/v1/transactions", json=snap_body())
    assert failed.status_code == 503 and failed.json()["error_messages"]
    create(midtrans)


def test_status_api_delay_makes_a_short_client_timeout_fire(midtrans: httpx.Client) -> None:
    midtrans.post("/_sandbox/midtrans/faults", json={"status_api": {"delay_ms": 400}})
    with pytest.raises(httpx.ReadTimeout):
        midtrans.get("/v2/ORD-1/status", timeout=0.1)
    midtrans.delete("/_sandbox/midtrans/faults")
    assert midtrans.get("/v2/ORD-1/status").status_code == 404


def test_fault_plans_with_unknown_fields_are_refused(midtrans: httpx.Client) -> None:
    response = midtrans.post("/_sandbox/midtrans/faults", json={"snap": {"fail_nxt": 1}})
    assert response.status_code == 400
