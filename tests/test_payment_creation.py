"""The payment actor: one order, priced on the server, and one Snap payment link per checkout."""

import base64
import dataclasses
import re
import threading

import pytest

from config.settings import SANDBOX_SERVER_KEY, MidtransSettings, load_settings
from integrations.errors import RetryableProviderError
from integrations.http import Timeout
from integrations.midtrans import MidtransClient
from models.audit import AuditEntry
from models.base import utcnow
from models.catalog import DiscountCode
from models.db import connection
from models.orders import Order, PaymentAttempt
from models.outbox import OutboxMessage
from tests.conftest import declared_actor, free_port, wait_for
from tests.factories import (
    VALID_CHECKOUT,
    checkout_request,
    midtrans_transition,
    open_payment,
    snap_transaction_picked_elsewhere,
)

START_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0700$")


@pytest.fixture
def create_payment(db):
    """The payment actor, run inline (imported once the test environment is set)."""
    actor = declared_actor("create_payment")

    return actor


def _midtrans_calls(sandbox_api, method: str = "POST") -> list[dict]:
    calls = sandbox_api.get("/_sandbox/midtrans/requests").json()
    return [call for call in calls if call["method"] == method]


def _snap_bodies(sandbox_api) -> list[dict]:
    return [
        call["body"]
        for call in _midtrans_calls(sandbox_api)
        if call["path"] == "/snap/v1/transactions"
    ]


def _set_faults(sandbox_api, **plans) -> None:
    sandbox_api.post("/_sandbox/midtrans/faults", json=plans).raise_for_status()


def sandbox_midtrans(snap_base_url: str, api_base_url: str) -> MidtransSettings:
    """The sandbox key's Midtrans settings, pointed somewhere else."""
    midtrans = load_settings({}).midtrans
    return dataclasses.replace(midtrans, snap_base_url=snap_base_url, api_base_url=api_base_url)


def _audit_actions(order_id: str) -> list[str]:
    entries = AuditEntry.select().where(AuditEntry.order_id == order_id).order_by(AuditEntry.id)
    return [entry.action for entry in entries]


def test_snap_request_conforms_to_midtrans(db, sandbox_api, web):
    request = open_payment()
    (call,) = _midtrans_calls(sandbox_api)
    body = call["body"]
    expected_auth = "Basic " + base64.b64encode(f"{SANDBOX_SERVER_KEY}:".encode()).decode()
    assert call["headers"]["authorization"] == expected_auth
    assert call["headers"]["accept"] == "application/json"
    assert call["headers"]["content-type"].startswith("application/json")
    assert call["status"] == 201
    assert body["transaction_details"] == {"order_id": request["order_id"], "gross_amount": 99000}
    assert sum(item["price"] * item["quantity"] for item in body["item_details"]) == 99000
    assert all(type(item["price"]) is int for item in body["item_details"])
    assert body["customer_details"] == {
        "first_name": "Budi",
        "last_name": "Santoso",
        "email": "budi@example.com",
        "phone": "+6281234567890",
    }
    assert body["callbacks"] == {"finish": f"{web}/finish"}
    assert START_TIME.match(body["expiry"]["start_time"])
    assert body["expiry"]["unit"] == "minute" and body["expiry"]["duration"] == 1440


def test_a_new_order_gets_its_link_attempt_and_audit_but_no_message_yet(db, sandbox_api):
    request = open_payment()
    order = Order.get_by_id(request["order_id"])
    assert order.status == "PENDING_PAYMENT"
    assert "/snap/v4/redirection/" in order.redirect_url and order.snap_token
    (attempt,) = PaymentAttempt.select().where(PaymentAttempt.order == order.order_id)
    assert (attempt.kind, attempt.redirect_url) == ("SNAP_CREATED", order.redirect_url)
    assert _audit_actions(order.order_id) == ["order_created", "snap_created"]
    # A checkout alone sends nothing: the form cannot make the shop message a stranger.
    assert OutboxMessage.select().where(OutboxMessage.order == order.order_id).count() == 0


def test_instructions_go_out_once_midtrans_reports_the_method_with_its_number(db, sandbox_api):
    process_notification = declared_actor("process_notification")

    request = open_payment()
    order_id = request["order_id"]
    pending = midtrans_transition(
        sandbox_api,
        order_id,
        transaction_status="pending",
        payment_type="bank_transfer",
        notify=False,
    )["notification"]
    process_notification(pending)
    process_notification(pending)  # a duplicate queues nothing more
    instructions = OutboxMessage.select().where(OutboxMessage.order == order_id)
    assert sorted((row.channel, row.template_name) for row in instructions) == [
        ("EMAIL", "payment_instructions"),
        ("WHATSAPP", "payment_instructions"),
    ]
    va_number = pending["va_numbers"][0]["va_number"]
    for row in instructions:
        assert row.payload["payment_url"] == Order.get_by_id(order_id).redirect_url
        assert (row.payload["payment_channel"], row.payload["payment_code"]) == (
            "Virtual Account BCA",
            va_number,
        )


def test_the_same_message_twice_gives_one_order_and_one_attempt(create_payment, sandbox_api):
    request = open_payment()
    create_payment(request)
    assert Order.select().count() == 1
    assert PaymentAttempt.select().count() == 1
    assert len(_snap_bodies(sandbox_api)) == 1
    assert _audit_actions(request["order_id"]) == ["order_created", "snap_created"]
    assert OutboxMessage.select().count() == 0


def test_the_same_message_on_two_threads_at_once_calls_snap_once(create_payment, sandbox_api):
    request = checkout_request()

    def run_actor():
        with connection():
            create_payment(request)

    threads = [threading.Thread(target=run_actor) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert Order.get_by_id(request["order_id"]).status == "PENDING_PAYMENT"
    assert PaymentAttempt.select().count() == 1
    assert len(_snap_bodies(sandbox_api)) == 1


def test_a_refused_connection_is_retryable_and_says_so():
    """Not "timed out", which urllib3's class hierarchy would suggest: nothing listens there."""
    nobody = f"http://127.0.0.1:{free_port()}"
    client = MidtransClient(sandbox_midtrans(f"{nobody}/snap/v1", "http://127.0.0.1:9"))
    try:
        with pytest.raises(RetryableProviderError) as refused:
            client.create_snap_payment({"transaction_details": {"order_id": "BFA-DOWN-1"}})
    finally:
        client.close()
    message = str(refused.value)
    assert message.startswith("POST /transactions: cannot connect (") and "refused" in message


def test_snap_timeout_is_retryable_and_the_next_call_succeeds(clean, sandbox, sandbox_api):
    client = MidtransClient(
        sandbox_midtrans(f"{sandbox.base_url}/snap/v1", sandbox.base_url), timeout=Timeout.of(0.3)
    )
    body = {"transaction_details": {"order_id": "BFA-TIMEOUT-1", "gross_amount": 99000}}
    try:
        _set_faults(sandbox_api, snap={"delay_ms": 1500})
        with pytest.raises(RetryableProviderError, match="timed out"):
            client.create_snap_payment(body)
        _set_faults(sandbox_api)
        payment = client.create_snap_payment(body)
    finally:
        client.close()
    # The timed-out call still completes inside the sandbox; let it land before the next test.
    wait_for(lambda: len(_snap_bodies(sandbox_api)) == 2, message="the delayed Snap call")
    assert "/snap/v4/redirection/" in payment.redirect_url


def test_a_snap_outage_leaves_the_order_waiting_and_a_retry_succeeds(create_payment, sandbox_api):
    request = checkout_request()
    _set_faults(sandbox_api, snap={"fail_next": 1, "status": 503})
    with pytest.raises(RetryableProviderError, match="HTTP 503"):
        create_payment(request)
    order = Order.get_by_id(request["order_id"])
    assert (order.status, order.redirect_url) == ("CREATED", None)
    assert PaymentAttempt.select().count() == 0
    create_payment(request)
    assert Order.get_by_id(request["order_id"]).status == "PENDING_PAYMENT"


def test_the_worker_retries_snap_errors_until_the_link_exists(http, worker, sandbox_api):
    _set_faults(sandbox_api, snap={"fail_next": 1, "status": 500})
    body = http.post("/api/checkout", json=VALID_CHECKOUT).json()
    status = wait_for(
        lambda: (lambda answer: answer if answer["redirect_url"] else None)(
            http.get(body["status_url"]).json()
        ),
        timeout=20,
        message="payment link after a retry",
    )
    assert status["status"] == "PENDING_PAYMENT"
    assert [call["status"] for call in _midtrans_calls(sandbox_api)] == [500, 201]


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_snap_request_fails_the_order_with_the_reason(
    create_payment, sandbox_api, status
):
    request = checkout_request()
    _set_faults(sandbox_api, snap={"fail_next": 1, "status": status})
    create_payment(request)
    order = Order.get_by_id(request["order_id"])
    assert order.status == "FAILED"
    assert f"HTTP {status}" in order.failure_reason
    (attempt,) = PaymentAttempt.select()
    assert attempt.kind == "FAILED" and f"HTTP {status}" in attempt.detail
    assert _audit_actions(order.order_id) == ["order_created", "snap_refused"]
    create_payment(request)  # a redelivered message does not ask Snap again
    assert len(_snap_bodies(sandbox_api)) == 1


def _snap_answer_to(sandbox_api, call: dict) -> dict:
    """What the sandbox answers to the recorded Snap request sent again unchanged: the request
    log keeps only the status, and the order's state has not moved since."""
    response = sandbox_api.post(
        call["path"],
        json=call["body"],
        headers={"Authorization": call["headers"]["authorization"]},
    )
    assert response.status_code == call["status"]
    return response.json()


def test_a_duplicate_order_id_asks_the_status_api(create_payment, sandbox_api):
    request = checkout_request()
    snap_transaction_picked_elsewhere(sandbox_api, request["order_id"])
    create_payment(request)
    calls = sandbox_api.get("/_sandbox/midtrans/requests").json()
    assert [(call["method"], call["status"]) for call in calls] == [("POST", 400), ("GET", 200)]
    assert calls[0]["body"]["transaction_details"]["order_id"] == request["order_id"]
    assert _snap_answer_to(sandbox_api, calls[0]) == {
        "error_messages": ["transaction_details.order_id sudah digunakan"]
    }
    assert calls[1]["path"] == f"/v2/{request['order_id']}/status"
    assert Order.get_by_id(request["order_id"]).status == "PENDING_PAYMENT"
    assert _audit_actions(request["order_id"]) == ["order_created", "snap_duplicate_adopted"]


def test_a_duplicate_order_id_retries_while_the_status_api_is_down(create_payment, sandbox_api):
    request = checkout_request()
    snap_transaction_picked_elsewhere(sandbox_api, request["order_id"])
    _set_faults(sandbox_api, status_api={"fail_next": 1, "status": 503})
    with pytest.raises(RetryableProviderError):
        create_payment(request)
    assert Order.get_by_id(request["order_id"]).status == "CREATED"
    create_payment(request)
    assert Order.get_by_id(request["order_id"]).status == "PENDING_PAYMENT"


def test_server_side_pricing_ignores_an_amount_in_the_request(http, worker, sandbox_api):
    forged = {
        **VALID_CHECKOUT,
        "amount": 1000,
        "gross_amount": 1000,
        "final_amount": 1,
        "price_idr": 1,
    }
    body = http.post("/api/checkout", json=forged).json()
    wait_for(lambda: http.get(body["status_url"]).json()["redirect_url"], message="payment link")
    assert http.get(body["status_url"]).json()["amount"] == 99000
    (snap_body,) = _snap_bodies(sandbox_api)
    assert snap_body["transaction_details"]["gross_amount"] == 99000


def test_the_actor_prices_from_the_database_not_the_message(db):
    request = open_payment(amount=1, final_amount=1, gross_amount=1)
    order = Order.get_by_id(request["order_id"])
    assert (order.base_amount, order.discount_amount, order.final_amount) == (99000, 0, 99000)


def _discount_code(code: str = "HEMAT10", **columns) -> DiscountCode:
    return DiscountCode.create(code=code, percent_off=10, created_at=utcnow(), **columns)


def test_a_discount_code_lowers_the_price_and_snap_items_still_add_up(db, sandbox_api):
    _discount_code()
    request = open_payment(discount_code="HEMAT10")
    order = Order.get_by_id(request["order_id"])
    assert (order.base_amount, order.discount_amount, order.final_amount) == (99000, 9900, 89100)
    assert order.discount_code == "HEMAT10" and order.status == "PENDING_PAYMENT"
    (snap_body,) = _snap_bodies(sandbox_api)
    assert snap_body["transaction_details"]["gross_amount"] == 89100
    assert [item["price"] for item in snap_body["item_details"]] == [99000, -9900]


def test_an_unusable_code_in_the_message_gives_no_discount(db):
    _discount_code(active=False)
    request = open_payment(discount_code="HEMAT10")
    order = Order.get_by_id(request["order_id"])
    assert (order.discount_code, order.final_amount) == (None, 99000)


def test_a_code_retired_before_the_snap_retry_keeps_the_price_the_order_got(
    create_payment, sandbox_api
):
    code = _discount_code()
    request = checkout_request(discount_code="HEMAT10")
    _set_faults(sandbox_api, snap={"fail_next": 1, "status": 503})
    with pytest.raises(RetryableProviderError):
        create_payment(request)
    DiscountCode.update(active=False).where(DiscountCode.code == code.code).execute()
    create_payment(request)
    order = Order.get_by_id(request["order_id"])
    assert (order.status, order.final_amount) == ("PENDING_PAYMENT", 89100)
    snap_body = _snap_bodies(sandbox_api)[-1]
    assert sum(item["price"] for item in snap_body["item_details"]) == 89100
