"""A sandbox of its own for the stand-in tests, with a merchant webhook that only remembers
what it was sent, and builders for Snap requests."""

import json
import queue
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from config.settings import load_settings
from harness.sandbox.server import SandboxConfig, SandboxHandle, start_sandbox

SERVER_KEY = "SB-Mid-server-test-sandbox-key"


SERVER_KEY = "SB-Mid-server-test-sandbox-key"
# The path the settings default to without keys: the sandbox must answer there.
WHATSAPP_URL = f"{httpx.URL(load_settings({}).whatsapp.api_url).path}/123456/messages"


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
