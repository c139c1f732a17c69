"""Hostile or odd requests get a clear 4xx, change nothing, and leave no secret in the logs."""

import pytest

from integrations.signature import midtrans_signature
from models.entitlements import Entitlement
from models.events import PaymentEvent
from runtime.settings import SANDBOX_SERVER_KEY
from tests.conftest import captured_logs
from tests.factories import VALID_CHECKOUT, paid_order


@pytest.mark.parametrize(
    "path",
    ["/api/orders/%00?token=%00", "/access/%00", "/api/orders/x?token=a%0Ab", "/nope%0Aforged"],
)
def test_control_characters_in_the_url_are_400(http, path):
    assert http.get(path).status_code == 400


def test_a_signed_notification_with_a_nul_is_400_and_not_queued(http, db, system):
    order_id = "BFA-\x00-NUL"
    body = {
        "order_id": order_id,
        "status_code": "200",
        "gross_amount": "99000.00",
        "transaction_status": "settlement",
        "signature_key": midtrans_signature(order_id, "200", "99000.00", SANDBOX_SERVER_KEY),
    }
    assert http.post("/webhooks/midtrans", json=body).status_code == 400
    assert system["broker"].client.llen("dramatiq:webhooks") == 0
    assert PaymentEvent.select().count() == 0


def test_checkout_must_be_json_so_another_site_cannot_post_a_form(http, clean, system):
    response = http.post("/api/checkout", content="name=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert system["broker"].client.llen("dramatiq:payments") == 0  # no order was taken
    assert http.post("/api/checkout", json=VALID_CHECKOUT).status_code == 202
    assert system["broker"].client.llen("dramatiq:payments") == 1


def test_the_access_link_is_never_logged_nor_cached(http, db, sandbox_api, worker):
    order_id = paid_order(sandbox_api)["order_id"]
    token = Entitlement.get(Entitlement.order == order_id).access_token
    with captured_logs() as lines:
        response = http.get(f"/access/{token}")
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    logged = "\n".join(lines)
    assert "/access/{access_token}" in logged and token not in logged


def test_a_forged_log_line_in_the_path_stays_on_one_escaped_line(http, clean):
    with captured_logs() as lines:
        http.get("/no-such-page%0A05:28:00.000%20INFO%20Admin%20signed%20in")
    logged = "".join(lines)
    assert not any(line.startswith("05:28:00.000") for line in logged.splitlines())
    assert "GET /no-such-page\\x0a05:28:00.000 INFO Admin signed in -> 400" in logged


def test_a_stalled_redis_turns_into_a_fast_503(system, tmp_path):
    """A hung Redis (not just a closed port) must not hold Midtrans past its 15 s limit."""
    import os
    import signal
    import time
    from dataclasses import replace

    import httpx

    from runtime.embedded import start_redis
    from tasks.broker import redis_client
    from tests.conftest import serve_app
    from tests.midtrans_vectors import GO_KEY, GO_SETTLEMENT
    from web.app import create_app

    stalled = start_redis(tmp_path / "redis")
    settings = replace(system["settings"], midtrans_server_key=GO_KEY)
    app = create_app(settings, redis_client(stalled.url, timeout=1.0, retries=0))
    os.kill(stalled.pid, signal.SIGSTOP)
    try:
        with serve_app(app) as base_url:
            started = time.monotonic()
            response = httpx.post(f"{base_url}/webhooks/midtrans", json=GO_SETTLEMENT, timeout=20)
            elapsed = time.monotonic() - started
    finally:
        os.kill(stalled.pid, signal.SIGCONT)
        stalled.stop()
    assert response.status_code == 503
    assert elapsed < 10  # Midtrans gives up after 15 s
