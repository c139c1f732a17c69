"""The sandbox speaks Midtrans, SMTP and WhatsApp Cloud API well enough for production clients."""

import json
import queue
import smtplib
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from integrations.signature import signature_is_valid
from runtime.settings import load_settings
from sandbox.server import SandboxConfig, SandboxHandle, start_sandbox

SERVER_KEY = "SB-Mid-server-test-sandbox-key"
# The path the settings default to without keys: the sandbox must answer there.
WHATSAPP_URL = f"{httpx.URL(load_settings({}).whatsapp_api_url).path}/123456/messages"


class NotificationReceiver(ThreadingHTTPServer):
    """A merchant webhook that only remembers what it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.received: queue.Queue[dict] = queue.Queue()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/webhooks/midtrans"

    def next_notification(self) -> dict:
        return self.received.get(timeout=5)


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.server.received.put(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Quiet: the test output is about the sandbox."""


@pytest.fixture(scope="module")
def receiver() -> Iterator[NotificationReceiver]:
    server = NotificationReceiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sandbox(receiver: NotificationReceiver) -> Iterator[SandboxHandle]:
    config = SandboxConfig(
        http_port=0, smtp_port=0, server_key=SERVER_KEY, notification_url=receiver.url
    )
    handle = start_sandbox(config)
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def fresh(anonymous: httpx.Client, receiver: NotificationReceiver) -> None:
    anonymous.post("/_sandbox/reset").raise_for_status()
    while not receiver.received.empty():
        receiver.received.get_nowait()


@pytest.fixture(scope="module")
def midtrans(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, auth=(SERVER_KEY, ""), timeout=5) as client:
        yield client


@pytest.fixture(scope="module")
def anonymous(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, timeout=5) as client:
        yield client


def snap_body(order_id: str = "ORD-1", amount: int = 99000, **changes: object) -> dict:
    body = {
        "transaction_details": {"order_id": order_id, "gross_amount": amount},
        "item_details": [
            {"id": "course", "name": "Buat Film Pakai AI", "price": amount, "quantity": 1}
        ],
        "customer_details": {"first_name": "Sari", "email": "sari@example.com"},
        "callbacks": {"finish": "http://shop.test/finish?lang=id"},
    }
    return body | changes


def create(client: httpx.Client, order_id: str = "ORD-1", **changes: object) -> dict:
    response = client.post("/snap/v1/transactions", json=snap_body(order_id, **changes))
    assert response.status_code == 201, response.text
    return response.json()


def pay(client: httpx.Client, token: str, action: str) -> httpx.Response:
    return client.post(f"/snap/v4/redirection/{token}/pay", data={"action": action})


# --- Snap create -------------------------------------------------------------------------------


def test_snap_refuses_missing_or_wrong_server_key(anonymous: httpx.Client) -> None:
    for auth in (None, ("SB-Mid-server-wrong", "")):
        response = anonymous.post("/snap/v1/transactions", json=snap_body(), auth=auth)
        assert response.status_code == 401
        assert "unauthorized" in response.json()["error_messages"][0]


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


# --- Status API and notifications --------------------------------------------------------------


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
    response = pay(midtrans, token, "expire")
    assert response.status_code == 200 and "expire" in response.text
    assert midtrans.get("/v2/ORD-1/status").json()["status_code"] == "202"
    assert midtrans.get("/snap/v4/redirection/unknown-token").status_code == 404


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
    amount_info = notification["metadata"]["extra_info"]["gross_amount_info"]
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


# --- Midtrans faults ---------------------------------------------------------------------------


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


# --- SMTP --------------------------------------------------------------------------------------


def mail(subject: str = "Pembayaran diterima") -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, "shop@example.com", "sari@x.id"
    message["Message-ID"] = "<order-1-paid@example.com>"
    message.set_content("Terima kasih, Sari.")
    message.add_alternative("<p>Terima kasih, Sari.</p>", subtype="html")
    return message


def send(sandbox: SandboxHandle, message: EmailMessage, login: bool = False) -> None:
    with smtplib.SMTP(sandbox.smtp_host, sandbox.smtp_port, timeout=5) as smtp:
        if login:
            smtp.login("shop", "secret")
        smtp.send_message(message)


def mail_faults(anonymous: httpx.Client, **plan: object) -> None:
    anonymous.post("/_sandbox/mail/faults", json=plan).raise_for_status()


def test_smtp_stores_the_message_with_its_parts(
    sandbox: SandboxHandle, anonymous: httpx.Client
) -> None:
    send(sandbox, mail(), login=True)
    [stored] = anonymous.get("/_sandbox/mail").json()
    assert stored["subject"] == "Pembayaran diterima"
    assert stored["message_id"] == "<order-1-paid@example.com>"
    assert stored["rcpt_tos"] == ["sari@x.id"] and stored["auth_user"] == "shop"
    assert stored["text"] == "Terima kasih, Sari.\n"
    assert "<p>Terima kasih" in stored["html"]


def test_smtp_fails_the_next_message_with_the_given_code(
    sandbox: SandboxHandle, anonymous: httpx.Client
) -> None:
    mail_faults(anonymous, fail_next=1, status=451)
    with pytest.raises(smtplib.SMTPDataError) as transient:
        send(sandbox, mail())
    assert transient.value.smtp_code == 451
    send(sandbox, mail())
    mail_faults(anonymous, fail_fraction=1.0, status=550)
    with pytest.raises(smtplib.SMTPDataError) as permanent:
        send(sandbox, mail())
    assert permanent.value.smtp_code == 550
    assert len(anonymous.get("/_sandbox/mail").json()) == 1


def test_smtp_down_refuses_connections_until_cleared(
    sandbox: SandboxHandle, anonymous: httpx.Client
) -> None:
    mail_faults(anonymous, down=True)
    with pytest.raises(ConnectionRefusedError):
        send(sandbox, mail())
    anonymous.delete("/_sandbox/mail/faults").raise_for_status()
    send(sandbox, mail())
    assert len(anonymous.get("/_sandbox/mail").json()) == 1


# --- WhatsApp ----------------------------------------------------------------------------------


def template_message(to: str = "6281234567890", **changes: object) -> dict:
    template = {
        "name": "payment_received",
        "language": {"code": "id"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sari"}]}],
    }
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": template,
    } | changes


def send_whatsapp(client: httpx.Client, body: dict) -> httpx.Response:
    return client.post(WHATSAPP_URL, json=body, headers={"Authorization": "Bearer wa-token"})


def test_whatsapp_stores_a_template_message(anonymous: httpx.Client) -> None:
    response = send_whatsapp(anonymous, template_message())
    assert response.status_code == 200
    answer = response.json()
    assert answer["contacts"] == [{"input": "6281234567890", "wa_id": "6281234567890"}]
    [stored] = anonymous.get("/_sandbox/whatsapp").json()
    assert stored["id"] == answer["messages"][0]["id"] and stored["id"].startswith("wamid.")
    assert (stored["template"], stored["phone_number_id"]) == ("payment_received", "123456")


def test_whatsapp_requires_a_bearer_token_and_a_valid_template(anonymous: httpx.Client) -> None:
    unauthorized = anonymous.post(WHATSAPP_URL, json=template_message())
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["type"] == "OAuthException"
    for body in (
        template_message(to="+62 812"),
        template_message(type="text"),
        template_message(template={"language": {"code": "id"}}),
    ):
        invalid = send_whatsapp(anonymous, body)
        assert invalid.status_code == 400 and invalid.json()["error"]["code"] == 100
    assert anonymous.get("/_sandbox/whatsapp").json() == []


@pytest.mark.parametrize(
    ("plan", "status", "code"),
    [
        ({"fail_next": 1, "status": 429}, 429, 130429),
        ({"fail_next": 1, "status": 400}, 400, 131030),
        ({"down": True}, 503, 2),
    ],
)
def test_whatsapp_faults_answer_in_graph_format(
    anonymous: httpx.Client, plan: dict, status: int, code: int
) -> None:
    anonymous.post("/_sandbox/whatsapp/faults", json=plan).raise_for_status()
    failed = send_whatsapp(anonymous, template_message())
    assert (failed.status_code, failed.json()["error"]["code"]) == (status, code)
    assert failed.json()["error"]["fbtrace_id"]


def test_whatsapp_fault_clears_after_the_next_failures(anonymous: httpx.Client) -> None:
    anonymous.post("/_sandbox/whatsapp/faults", json={"fail_next": 2, "status": 500})
    statuses = [send_whatsapp(anonymous, template_message()).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]


# --- inbox and reset ---------------------------------------------------------------------------


def test_inbox_shows_payments_mail_and_whatsapp_and_reset_forgets_them(
    sandbox: SandboxHandle, midtrans: httpx.Client, anonymous: httpx.Client
) -> None:
    token = create(midtrans)["token"]
    send(sandbox, mail("Akses kursus Anda"))
    send_whatsapp(anonymous, template_message())
    inbox = midtrans.get("/_sandbox/").text
    assert f"/snap/v4/redirection/{token}" in inbox
    assert "Akses kursus Anda" in inbox and "payment_received" in inbox
    midtrans.post("/_sandbox/reset").raise_for_status()
    assert midtrans.get("/_sandbox/mail").json() == []
    assert midtrans.get("/_sandbox/midtrans/requests").json() == []
    assert midtrans.get(f"/snap/v4/redirection/{token}").status_code == 404
