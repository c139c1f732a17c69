"""Midtrans notifications: verified intake over HTTP, then processing by a real worker.

No forged, duplicated, reordered, late or lost notification may give access without payment,
take it away wrongly, or leave a paid customer without access.
"""

import json
import threading
from dataclasses import replace
from datetime import timedelta

import dramatiq
import httpx
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from integrations.errors import RetryableProviderError
from models.audit import AuditEntry
from models.base import utcnow
from models.entitlements import Entitlement
from models.events import PaymentEvent
from models.orders import Order, PaymentAttempt
from models.outbox import OutboxMessage
from tests.conftest import free_port, serve_app
from tests.factories import midtrans_transition, open_payment
from tests.midtrans_vectors import GO_KEY, GO_SETTLEMENT, NODE_CAPTURE, NODE_KEY

WEBHOOK = "/webhooks/midtrans"

VECTORS = {"node": (NODE_KEY, NODE_CAPTURE), "go": (GO_KEY, GO_SETTLEMENT)}
SIGNED_FIELD_CHANGES = [
    ("order_id", "order-101-1578567481"),
    ("status_code", "201"),
    ("gross_amount", "11000"),
    ("gross_amount", "11000.0"),
    ("signature_key", "0" * 128),
    ("signature_key", ""),
]


# --- helpers -----------------------------------------------------------------------------------


def _enqueued_notifications(broker) -> list[dict]:
    stored = broker.client.hvals(f"{broker.namespace}:webhooks.msgs")
    return [dramatiq.Message.decode(raw).args[0] for raw in stored]


def _signed_notification(sandbox_api, order_id: str, **transition) -> dict:
    """Moves the sandbox transaction and returns its signed notification, unsent."""
    return midtrans_transition(sandbox_api, order_id, notify=False, **transition)["notification"]


def _send_raw(sandbox_api, body: dict) -> int:
    """The sandbox signs `body` over its own fields and POSTs it to the web; the web's status."""
    answer = sandbox_api.post("/_sandbox/midtrans/notify", json={"body": body, "sign": True})
    answer.raise_for_status()
    return answer.json()["delivery_status"]


def _pay(sandbox_api, order_id: str, **transition) -> None:
    """The customer pays (or not): Midtrans changes state and notifies the web (unless
    notify=False: the notification is lost)."""
    fields = {"transaction_status": "settlement", "payment_type": "bank_transfer", **transition}
    delivered = midtrans_transition(sandbox_api, order_id, **fields)["delivery_status"]
    assert delivered == (200 if fields.get("notify", True) else None)


def _drain(broker, *queues: str, timeout_ms: int = 20_000) -> None:
    """Waits until every message on the queues (retries included) has been processed."""
    for queue_name in queues or ("webhooks", "maintenance"):
        broker.join(queue_name, timeout=timeout_ms)


def _dead_letters(broker) -> int:
    return sum(
        broker.client.zcard(f"{broker.namespace}:{name}.XQ")
        for name in ("webhooks", "maintenance", "payments")
    )


def _paid_transitions(order_id: str) -> int:
    return (
        AuditEntry.select()
        .where(
            (AuditEntry.order_id == order_id)
            & (AuditEntry.action == "midtrans_transition")
            & (AuditEntry.new_status == "PAID")
        )
        .count()
    )


def _outbox(order_id: str, template_name: str) -> list[str]:
    rows = OutboxMessage.select().where(
        (OutboxMessage.order == order_id) & (OutboxMessage.template_name == template_name)
    )
    return sorted(row.channel for row in rows)


def _assert_paid_once(order_id: str) -> None:
    order = Order.get_by_id(order_id)
    assert order.status == "PAID" and order.paid_at is not None
    assert _paid_transitions(order_id) == 1
    (entitlement,) = Entitlement.select().where(Entitlement.order == order_id)
    assert entitlement.status == "ACTIVE" and len(entitlement.access_token) >= 32
    assert _outbox(order_id, "payment_success") == ["EMAIL", "WHATSAPP"]


def _assert_not_paid(order_id: str) -> None:
    order = Order.get_by_id(order_id)
    assert order.status != "PAID" and order.paid_at is None
    assert Entitlement.select().where(Entitlement.order == order_id).count() == 0
    assert _outbox(order_id, "payment_success") == []


@pytest.fixture
def broker(system):
    return system["broker"]


@pytest.fixture
def maintenance(system):
    return system["tasks"].maintenance


@pytest.fixture
def pending_order(db, worker, web) -> str:
    """An order with its Snap link, a running worker and a database connection: its id."""
    return open_payment()["order_id"]


# --- intake --------------------------------------------------------------------------------------


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


@pytest.mark.parametrize("field", ["order_id", "status_code", "gross_amount", "transaction_status"])
@pytest.mark.parametrize("change", ["missing", "not-a-string"])
def test_a_missing_field_is_400(http, clean, broker, field, change):
    body = {name: value for name, value in GO_SETTLEMENT.items() if name != field}
    if change == "not-a-string":
        body[field] = 200
    response = http.post(WEBHOOK, json=body)
    assert response.status_code == 400
    assert field in response.json()["description"]
    assert _enqueued_notifications(broker) == []


@pytest.mark.parametrize("signature", [None, "", "0" * 128, 12345, "not-hex"])
def test_a_wrong_or_missing_signature_is_401_and_nothing_is_stored(
    http, clean, broker, db, sandbox_api, signature
):
    order_id = open_payment()["order_id"]
    body = _signed_notification(sandbox_api, order_id, transaction_status="settlement")
    broker.client.delete(f"{broker.namespace}:payments.msgs")
    body.pop("signature_key")
    if signature is not None:
        body["signature_key"] = signature
    response = http.post(WEBHOOK, json=body)
    assert response.status_code == 401
    assert _enqueued_notifications(broker) == []
    assert PaymentEvent.select().count() == 0
    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"


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
        vector_app = create_app(replace(system["settings"], midtrans_server_key=GO_KEY), closed)
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
    settings = replace(system["settings"], midtrans_server_key=key)
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


# --- processing ----------------------------------------------------------------------------------


def test_twenty_concurrent_identical_notifications_pay_once(
    http, pending_order, sandbox_api, broker
):
    body = _signed_notification(
        sandbox_api, pending_order, transaction_status="settlement", payment_type="bank_transfer"
    )
    start = threading.Barrier(20)
    statuses = []

    def deliver():
        start.wait()
        statuses.append(http.post(WEBHOOK, json=body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * 20
    _drain(broker)
    _assert_paid_once(pending_order)
    assert PaymentEvent.select().count() == 1


def test_settlement_then_a_late_pending_stays_paid(pending_order, sandbox_api, broker):
    _pay(sandbox_api, pending_order)
    _drain(broker)
    settlement = midtrans_transition(
        sandbox_api, pending_order, transaction_status="settlement", notify=False
    )["notification"]
    late_pending = {**settlement, "transaction_status": "pending", "status_code": "201"}
    assert _send_raw(sandbox_api, late_pending) == 200
    _drain(broker)
    _assert_paid_once(pending_order)
    late = PaymentEvent.get(PaymentEvent.transaction_status == "pending")
    assert late.processed and late.outcome == "no_op_duplicate"


def test_a_late_pending_never_unpays_even_as_the_status_apis_answer(
    pending_order, sandbox_api, broker
):
    _pay(sandbox_api, pending_order)
    _drain(broker)
    _pay(sandbox_api, pending_order, transaction_status="pending")  # Midtrans itself says pending
    _drain(broker)
    _assert_paid_once(pending_order)
    stale = PaymentEvent.get(PaymentEvent.verified_status == "pending")
    assert stale.outcome == "ignored_stale"


def test_pending_then_settlement_twice_is_one_payment(pending_order, sandbox_api, broker):
    _pay(sandbox_api, pending_order, transaction_status="pending")
    _drain(broker)
    assert Order.get_by_id(pending_order).status == "PENDING_PAYMENT"
    settlement = _signed_notification(sandbox_api, pending_order, transaction_status="settlement")
    for _ in range(2):
        assert _send_raw(sandbox_api, settlement) == 200
        _drain(broker)
    _assert_paid_once(pending_order)
    assert PaymentEvent.select().count() == 2  # pending and settlement; the repeat is no event


def test_settlement_after_local_expiry_pays_and_flags(
    pending_order, sandbox_api, broker, maintenance
):
    Order.update(expires_at=utcnow() - timedelta(minutes=1)).where(
        Order.order_id == pending_order
    ).execute()
    maintenance.reconcile_order(pending_order)
    assert Order.get_by_id(pending_order).status == "EXPIRED"
    _pay(sandbox_api, pending_order)
    _drain(broker)
    _assert_paid_once(pending_order)
    assert Order.get_by_id(pending_order).flagged
    late = AuditEntry.get(
        (AuditEntry.order_id == pending_order) & (AuditEntry.new_status == "PAID")
    )
    assert late.old_status == "EXPIRED" and late.flagged
    assert "late settlement" in late.details["reason"]


def test_a_relabelled_cancel_is_decided_by_the_status_api(pending_order, sandbox_api, broker):
    cancel = _signed_notification(sandbox_api, pending_order, transaction_status="cancel")
    relabelled = {**cancel, "transaction_status": "settlement"}  # the signature still matches
    assert _send_raw(sandbox_api, relabelled) == 200
    _drain(broker)
    _assert_not_paid(pending_order)
    assert Order.get_by_id(pending_order).status == "FAILED"
    event = PaymentEvent.get(PaymentEvent.order_id == pending_order)
    assert (event.transaction_status, event.verified_status) == ("settlement", "cancel")


def test_a_replayed_body_cannot_hide_the_real_settlement_behind_its_key(
    pending_order, sandbox_api, broker
):
    pending = _signed_notification(
        sandbox_api, pending_order, transaction_status="pending", payment_type="bank_transfer"
    )
    forged = {**pending, "transaction_status": "settlement"}  # takes the real one's key
    assert _send_raw(sandbox_api, forged) == 200
    _drain(broker)
    assert Order.get_by_id(pending_order).status == "PENDING_PAYMENT"
    _pay(sandbox_api, pending_order)  # the real settlement: same key, so stored as a duplicate
    _drain(broker, "webhooks", "maintenance")
    assert PaymentEvent.select().where(PaymentEvent.transaction_status == "settlement").count() == 1
    _assert_paid_once(pending_order)


def test_reconciliation_applies_a_status_whose_notification_was_seen_too_early(
    pending_order, sandbox_api, broker, maintenance
):
    early = _signed_notification(sandbox_api, pending_order, transaction_status="pending")
    assert _send_raw(sandbox_api, {**early, "transaction_status": "settlement"}) == 200
    _drain(broker)
    _pay(sandbox_api, pending_order, notify=False)  # the real settlement's webhook is lost
    maintenance.reconcile_order(pending_order)
    _assert_paid_once(pending_order)


def test_an_amount_mismatch_is_flagged_never_paid_and_not_retried(
    pending_order, sandbox_api, broker
):
    _pay(sandbox_api, pending_order, gross_amount="1000.00")
    _drain(broker, timeout_ms=10_000)
    _assert_not_paid(pending_order)
    order = Order.get_by_id(pending_order)
    assert order.status == "PENDING_PAYMENT" and order.flagged
    event = PaymentEvent.get(PaymentEvent.order_id == pending_order)
    assert event.processed and event.outcome == "flagged_amount_mismatch"
    assert "amount mismatch" in event.flag_reason
    assert _status_checks(sandbox_api, pending_order) == 1  # decided once, never retried
    assert _dead_letters(broker) == 0


@pytest.mark.parametrize(
    "answer, recorded",
    [
        ({"transaction_status": "deny"}, "DENIED attempts"),
        ({"transaction_status": "settlement", "gross_amount": "1000.00"}, "mismatch flags"),
    ],
)
def test_reconciling_the_same_answer_again_records_it_once(
    pending_order, sandbox_api, maintenance, answer, recorded
):
    _pay(sandbox_api, pending_order, notify=False, **answer)
    for _ in range(3):  # reconciliation asks every few minutes
        maintenance.reconcile_order(pending_order)
    denied = PaymentAttempt.select().where(
        (PaymentAttempt.order == pending_order) & (PaymentAttempt.kind == "DENIED")
    )
    audited = AuditEntry.select().where(
        (AuditEntry.order_id == pending_order) & AuditEntry.action.startswith("midtrans_")
    )
    assert (denied.count(), audited.count()) == (
        (1, 1) if answer["transaction_status"] == "deny" else (0, 1)
    ), recorded
    _assert_not_paid(pending_order)


def test_an_unknown_order_is_stored_flagged_and_not_retried(clean, worker, sandbox_api, broker, db):
    body = {**GO_SETTLEMENT, "order_id": "BFA-20240101-never-existed"}
    assert _send_raw(sandbox_api, body) == 200
    _drain(broker, timeout_ms=10_000)
    event = PaymentEvent.get(PaymentEvent.order_id == body["order_id"])
    assert event.processed and event.outcome == "flagged_unknown_order"
    assert Order.select().count() == 0
    assert _status_checks(sandbox_api, body["order_id"]) == 1  # decided once, never retried
    assert _dead_letters(broker) == 0


def test_a_fee_imposition_original_amount_is_accepted(pending_order, sandbox_api, broker):
    _pay(sandbox_api, pending_order, gross_amount="101500.00", original_amount=99000)
    _drain(broker)
    _assert_paid_once(pending_order)
    assert not Order.get_by_id(pending_order).flagged


def test_a_lost_notification_is_caught_by_reconciliation(
    pending_order, sandbox_api, broker, maintenance
):
    _pay(sandbox_api, pending_order, notify=False)
    _drain(broker)
    assert Order.get_by_id(pending_order).status == "PENDING_PAYMENT"
    maintenance.reconcile()
    _drain(broker, "maintenance", "webhooks")
    _assert_paid_once(pending_order)
    event = PaymentEvent.get(PaymentEvent.order_id == pending_order)
    assert event.source == "reconciliation"


def _expire_locally(order_id: str) -> None:
    Order.update(expires_at=utcnow() - timedelta(seconds=1)).where(
        Order.order_id == order_id
    ).execute()


def _status_checks(sandbox_api, order_id: str) -> int:
    calls = sandbox_api.get("/_sandbox/midtrans/requests").json()
    return sum(call["path"] == f"/v2/{order_id}/status" for call in calls)


def test_an_order_expires_only_once_the_status_api_knows_no_payment(db, sandbox_api, maintenance):
    order_id = open_payment()["order_id"]
    maintenance.reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"  # not yet past its expiry
    _expire_locally(order_id)
    maintenance.reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "EXPIRED"
    assert _status_checks(sandbox_api, order_id) == 2
    assert _outbox(order_id, "order_expired") == ["EMAIL", "WHATSAPP"]


def test_an_expired_order_that_was_paid_at_midtrans_becomes_paid(db, sandbox_api, maintenance):
    order_id = open_payment()["order_id"]
    _pay(sandbox_api, order_id, notify=False)
    _expire_locally(order_id)
    maintenance.reconcile_order(order_id)
    _assert_paid_once(order_id)
    assert _outbox(order_id, "order_expired") == []


def test_no_expiry_while_the_status_api_cannot_be_asked(db, sandbox_api, maintenance):
    order_id = open_payment()["order_id"]
    _expire_locally(order_id)
    sandbox_api.post("/_sandbox/midtrans/faults", json={"status_api": {"down": True}})
    with pytest.raises(RetryableProviderError):
        maintenance.reconcile_order(order_id)
    assert Order.get_by_id(order_id).status == "PENDING_PAYMENT"
