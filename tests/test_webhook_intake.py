"""POST /webhooks/midtrans: a verified notification is enqueued as received and answered 200;
anything else is refused with a clear 4xx (503 when Redis is down, so Midtrans retries)."""

import json

import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from models.events import PaymentEvent
from models.orders import Order
from tests.conftest import free_port, serve_app, with_settings
from tests.factories import open_payment
from tests.midtrans_vectors import GO_KEY, GO_SETTLEMENT, NODE_CAPTURE, NODE_KEY
from tests.webhook_helpers import WEBHOOK, _enqueued_notifications, _signed_notification

VECTORS = {"node": (NODE_KEY, NODE_CAPTURE), "go": (GO_KEY, GO_SETTLEMENT)}


SIGNED_FIELD_CHANGES = [
    ("order_id", "order-101-1578567481"),
    ("status_code", "201"),
    ("gross_amount", "11000"),
    ("gross_amount", "11000.0"),
    ("signature_key", "0" * 128),
    ("signature_key", ""),
]


def test_a_valid_notification_is_enqueued_as_received_and_answered_200(
    http, clean, broker, sandbox_api, db
):
    order_id = open_payment()["order_id"]
    body = _signed_notification(sandbox_api, order_id, transaction_status="pending")
    broker.client.delete(f"{broker.namespace}:payments.msgs")
    response = http.post(WEBHOOK, json=body)
    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    assert _enqueued_notifications(broker) == [body]


def test_a_body_over_64_kb_is_413(http, clean, broker):
    padding = "x" * (64 * 1024)
    response = http.post(WEBHOOK, json={**GO_SETTLEMENT, "padding": padding})
    assert response.status_code == 413
    assert _enqueued_notifications(broker) == []


def test_a_chunked_body_over_64_kb_is_413(http, clean, broker):
    def chunks():
        yield b'{"padding": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    response = http.post(WEBHOOK, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert _enqueued_notifications(broker) == []


def test_a_signed_body_of_exactly_64_kb_is_accepted(http, clean, broker, db, sandbox_api):
    body = _signed_notification(
        sandbox_api, open_payment()["order_id"], transaction_status="pending"
    )
    size_without_padding = len(json.dumps({**body, "padding": ""}).encode())
    padded = {**body, "padding": "x" * (64 * 1024 - size_without_padding)}
    raw = json.dumps(padded).encode()
    assert len(raw) == 64 * 1024
    response = http.post(WEBHOOK, content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert _enqueued_notifications(broker) == [padded]


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2, 3]", b'"settlement"', b"null", b"\xff\xfe\x00", b""]
)
def test_an_unreadable_body_is_400(http, clean, broker, content):
    response = http.post(WEBHOOK, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert _enqueued_notifications(broker) == []


def test_the_seeds_unsigned_probe_is_401_not_a_missing_field(http, clean, broker):
    probe = {"order_id": "TEST-123", "status_code": "200", "gross_amount": "99000"}
    response = http.post(WEBHOOK, json=probe)
    assert response.status_code == 401
    assert _enqueued_notifications(broker) == []


@pytest.mark.parametrize("field", ["order_id", "status_code", "gross_amount", "transaction_status"])
@pytest.mark.parametrize("change", ["missing", "not-a-string"])
def test_a_missing_field_without_a_valid_signature_is_401(http, clean, broker, field, change):
    body = {name: value for name, value in GO_SETTLEMENT.items() if name != field}
    if change == "not-a-string":
        body[field] = 200
    response = http.post(WEBHOOK, json=body)  # signed with another key than the web's
    assert response.status_code == 401
    assert _enqueued_notifications(broker) == []


def _signed_body_with(sandbox_api, broker, field: str, value: object, status: str) -> dict:
    """A signed notification for a new open payment with `field` removed (value None) or
    replaced; the payment's own enqueued work is dropped so only the intake's shows."""
    body = _signed_notification(sandbox_api, open_payment()["order_id"], transaction_status=status)
    broker.client.delete(f"{broker.namespace}:payments.msgs")
    body.pop(field)
    if value is not None:
        body[field] = value
    return body


@pytest.mark.parametrize("value", [None, 200])
def test_a_signed_notification_without_a_transaction_status_is_400(
    http, clean, broker, db, sandbox_api, value
):
    body = _signed_body_with(sandbox_api, broker, "transaction_status", value, "pending")
    response = http.post(WEBHOOK, json=body)
    assert response.status_code == 400
    assert "transaction_status" in response.json()["description"]
    assert _enqueued_notifications(broker) == []


@pytest.mark.parametrize("signature", [None, "", "0" * 128, 12345, "not-hex"])
def test_a_wrong_or_missing_signature_is_401_and_nothing_is_stored(
    http, clean, broker, db, sandbox_api, signature
):
    body = _signed_body_with(sandbox_api, broker, "signature_key", signature, "settlement")
    response = http.post(WEBHOOK, json=body)
    assert response.status_code == 401
    assert _enqueued_notifications(broker) == []
    assert PaymentEvent.select().count() == 0
    assert Order.get_by_id(body["order_id"]).status == "PENDING_PAYMENT"


def test_a_body_signed_with_another_key_is_401(http, clean, broker):
    assert http.post(WEBHOOK, json=GO_SETTLEMENT).status_code == 401  # the web has the sandbox key
    assert _enqueued_notifications(broker) == []


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", [WEBHOOK, WEBHOOK + "/"])
def test_other_methods_are_405(http, clean, method, path):
    response = http.request(method, path)
    assert response.status_code == 405


def test_the_trailing_slash_works_the_same_without_a_redirect(http, clean, broker, db, sandbox_api):
    body = _signed_notification(
        sandbox_api, open_payment()["order_id"], transaction_status="pending"
    )
    response = http.post(WEBHOOK + "/", json=body)
    assert response.status_code == 200 and "location" not in response.headers
    assert _enqueued_notifications(broker) == [body]
    bad = http.post(WEBHOOK + "/", json={**body, "signature_key": "0" * 128})
    assert bad.status_code == 401


def test_redis_down_answers_503_so_midtrans_retries(system, clean):
    from web.app import create_app

    closed = redis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )  # a closed port: nothing listens
    with serve_app(create_app(system["settings"], closed)) as base_url:
        response = httpx.post(f"{base_url}{WEBHOOK}", json=GO_SETTLEMENT, timeout=10)
        signed_settings = with_settings(system["settings"], midtrans={"server_key": GO_KEY})
        vector_app = create_app(signed_settings, closed)
    with serve_app(vector_app) as base_url:
        signed = httpx.post(f"{base_url}{WEBHOOK}", json=GO_SETTLEMENT, timeout=10)
    assert response.status_code == 401  # the signature is checked before Redis is touched
    assert signed.status_code == 503
    assert signed.headers["Retry-After"] == "30"


@pytest.fixture(params=sorted(VECTORS))
def vector_web(request, system, clean):
    """The web app configured with the server key that signed a published Midtrans vector."""
    from web.app import create_app

    key, body = VECTORS[request.param]
    settings = with_settings(system["settings"], midtrans={"server_key": key})
    with serve_app(create_app(settings, system["broker"].client)) as base_url:
        yield base_url, body


def test_the_real_midtrans_test_vectors_verify(vector_web, broker):
    base_url, body = vector_web
    response = httpx.post(f"{base_url}{WEBHOOK}", json=body, timeout=10)
    assert response.status_code == 200
    assert _enqueued_notifications(broker) == [body]


@pytest.mark.parametrize(("field", "value"), SIGNED_FIELD_CHANGES)
def test_each_altered_signed_field_fails_with_401(vector_web, broker, field, value):
    base_url, body = vector_web
    response = httpx.post(f"{base_url}{WEBHOOK}", json={**body, field: value}, timeout=10)
    assert response.status_code == 401
    assert _enqueued_notifications(broker) == []


def test_the_vector_passes_byte_for_byte_as_sent(vector_web, broker):
    """Re-encoding the JSON must not matter: the amount text is signed exactly as received."""
    base_url, body = vector_web
    raw = json.dumps(body, separators=(",", ":")).encode()
    response = httpx.post(
        f"{base_url}{WEBHOOK}",
        content=raw,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200
    assert _enqueued_notifications(broker) == [body]
